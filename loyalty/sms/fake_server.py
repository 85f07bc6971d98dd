"""The fake SMS gateway: ThaiBulkSMS's v2 send API on loopback, for tests and the demo.

Nothing here is a mock. The server speaks the HTTP API that ``loyalty.sms.thaibulksms`` speaks to
ThaiBulkSMS (``POST /sms`` with HTTP Basic auth and a form body; the same JSON answers and error
shapes), so the product's real adapter runs unchanged against it: point ``SMS_BASE_URL`` at
``FakeSmsGateway.base_url`` and give it the gateway's key and secret.

Instead of delivering, it keeps every message it accepted, and shows them:

- ``GET /``: a page listing the messages it "sent", newest first (the demo reads codes there);
- ``GET /__fake__/messages``: the same as JSON, newest first (tests);
- ``POST /__fake__/fail``: the next ``count`` sends fail with ``status`` (default one 500);
- ``POST /__fake__/reset``: forget the messages.

Safety: it refuses to start unless ``settings.DEBUG`` or ``settings.TESTING`` is on, and binds
to loopback addresses only, so a production deployment can neither start it nor reach it. Its
page stands in for a phone's inbox, not for the product, so its text is fixed Thai + English.
"""

from __future__ import annotations

import base64
import html
import ipaddress
import itertools
import json
import logging
import re
import socket
import socketserver
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

# The demo's account; `manage.py fake_sms` accepts it unless told otherwise, and settings use it
# with DEBUG when no SMS_API_KEY is set.
DEMO_API_KEY = "demo-sms-api-key"
DEMO_API_SECRET = "demo-sms-api-secret"  # noqa: S105 (a public demo value)
DEFAULT_PORT = 8766
MAX_MESSAGE_LENGTH = 1000
LOG_LIMIT = 2000  # messages kept (oldest dropped first), so a demo left running stays small

# Thai mobile numbers as ThaiBulkSMS takes them: 08x/09x/06x local, or 66 without the plus.
_MSISDN = re.compile(r"^(?:0|66)([689]\d{8})$")


@dataclass
class FakeSms:
    """One message the gateway accepted."""

    message_id: str
    number: str  # as sent (0812345678)
    phone: str  # E.164 (+66812345678)
    sender: str
    text: str
    received_at: str


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def _check_may_run(host: str) -> None:
    if not (getattr(settings, "DEBUG", False) or getattr(settings, "TESTING", False)):
        raise ImproperlyConfigured(
            "The fake SMS gateway only runs with DEBUG or TESTING on; production uses a real one."
        )
    if not _is_loopback(host):
        raise ImproperlyConfigured(f"The fake SMS gateway only binds to loopback, not {host!r}.")


