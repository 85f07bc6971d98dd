"""The HTTP core the project's fake servers share: loopback-only, threaded, routed, in-memory.

The fake LINE platform (``loyalty.line.fake``) and the fake SMS gateway (``loyalty.sms.fake_server``)
each subclass ``FakeHTTPServer`` and fill in its route table; this module owns everything that is
the same for both:

- ``Request`` / ``Response`` and the helpers that build answers (``json_response``, ``html_response``,
  ``redirect``), so a handler is a plain method ``(request, **path_arguments) -> Response``;
- ``routes(...)``, which compiles ``(method, path regex, handler name)`` rows, and the dispatch that
  runs one handler under the server's state lock (so each request is atomic);
- the threading HTTP server (HTTP/1.0, so ``stop()`` never waits on an idle keep-alive client) and
  the lifecycle: ``bind()``, ``start()`` (a daemon thread, for tests), ``serve_forever()`` (the
  foreground, for ``manage.py fake_line`` / ``fake_sms``), ``stop()``, ``with``;
- the safety check: a fake refuses to start unless ``settings.DEBUG`` or ``settings.TESTING`` is on,
  and binds to loopback addresses only, so a production deployment can neither start nor reach it.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import socket
import socketserver
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

Route = tuple[str, re.Pattern[str], str]


@dataclass
class Request:
    """One HTTP request as a handler sees it: header names are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def data(self) -> dict[str, Any]:
        """Form or JSON, whichever was sent: the control endpoints accept both for curl's sake."""
        if self.headers.get("content-type", "").startswith("application/json"):
            data = json.loads(self.body.decode("utf-8") or "{}")
            return data if isinstance(data, dict) else {}
        return self.form()

    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, **headers: str) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, "application/json", dict(headers))


def html_response(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"), "text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return Response(HTTPStatus.FOUND, b"", "text/plain", {"Location": location})


def with_query(url: str, **params: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def now_iso() -> str:
    return datetime.now(tz=UTC).isoformat()


def flag(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


def routes(*rows: tuple[str, str, str]) -> tuple[Route, ...]:
    """Compile ``(method, path regex, handler method name)`` rows; the regex matches the whole path."""
    return tuple((method, re.compile(f"^{pattern}$"), name) for method, pattern, name in rows)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeHTTPServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.fake = fake
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() asks DNS for our own name (getfqdn), which can stall for
        # seconds on machines without a resolver; a loopback server has no use for the answer.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so stop() never waits on an idle keep-alive client.
    protocol_version = "HTTP/1.0"
    server: _HTTPServer

    def _handle(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=split.path,
            query={key: values[0] for key, values in parse_qs(split.query).items()},
            headers={key.lower(): value for key, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        response = self.server.fake.dispatch(request)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_DELETE = do_PUT = _handle

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(self.server.fake.label + ": " + format, *args)


class FakeHTTPServer:
    """A fake outside service on a loopback port: subclasses set ``ROUTES`` and the labels.

    ``Server().start()`` serves from a background thread (tests); ``serve_forever()`` serves in the
    foreground (the management commands). Handlers run one at a time under ``self._lock``.
    """

    ROUTES: ClassVar[tuple[Route, ...]] = ()
    label: ClassVar[str] = "fake server"  # in log lines and thread names
    refusal: ClassVar[str] = "The fake server only runs with DEBUG or TESTING on."
    loopback_refusal: ClassVar[str] = "The fake server only binds to loopback"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._lock = threading.RLock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def check_may_run(self) -> None:
        if not (getattr(settings, "DEBUG", False) or getattr(settings, "TESTING", False)):
            raise ImproperlyConfigured(self.refusal)
        if not is_loopback(self.host):
            raise ImproperlyConfigured(f"{self.loopback_refusal}, not {self.host!r}.")

    def bind(self) -> _HTTPServer:
        """Check it may run here, then take the port (so ``base_url`` is final). Idempotent."""
        self.check_may_run()
        if self._httpd is None:
            self._httpd = _HTTPServer((self.host, self.port), self)
            self.port = self._httpd.server_address[1]
        return self._httpd

    def start(self) -> Any:
        """Serve from a daemon thread; returns self so ``server = Server().start()``."""
        httpd = self.bind()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.label.replace(' ', '-').lower()}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` or Ctrl-C."""
        httpd = self.bind()
        try:
            httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            httpd.server_close()
            self._httpd = None

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def serving(self) -> bool:
        return self._httpd is not None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- dispatch ----------------------------------------------------------------------------------

    def route(self, request: Request) -> tuple[str, dict[str, str]] | None:
        for method, pattern, name in self.ROUTES:
            match = pattern.match(request.path)
            if match and method == request.method:
                return name, match.groupdict()
        return None

    def not_found(self, request: Request) -> Response:
        return json_response(HTTPStatus.NOT_FOUND, {"message": "Not found"})

    def dispatch(self, request: Request) -> Response:
        """Route one request; the whole handling runs under the state lock, so it is atomic."""
        found = self.route(request)
        if found is None:
            return self.not_found(request)
        name, arguments = found
        with self._lock:
            return getattr(self, name)(request, **arguments)


def route_table(*tables: Iterable[Route]) -> tuple[Route, ...]:
    """Join the route tables of a server's parts, first match wins."""
    return tuple(row for table in tables for row in table)