def _error(status: int, name: str, description: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": status, "name": name, "description": description}}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeSmsGateway) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.fake = fake
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() asks DNS for our own name, which can stall without a resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: stop() never waits on a client
    server: _HTTPServer

    def _handle(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        status, content_type, payload = self.server.fake.dispatch(
            self.command, split.path, headers, body
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake SMS: " + format, *args)


class FakeSmsGateway:
    """ThaiBulkSMS's send API on a loopback port, keeping what it "sent" in memory.

    ``FakeSmsGateway().start()`` serves from a background thread (tests); ``serve_forever()``
    serves in the foreground (``manage.py fake_sms``).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str = DEMO_API_KEY,
        api_secret: str = DEMO_API_SECRET,
    ) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self.api_secret = api_secret
        self._lock = threading.RLock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._messages: list[FakeSms] = []
        self._failures: list[int] = []
        self._ids = itertools.count(int(time.time() * 1000))

    # -- lifecycle ---------------------------------------------------------------------------------

    def bind(self) -> _HTTPServer:
        """Check it may run here, then take the port (so ``base_url`` is final). Idempotent."""
        _check_may_run(self.host)
        if self._httpd is None:
            self._httpd = _HTTPServer((self.host, self.port), self)
            self.port = self._httpd.server_address[1]
        return self._httpd

    def start(self) -> FakeSmsGateway:
        httpd = self.bind()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-sms-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
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

    def __enter__(self) -> FakeSmsGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- Python control API ------------------------------------------------------------------------

    @property
    def messages(self) -> list[FakeSms]:
        """Every message accepted, newest first (a copy)."""
        with self._lock:
            return list(reversed(self._messages))

    def texts_to(self, phone_e164: str) -> list[str]:
        """The texts a number received, newest first."""
        return [m.text for m in self.messages if m.phone == phone_e164]

    def fail_next(self, status: int = 500, count: int = 1) -> None:
        """Make the next ``count`` sends fail with ``status`` (a 5xx outage, a 401, a 402...)."""
        with self._lock:
            self._failures.extend([int(status)] * int(count))

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._failures.clear()

    # -- dispatch ----------------------------------------------------------------------------------

    def dispatch(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        """Route one request; the whole handling runs under the state lock, so it is atomic."""
        with self._lock:
            if method == "POST" and path == "/sms":
                status, payload = self._send(headers, body)
            elif method == "GET" and path == "/":
                text = self._index_page().encode("utf-8")
                return HTTPStatus.OK, "text/html; charset=utf-8", text
            elif method == "GET" and path == "/__fake__/messages":
                status, payload = HTTPStatus.OK, [asdict(m) for m in reversed(self._messages)]
            elif method == "POST" and path == "/__fake__/fail":
                data = _form_or_json(headers, body)
                self.fail_next(int(data.get("status") or 500), int(data.get("count") or 1))
                status, payload = HTTPStatus.OK, {}
            elif method == "POST" and path == "/__fake__/reset":
                self.reset()
                status, payload = HTTPStatus.OK, {}
            else:
                status, payload = _error(HTTPStatus.NOT_FOUND, "NOT_FOUND", "Not found")
        return status, "application/json", json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def _authorised(self, headers: dict[str, str]) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            key, _, secret = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return key == self.api_key and secret == self.api_secret

    def _send(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if not self._authorised(headers):
            return _error(HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", "Invalid API key or secret")
        if self._failures:
            status = self._failures.pop(0)
            return _error(status, HTTPStatus(status).phrase.upper().replace(" ", "_"), "fake")
        try:
            data = _form_or_json(headers, body)
        except ValueError:
            return _error(HTTPStatus.BAD_REQUEST, "BAD_REQUEST", "Malformed body")
        msisdn = str(data.get("msisdn") or "").strip()
        text = str(data.get("message") or "")
        if not msisdn:
            return _error(HTTPStatus.BAD_REQUEST, "BAD_REQUEST", "msisdn is required")
        if not text.strip():
            return _error(HTTPStatus.BAD_REQUEST, "BAD_REQUEST", "message is required")
        if len(text) > MAX_MESSAGE_LENGTH:
            return _error(HTTPStatus.BAD_REQUEST, "BAD_REQUEST", "message is too long")
        sender = str(data.get("sender") or "SMS.")
        accepted, bad = [], []
        now = datetime.now(tz=UTC).isoformat()
        for number in (n.strip() for n in msisdn.split(",") if n.strip()):
            match = _MSISDN.match(number)
            if match is None:
                bad.append({"number": number, "message": "Invalid phone number"})
                continue
            message_id = str(next(self._ids))
            self._messages.append(
                FakeSms(message_id, number, "+66" + match.group(1), sender, text, now)
            )
            accepted.append({"number": number, "message_id": message_id, "used_credit": 1})
        del self._messages[:-LOG_LIMIT]
        return HTTPStatus.CREATED, {
            "remaining_credit": 100000 - len(self._messages),
            "total_use_credit": len(accepted),
            "credit_type": "standard",
            "phone_number_list": accepted,
            "bad_phone_number_list": bad,
        }

    def _index_page(self) -> str:
        esc = html.escape
        rows = "".join(
            f'<li data-testid="sms"><small>{esc(m.received_at[:19].replace("T", " "))} UTC · '
            f"{esc(m.sender)} → <b data-testid='sms-number'>{esc(m.number)}</b></small>"
            f"<p data-testid='sms-text'>{esc(m.text)}</p></li>"
            for m in reversed(self._messages[-100:])
        )
        return f"""<!doctype html>
<html lang="th"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>SMS จำลอง / Fake SMS gateway</title><style>{_STYLE}</style></head>
<body><header>SMS · ทดสอบ / test</header><main>
<h1>ข้อความที่ส่ง (ล่าสุดก่อน) / Messages sent, newest first</h1>
<ul>{rows or "<li>—</li>"}</ul>
<footer>เกตเวย์ SMS จำลองสำหรับการทดสอบและเดโมเท่านั้น ไม่มีการส่งข้อความจริง ·
The project's fake SMS gateway, for tests and the demo only: nothing is really sent.</footer>
</main></body></html>"""


def _form_or_json(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    if headers.get("content-type", "").startswith("application/json"):
        data = json.loads(body.decode("utf-8") or "{}")
        return data if isinstance(data, dict) else {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


_STYLE = """
body{font-family:system-ui,"Noto Sans Thai",sans-serif;margin:0;background:#f5f5f5;color:#111}
header{background:#1f6feb;color:#fff;padding:14px 16px;font-weight:700}
main{max-width:480px;margin:0 auto;padding:16px}h1{font-size:1.1rem}
ul{list-style:none;padding:0}li{background:#fff;border-radius:12px;padding:12px;margin:8px 0;
box-shadow:0 1px 2px rgba(0,0,0,.08)}li p{margin:6px 0 0;font-size:1.05rem}small{color:#666}
footer{font-size:.8rem;color:#888;margin-top:32px}
"""
