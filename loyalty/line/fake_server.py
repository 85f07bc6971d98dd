"""The fake LINE platform: LINE Login and the Messaging API on loopback, for tests and the demo.

Nothing here is a mock. The server speaks LINE's real HTTP API (paths, form and JSON bodies,
status codes, LINE's error shapes), so the product's own ``loyalty.line`` code, and the official
line-bot-sdk inside it, run unchanged against it: point ``LINE_API_BASE_URL``,
``LINE_API_DATA_BASE_URL`` and ``LINE_ACCESS_BASE_URL`` at ``FakeLineServer.base_url`` and the
authorize page, the token and verify endpoints and the bot API are all served from here.

What it keeps (in memory, per server): channels (id, secret, Messaging API access tokens), test
users, authorization codes, login tokens, reply tokens, link tokens, rich menus, retry keys, and
a log of every request and every message sent. Test-only control endpoints live under
``/__fake__/``; the same controls exist as Python methods on ``FakeLineServer``.

Safety: it refuses to start unless ``settings.DEBUG`` or ``settings.TESTING`` is on, and it only
binds to loopback addresses, so a production deployment can neither start it nor reach it.

The pages it serves stand in for LINE's own screens, which are not part of the product, so their
text is fixed Thai + English rather than translated through the product's catalogue.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import ipaddress
import itertools
import json
import logging
import re
import secrets
import socket
import socketserver
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

# The demo's channel; `manage.py fake_line` registers it unless told otherwise.
DEMO_CHANNEL_ID = "1650000000"
DEMO_CHANNEL_SECRET = "demo-line-login-secret"  # noqa: S105 (a public demo value)
DEMO_ACCESS_TOKEN = "demo-channel-access-token"  # noqa: S105 (a public demo value)

# Fixed ids so that demo data and tests can name these people across restarts.
DEFAULT_USERS: tuple[dict[str, str], ...] = (
    {
        "user_id": "Ueca2ef686cc0aeb6bfb069e860b1eb57",
        "display_name": "สมชาย ใจดี",
        "status_message": "สวัสดีครับ",
        "email": "somchai@example.com",
    },
    {
        "user_id": "U9e313a31876edb0fe0feec6f32861ea5",
        "display_name": "Nok",
        "status_message": "☕ coffee first",
    },
    {
        "user_id": "Uc9376f7a4cba830ab774bd16dc8f4ade",
        "display_name": "Ploy",
        "status_message": "",
    },
)

ISSUER = "https://access.line.me"
CODE_TTL = 10 * 60  # LINE: an authorization code lives 10 minutes and is single use
ACCESS_TOKEN_TTL = 30 * 24 * 3600  # LINE Login access token: 30 days
ID_TOKEN_TTL = 3600
REPLY_TOKEN_TTL = 60
LINK_TOKEN_TTL = 10 * 60
RETRY_KEY_TTL = 24 * 3600
PENDING_LOGIN_TTL = 10 * 60
LOG_LIMIT = 5000  # requests and messages kept (oldest dropped first)

USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
RECIPIENT_RE = re.compile(r"^[UCR][0-9a-f]{32}$")
RICH_MENU_ID_RE = re.compile(r"^richmenu-[0-9a-f]{32}$")
UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
KNOWN_SCOPES = {"openid", "profile", "email"}
MESSAGE_TYPES = (
    "text",
    "image",
    "video",
    "audio",
    "location",
    "sticker",
    "imagemap",
    "template",
    "flex",
)
# Properties each message type must carry (LINE's full rules are longer; these catch real bugs).
REQUIRED_PROPERTIES = {
    "text": ("text",),
    "image": ("originalContentUrl", "previewImageUrl"),
    "video": ("originalContentUrl", "previewImageUrl"),
    "audio": ("originalContentUrl", "duration"),
    "location": ("title", "address", "latitude", "longitude"),
    "sticker": ("packageId", "stickerId"),
    "imagemap": ("baseUrl", "altText", "baseSize", "actions"),
    "template": ("altText", "template"),
    "flex": ("altText", "contents"),
}

AUTH_FAILED = (
    "Authentication failed. Confirm that the access token in the authorization header is valid."
)
AUTH_REQUIRED = (
    "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'"
)


# --- State ---------------------------------------------------------------------------------------


@dataclass
class FakeUser:
    """A LINE account that can sign in on the fake authorize page and receive messages."""

    user_id: str
    display_name: str
    picture_url: str | None = None
    status_message: str = ""
    email: str | None = None
    language: str = "th"


@dataclass
class FakeChannel:
    """A LINE channel: a LINE Login channel (id + secret) and/or a Messaging API one (tokens)."""

    channel_id: str
    secret: str
    access_tokens: set[str] = field(default_factory=set)
    # Empty means "any redirect URI", which suits loopback demos on whatever port.
    callback_urls: tuple[str, ...] = ()


@dataclass
class _Code:
    channel_id: str
    redirect_uri: str
    user_id: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    expires_at: float


@dataclass
class _LoginToken:
    channel_id: str
    user_id: str
    scope: str
    expires_at: float
    refresh_token: str


@dataclass
class _RichMenu:
    rich_menu_id: str
    channel_id: str
    body: dict[str, Any]
    image_type: str | None = None


@dataclass
class _Request:
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
            data = self.json()
            return data if isinstance(data, dict) else {}
        return self.form()

    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: Any, **headers: str) -> _Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return _Response(status, body, "application/json", dict(headers))


def _html(status: int, text: str) -> _Response:
    return _Response(status, text.encode("utf-8"), "text/html; charset=utf-8")


def _redirect(location: str) -> _Response:
    return _Response(HTTPStatus.FOUND, b"", "text/plain", {"Location": location})


def _oauth_error(error: str, description: str) -> _Response:
    return _json(HTTPStatus.BAD_REQUEST, {"error": error, "error_description": description})


def _bad_request(message: str, details: list[dict[str, str]] | None = None) -> _Response:
    payload: dict[str, Any] = {"message": message}
    if details is not None:
        payload["details"] = details
    return _json(HTTPStatus.BAD_REQUEST, payload)


def _now_iso() -> str:
    return datetime.now(tz=UTC).isoformat()


def _flag(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


# --- JWT (HS256), as LINE Login signs web-login ID tokens with the channel secret -----------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, signing_input: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), signing_input, hashlib.sha256).digest()


def encode_id_token(claims: dict[str, Any], secret: str) -> str:
    """Sign claims as LINE does for web login: a compact JWT, HS256 with the channel secret."""
    header = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    payload = _b64url(json.dumps(claims, ensure_ascii=False).encode("utf-8"))
    signing_input = f"{header}.{payload}".encode("ascii")
    return f"{header}.{payload}.{_b64url(_sign(secret, signing_input))}"


def _decode_id_token(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Split a JWT into header, claims, signing input and signature; ValueError if malformed."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWT")
    header = json.loads(_b64url_decode(parts[0]))
    claims = json.loads(_b64url_decode(parts[1]))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("not a JSON object")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), _b64url_decode(parts[2])


# --- Message validation -------------------------------------------------------------------------


def _message_errors(messages: Any) -> list[dict[str, str]]:
    """LINE's ``details`` for a ``messages`` array, empty when it would be accepted."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return [{"message": "Size must be between 1 and 5", "property": "messages"}]
    details: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        kind = message.get("type") if isinstance(message, dict) else None
        if kind not in MESSAGE_TYPES:
            details.append(
                {
                    "message": f"Must be one of the following values: [{', '.join(MESSAGE_TYPES)}]",
                    "property": f"{where}.type",
                }
            )
            continue
        for name in REQUIRED_PROPERTIES[kind]:
            if message.get(name) in (None, "", [], {}):
                details.append({"message": "May not be empty", "property": f"{where}.{name}"})
        text = message.get("text")
        if kind == "text" and isinstance(text, str) and len(text) > 5000:
            details.append(
                {"message": "Length must be between 0 and 5000", "property": f"{where}.text"}
            )
        alt_text = message.get("altText")
        if isinstance(alt_text, str) and len(alt_text) > 1500:
            details.append(
                {"message": "Length must be between 0 and 1500", "property": f"{where}.altText"}
            )
    return details


# --- The server ---------------------------------------------------------------------------------


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
            "The fake LINE server only runs with DEBUG or TESTING on; production talks to LINE."
        )
    if not _is_loopback(host):
        raise ImproperlyConfigured(f"The fake LINE server only binds to loopback, not {host!r}.")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeLineServer) -> None:
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
        request = _Request(
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
        self.send_header("x-line-request-id", str(uuid.uuid4()))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_DELETE = do_PUT = _handle

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake LINE: " + format, *args)


class FakeLineServer:
    """LINE Login and the Messaging API on a loopback port, with in-memory state.

    ``FakeLineServer().start()`` serves from a background thread (tests);
    ``serve_forever()`` serves in the foreground (``manage.py fake_line``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed_users: bool = True) -> None:
        self.host = host
        self.port = port
        self._seed_users = seed_users
        self._lock = threading.RLock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.channels: dict[str, FakeChannel] = {}
        self._init_state()

    def _init_state(self) -> None:
        self.users: dict[str, FakeUser] = {}
        self._codes: dict[str, _Code] = {}
        self._login_tokens: dict[str, _LoginToken] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._pending_logins: dict[str, tuple[dict[str, str], float]] = {}
        self._reply_tokens: dict[str, tuple[str, str, float]] = {}
        self._link_tokens: dict[str, dict[str, Any]] = {}
        self._retry_keys: dict[tuple[str, str], tuple[str, dict[str, Any], float]] = {}
        self._rich_menus: dict[str, _RichMenu] = {}
        self._default_rich_menu: dict[str, str] = {}
        self._user_rich_menus: dict[tuple[str, str], str] = {}
        self._messages: list[dict[str, Any]] = []
        self._requests: list[dict[str, Any]] = []
        self._sequence = itertools.count(1)
        self._message_ids = itertools.count(int(time.time() * 1000) * 1000)
        if self._seed_users:
            for user in DEFAULT_USERS:
                self.add_user(**user)

    # -- lifecycle ---------------------------------------------------------------------------------

    def bind(self) -> _HTTPServer:
        """Check it may run here, then take the port (so ``base_url`` is final). Idempotent."""
        _check_may_run(self.host)
        if self._httpd is None:
            self._httpd = _HTTPServer((self.host, self.port), self)
            self.port = self._httpd.server_address[1]
        return self._httpd

    def start(self) -> FakeLineServer:
        """Serve from a daemon thread; returns self so ``server = FakeLineServer().start()``."""
        httpd = self.bind()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-line-{self.port}",
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

    def __enter__(self) -> FakeLineServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- Python control API ------------------------------------------------------------------------

    def add_channel(
        self,
        channel_id: str,
        channel_secret: str,
        access_token: str | None = None,
        callback_urls: tuple[str, ...] | list[str] = (),
    ) -> FakeChannel:
        """Register (or update) a channel; an access token makes it a Messaging API channel."""
        with self._lock:
            channel = self.channels.get(str(channel_id))
            if channel is None:
                channel = FakeChannel(channel_id=str(channel_id), secret=channel_secret)
                self.channels[channel.channel_id] = channel
            channel.secret = channel_secret
            if access_token:
                channel.access_tokens.add(access_token)
            if callback_urls:
                channel.callback_urls = tuple(callback_urls)
            return channel

    def add_user(
        self,
        display_name: str,
        user_id: str | None = None,
        picture_url: str | None = None,
        status_message: str = "",
        email: str | None = None,
        language: str = "th",
    ) -> FakeUser:
        """Create (or update) a test LINE user; the id is random ``U`` + 32 hex unless given."""
        user_id = user_id or "U" + secrets.token_hex(16)
        if not USER_ID_RE.match(user_id):
            raise ValueError(f"A LINE user id is 'U' and 32 lowercase hex digits, not {user_id!r}")
        if not display_name.strip():
            raise ValueError("A LINE user needs a display name")
        user = FakeUser(user_id, display_name.strip(), picture_url, status_message, email, language)
        with self._lock:
            self.users[user_id] = user
        return user

    def mint_id_token(
        self,
        *,
        channel_id: str,
        user_id: str,
        nonce: str | None = None,
        expired: bool = False,
        secret: str | None = None,
        scope: str = "profile openid",
    ) -> str:
        """An ID token as LIFF or LINE Login would hand it to a page.

        ``expired`` backdates it past its one-hour life; ``secret`` signs it with another key,
        which is how a forgery looks to LINE.
        """
        with self._lock:
            channel = self.channels.get(str(channel_id))
            if secret is None:
                if channel is None:
                    raise KeyError(f"Unknown channel {channel_id!r}; add_channel() it first")
                secret = channel.secret
            user = self.users[user_id]
            issued = int(time.time()) - (2 * ID_TOKEN_TTL if expired else 0)
            claims = self._id_token_claims(
                channel_id=str(channel_id), user=user, scope=scope, nonce=nonce, issued=issued
            )
        return encode_id_token(claims, secret)

    def issue_reply_token(self, *, channel_id: str, user_id: str) -> str:
        """A reply token as a webhook event would carry it (single use, one minute)."""
        token = secrets.token_hex(16)
        with self._lock:
            self._reply_tokens[token] = (str(channel_id), user_id, time.time() + REPLY_TOKEN_TTL)
        return token

    def reset(self) -> None:
        """Forget users, tokens, rich menus and logs; channels stay so a running demo keeps working."""
        with self._lock:
            self._init_state()

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every push, reply and multicast LINE accepted, oldest first (a copy)."""
        with self._lock:
            return copy.deepcopy(self._messages)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request to the LINE API endpoints (not ``/__fake__/``), oldest first (a copy)."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def texts_to(self, user_id: str) -> list[str]:
        """The text messages a user has received, oldest first: what tests usually assert on."""
        return [
            message["text"]
            for entry in self.messages
            if user_id in entry["to"]
            for message in entry["messages"]
            if message.get("type") == "text"
        ]

    def rich_menu_of(self, *, channel_id: str, user_id: str) -> str | None:
        """The rich menu a user sees on a channel: their own, else the channel's default."""
        with self._lock:
            return self._user_rich_menus.get(
                (str(channel_id), user_id), self._default_rich_menu.get(str(channel_id))
            )

    # -- dispatch -----------------------------------------------------------------------------------

    _ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
        (method, re.compile(f"^{pattern}$"), name)
        for method, pattern, name in (
            ("GET", r"/oauth2/v2\.1/authorize", "_authorize"),
            ("POST", r"/oauth2/v2\.1/token", "_token"),
            ("POST", r"/oauth2/v2\.1/verify", "_verify_id_token"),
            ("GET", r"/oauth2/v2\.1/verify", "_verify_access_token"),
            ("GET", r"/v2/profile", "_login_profile"),
            ("POST", r"/v2/bot/message/push", "_push"),
            ("POST", r"/v2/bot/message/reply", "_reply"),
            ("POST", r"/v2/bot/message/multicast", "_multicast"),
            ("GET", r"/v2/bot/profile/(?P<user_id>[^/]+)", "_bot_profile"),
            ("POST", r"/v2/bot/user/(?P<user_id>[^/]+)/linkToken", "_link_token"),
            ("POST", r"/v2/bot/richmenu", "_create_rich_menu"),
            ("GET", r"/v2/bot/richmenu/list", "_list_rich_menus"),
            ("GET", r"/v2/bot/richmenu/(?P<rich_menu_id>[^/]+)", "_get_rich_menu"),
            ("DELETE", r"/v2/bot/richmenu/(?P<rich_menu_id>[^/]+)", "_delete_rich_menu"),
            ("POST", r"/v2/bot/richmenu/(?P<rich_menu_id>[^/]+)/content", "_rich_menu_image"),
            ("POST", r"/v2/bot/user/all/richmenu/(?P<rich_menu_id>[^/]+)", "_set_default_menu"),
            ("GET", r"/v2/bot/user/all/richmenu", "_get_default_menu"),
            ("DELETE", r"/v2/bot/user/all/richmenu", "_clear_default_menu"),
            (
                "POST",
                r"/v2/bot/user/(?P<user_id>[^/]+)/richmenu/(?P<rich_menu_id>[^/]+)",
                "_link_menu",
            ),
            ("GET", r"/v2/bot/user/(?P<user_id>[^/]+)/richmenu", "_get_user_menu"),
            ("DELETE", r"/v2/bot/user/(?P<user_id>[^/]+)/richmenu", "_unlink_menu"),
            ("GET", r"/", "_fake_index"),
            ("POST", r"/__fake__/login", "_fake_login"),
            ("GET", r"/__fake__/messages", "_fake_messages"),
            ("GET", r"/__fake__/requests", "_fake_requests"),
            ("GET", r"/__fake__/users", "_fake_users"),
            ("POST", r"/__fake__/users", "_fake_add_user"),
            ("POST", r"/__fake__/channels", "_fake_add_channel"),
            ("POST", r"/__fake__/id_token", "_fake_id_token"),
            ("POST", r"/__fake__/reply_token", "_fake_reply_token"),
            ("POST", r"/__fake__/reset", "_fake_reset"),
            ("GET", r"/__fake__/avatar/(?P<user_id>U[0-9a-f]{32})\.svg", "_fake_avatar"),
        )
    )

    def _route(self, request: _Request) -> tuple[str, dict[str, str]] | None:
        for method, pattern, name in self._ROUTES:
            match = pattern.match(request.path)
            if match and method == request.method:
                return name, match.groupdict()
        return None

    def dispatch(self, request: _Request) -> _Response:
        """Route one request; the whole handling runs under the state lock, so it is atomic."""
        route = self._route(request)
        if route is None:
            return _json(HTTPStatus.NOT_FOUND, {"message": "Not found"})
        name, arguments = route
        with self._lock:
            try:
                response = getattr(self, name)(request, **arguments)
            except (ValueError, KeyError, TypeError) as exc:
                # Malformed JSON or a missing field: LINE's answer is a 400, never a crash. Logged,
                # so that a bug of the fake's own does not hide behind it.
                logger.info("fake LINE: %s %s refused", request.method, request.path, exc_info=True)
                response = _bad_request(f"The request body has 1 error(s): {exc}", [])
            if not request.path.startswith("/__fake__/") and request.path != "/":
                self._requests.append(
                    {
                        "method": request.method,
                        "path": request.path,
                        "query": request.query,
                        "headers": {
                            k: v
                            for k, v in request.headers.items()
                            if k in ("authorization", "content-type", "x-line-retry-key")
                        },
                        "body": request.body.decode("utf-8", "replace")
                        if request.headers.get("content-type", "").split(";")[0]
                        in ("application/json", "application/x-www-form-urlencoded")
                        else f"<{len(request.body)} bytes>",
                        "status": int(response.status),
                        "received_at": _now_iso(),
                    }
                )
                # A demo left running for days must not grow without bound.
                del self._requests[:-LOG_LIMIT]
        return response

    # -- LINE Login ----------------------------------------------------------------------------------

    def _redirect_allowed(self, channel: FakeChannel, redirect_uri: str) -> bool:
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        if not channel.callback_urls:
            return True
        return redirect_uri.split("?")[0] in {url.split("?")[0] for url in channel.callback_urls}

    def _authorize(self, request: _Request) -> _Response:
        params = request.query
        channel = self.channels.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if channel is None or not self._redirect_allowed(channel, redirect_uri):
            # LINE shows its own error page here: it never redirects to an unverified URI.
            return _html(
                HTTPStatus.BAD_REQUEST,
                _error_page("400 Bad Request", "Invalid client_id or redirect_uri."),
            )
        state = params.get("state", "")
        scopes = set(params.get("scope", "").split())
        error = None
        if params.get("response_type") != "code":
            error = ("unsupported_response_type", "response_type must be code")
        elif not state:
            error = ("invalid_request", "state is required")
        elif not scopes or not scopes <= KNOWN_SCOPES:
            error = ("invalid_scope", "invalid scope")
        elif params.get("code_challenge") and params.get("code_challenge_method") != "S256":
            error = ("invalid_request", "code_challenge_method must be S256")
        if error:
            return _redirect(
                _with_query(redirect_uri, error=error[0], error_description=error[1], state=state)
            )
        auto_user = params.get("auto_user")
        if auto_user:
            if auto_user not in self.users:
                return _html(
                    HTTPStatus.BAD_REQUEST, _error_page("400 Bad Request", "Unknown auto_user.")
                )
            return self._grant(params, auto_user)
        login_id = secrets.token_urlsafe(16)
        self._pending_logins[login_id] = (dict(params), time.time() + PENDING_LOGIN_TTL)
        return _html(HTTPStatus.OK, self._login_page(login_id, channel, params))

    def _fake_login(self, request: _Request) -> _Response:
        """The form on the authorize page: pick a user, create one, or cancel."""
        form = request.form()
        pending = self._pending_logins.pop(form.get("login_id", ""), None)
        if pending is None or pending[1] < time.time():
            return _html(
                HTTPStatus.BAD_REQUEST,
                _error_page("400 Bad Request", "This sign-in page has expired."),
            )
        params = pending[0]
        if form.get("cancel"):
            return _redirect(
                _with_query(
                    params["redirect_uri"],
                    error="access_denied",
                    error_description="The user has denied the approval",
                    state=params["state"],
                )
            )
        user_id = form.get("user_id", "")
        if form.get("display_name", "").strip():
            user_id = self.add_user(form["display_name"]).user_id
        if user_id not in self.users:
            return _html(HTTPStatus.BAD_REQUEST, _error_page("400 Bad Request", "Unknown user."))
        return self._grant(params, user_id)

    def _grant(self, params: dict[str, str], user_id: str) -> _Response:
        code = secrets.token_urlsafe(16)
        self._codes[code] = _Code(
            channel_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            user_id=user_id,
            scope=params["scope"],
            nonce=params.get("nonce"),
            code_challenge=params.get("code_challenge"),
            expires_at=time.time() + CODE_TTL,
        )
        return _redirect(_with_query(params["redirect_uri"], code=code, state=params["state"]))

    def _id_token_claims(
        self, *, channel_id: str, user: FakeUser, scope: str, nonce: str | None, issued: int
    ) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": user.user_id,
            "aud": channel_id,
            "exp": issued + ID_TOKEN_TTL,
            "iat": issued,
            "amr": ["linesso"],
        }
        if nonce:
            claims["nonce"] = nonce
        scopes = set(scope.split())
        if "profile" in scopes:
            claims["name"] = user.display_name
            claims["picture"] = self._picture_url(user)
        if "email" in scopes and user.email:
            claims["email"] = user.email
        return claims

    def _picture_url(self, user: FakeUser) -> str | None:
        if user.picture_url:
            return user.picture_url
        return f"{self.base_url}/__fake__/avatar/{user.user_id}.svg" if self._httpd else None

    def _token(self, request: _Request) -> _Response:
        form = request.form()
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            return _oauth_error("unsupported_grant_type", "unsupported grant type")
        channel = self.channels.get(form.get("client_id", ""))
        if channel is None or not hmac.compare_digest(
            channel.secret.encode(), form.get("client_secret", "").encode()
        ):
            return _oauth_error("invalid_client", "invalid client_id or client_secret")
        if grant_type == "refresh_token":
            return self._refresh(channel, form)
        # Popped before any check: a code is good for one attempt, whatever its outcome.
        code = self._codes.pop(form.get("code", ""), None)
        if code is None or code.expires_at < time.time() or code.channel_id != channel.channel_id:
            return _oauth_error("invalid_grant", "invalid authorization code")
        if code.redirect_uri != form.get("redirect_uri"):
            return _oauth_error("invalid_grant", "redirect_uri does not match")
        if code.code_challenge:
            verifier = form.get("code_verifier", "").encode("ascii", "replace")
            if _b64url(hashlib.sha256(verifier).digest()) != code.code_challenge:
                return _oauth_error("invalid_grant", "invalid code_verifier")
        return self._issue_tokens(channel, code.user_id, code.scope, code.nonce)

    def _refresh(self, channel: FakeChannel, form: dict[str, str]) -> _Response:
        access_token = self._refresh_tokens.pop(form.get("refresh_token", ""), None)
        old = self._login_tokens.pop(access_token, None) if access_token else None
        if old is None or old.channel_id != channel.channel_id:
            return _oauth_error("invalid_grant", "invalid refresh token")
        response = self._issue_tokens(channel, old.user_id, old.scope, None, with_id_token=False)
        return response

    def _issue_tokens(
        self,
        channel: FakeChannel,
        user_id: str,
        scope: str,
        nonce: str | None,
        *,
        with_id_token: bool = True,
    ) -> _Response:
        access_token = secrets.token_urlsafe(32)
        refresh_token = secrets.token_urlsafe(16)
        granted = " ".join(s for s in scope.split() if s != "email")  # LINE leaves email out
        self._login_tokens[access_token] = _LoginToken(
            channel.channel_id, user_id, granted, time.time() + ACCESS_TOKEN_TTL, refresh_token
        )
        self._refresh_tokens[refresh_token] = access_token
        payload: dict[str, Any] = {
            "access_token": access_token,
            "expires_in": ACCESS_TOKEN_TTL,
            "refresh_token": refresh_token,
            "scope": granted,
            "token_type": "Bearer",
        }
        if with_id_token and "openid" in scope.split():
            claims = self._id_token_claims(
                channel_id=channel.channel_id,
                user=self.users[user_id],
                scope=scope,
                nonce=nonce,
                issued=int(time.time()),
            )
            payload["id_token"] = encode_id_token(claims, channel.secret)
        return _json(HTTPStatus.OK, payload)

    def _verify_id_token(self, request: _Request) -> _Response:
        form = request.form()
        client_id = form.get("client_id", "")
        if not client_id:
            return _oauth_error("invalid_request", "client_id is required")
        try:
            header, claims, signing_input, signature = _decode_id_token(form.get("id_token", ""))
        except (ValueError, UnicodeError):
            return _oauth_error("invalid_request", "Invalid IdToken.")
        channel = self.channels.get(str(claims.get("aud")))
        if (
            channel is None
            or header.get("alg") != "HS256"
            or not hmac.compare_digest(_sign(channel.secret, signing_input), signature)
        ):
            return _oauth_error("invalid_request", "Invalid IdToken.")
        if claims.get("iss") != ISSUER:
            return _oauth_error("invalid_request", "Invalid IdToken Issuer.")
        if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
            return _oauth_error("invalid_request", "IdToken expired.")
        if str(claims.get("aud")) != client_id:
            return _oauth_error("invalid_request", "Invalid IdToken Audience.")
        if form.get("nonce") and claims.get("nonce") != form["nonce"]:
            return _oauth_error("invalid_request", "Invalid IdToken Nonce.")
        if form.get("user_id") and claims.get("sub") != form["user_id"]:
            return _oauth_error("invalid_request", "Invalid IdToken Subject Identifier.")
        return _json(HTTPStatus.OK, claims)

    def _live_login_token(self, access_token: str | None) -> _LoginToken | None:
        token = self._login_tokens.get(access_token or "")
        return token if token is not None and token.expires_at > time.time() else None

    def _verify_access_token(self, request: _Request) -> _Response:
        access_token = request.query.get("access_token", "")
        token = self._live_login_token(access_token)
        if token is None:
            known = access_token in self._login_tokens
            return _oauth_error(
                "invalid_request", "access token expired" if known else "invalid access token"
            )
        return _json(
            HTTPStatus.OK,
            {
                "scope": token.scope,
                "client_id": token.channel_id,
                "expires_in": int(token.expires_at - time.time()),
            },
        )

    def _login_profile(self, request: _Request) -> _Response:
        token = self._live_login_token(request.bearer())
        if token is None:
            return _json(HTTPStatus.UNAUTHORIZED, {"message": AUTH_FAILED})
        if "profile" not in token.scope.split():
            return _json(HTTPStatus.FORBIDDEN, {"message": "Not allowed to use this API"})
        return _json(HTTPStatus.OK, self._profile_json(self.users[token.user_id]))

    def _profile_json(self, user: FakeUser, *, with_language: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {"userId": user.user_id, "displayName": user.display_name}
        picture = self._picture_url(user)
        if picture:
            payload["pictureUrl"] = picture
        if user.status_message:
            payload["statusMessage"] = user.status_message
        if with_language:
            payload["language"] = user.language
        return payload

    # -- Messaging API -------------------------------------------------------------------------------

    def _bot_channel(self, request: _Request) -> FakeChannel | _Response:
        token = request.bearer()
        if token is None:
            return _json(HTTPStatus.UNAUTHORIZED, {"message": AUTH_REQUIRED})
        for channel in self.channels.values():
            if token in channel.access_tokens:
                return channel
        return _json(HTTPStatus.UNAUTHORIZED, {"message": AUTH_FAILED})

    def _retry_key(self, request: _Request, channel: FakeChannel) -> str | _Response | None:
        """The request's retry key, or LINE's answer when it is malformed or already accepted."""
        key = request.headers.get("x-line-retry-key")
        if key is None:
            return None
        if not UUID_RE.match(key):
            return _bad_request("The value for the 'X-Line-Retry-Key' header is invalid")
        accepted = self._retry_keys.get((channel.channel_id, key.lower()))
        if accepted is not None and accepted[2] > time.time():
            request_id, payload, _ = accepted
            body = {"message": "The retry key is already accepted", **payload}
            return _json(HTTPStatus.CONFLICT, body, **{"x-line-accepted-request-id": request_id})
        return key

    def _send(
        self,
        *,
        kind: str,
        channel: FakeChannel,
        to: list[str],
        body: dict[str, Any],
        retry_key: str | None,
        reply_token: str | None = None,
    ) -> dict[str, Any]:
        """Record an accepted send and return LINE's success payload for it."""
        sent = [
            {"id": str(next(self._message_ids)), "quoteToken": secrets.token_urlsafe(12)}
            for _ in body["messages"]
        ]
        payload = {"sentMessages": sent} if kind != "multicast" else {}
        request_id = str(uuid.uuid4())
        if retry_key:
            self._retry_keys[(channel.channel_id, retry_key.lower())] = (
                request_id,
                payload,
                time.time() + RETRY_KEY_TTL,
            )
        self._messages.append(
            {
                "id": next(self._sequence),
                "kind": kind,
                "channel_id": channel.channel_id,
                "to": to,
                "messages": body["messages"],
                "notification_disabled": bool(body.get("notificationDisabled", False)),
                "retry_key": retry_key,
                "reply_token": reply_token,
                "request_id": request_id,
                "sent_message_ids": [m["id"] for m in sent],
                "received_at": _now_iso(),
            }
        )
        del self._messages[:-LOG_LIMIT]
        return payload

    def _push(self, request: _Request) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        retry_key = self._retry_key(request, channel)
        if isinstance(retry_key, _Response):
            return retry_key
        body = request.json()
        to = body.get("to")
        if not isinstance(to, str) or not RECIPIENT_RE.match(to):
            return _bad_request(
                "The property, 'to', in the request body is invalid (line: -, column: -)"
            )
        details = _message_errors(body.get("messages"))
        if details:
            return _bad_request(f"The request body has {len(details)} error(s)", details)
        if to.startswith("U") and to not in self.users:
            return _bad_request("Failed to send messages")
        payload = self._send(kind="push", channel=channel, to=[to], body=body, retry_key=retry_key)
        return _json(HTTPStatus.OK, payload)

    def _reply(self, request: _Request) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        if request.headers.get("x-line-retry-key"):
            return _bad_request("X-Line-Retry-Key header is not supported for this API")
        body = request.json()
        details = _message_errors(body.get("messages"))
        if details:
            return _bad_request(f"The request body has {len(details)} error(s)", details)
        token = self._reply_tokens.get(str(body.get("replyToken", "")))
        if token is None or token[0] != channel.channel_id or token[2] < time.time():
            return _bad_request("Invalid reply token")
        del self._reply_tokens[body["replyToken"]]
        payload = self._send(
            kind="reply",
            channel=channel,
            to=[token[1]],
            body=body,
            retry_key=None,
            reply_token=body["replyToken"],
        )
        return _json(HTTPStatus.OK, payload)

    def _multicast(self, request: _Request) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        retry_key = self._retry_key(request, channel)
        if isinstance(retry_key, _Response):
            return retry_key
        body = request.json()
        to = body.get("to")
        if not isinstance(to, list) or not 1 <= len(to) <= 500:
            return _bad_request(
                "The request body has 1 error(s)",
                [{"message": "Size must be between 1 and 500", "property": "to"}],
            )
        for index, recipient in enumerate(to):
            if not isinstance(recipient, str) or not USER_ID_RE.match(recipient):
                return _bad_request(
                    f"The property, 'to[{index}]', in the request body is invalid (line: -, column: -)"
                )
        details = _message_errors(body.get("messages"))
        if details:
            return _bad_request(f"The request body has {len(details)} error(s)", details)
        # Like LINE, unknown or blocked recipients are dropped silently from a multicast.
        payload = self._send(
            kind="multicast", channel=channel, to=list(to), body=body, retry_key=retry_key
        )
        return _json(HTTPStatus.OK, payload)

    def _bot_profile(self, request: _Request, user_id: str) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        user = self.users.get(user_id)
        if user is None:
            return _json(HTTPStatus.NOT_FOUND, {"message": "Not found"})
        return _json(HTTPStatus.OK, self._profile_json(user, with_language=True))

    def _link_token(self, request: _Request, user_id: str) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        if user_id not in self.users:
            return _bad_request("The user ID is invalid")
        token = secrets.token_urlsafe(24)
        self._link_tokens[token] = {
            "channel_id": channel.channel_id,
            "user_id": user_id,
            "expires_at": time.time() + LINK_TOKEN_TTL,
        }
        return _json(HTTPStatus.OK, {"linkToken": token})

    # -- rich menus (enough for creating, picturing, defaulting and linking one) -------------------

    def _menu(self, channel: FakeChannel, rich_menu_id: str) -> _RichMenu | _Response:
        if not RICH_MENU_ID_RE.match(rich_menu_id):
            return _bad_request(
                "The request body has 1 error(s)",
                [{"message": "invalid richMenuId", "property": "richMenuId"}],
            )
        menu = self._rich_menus.get(rich_menu_id)
        if menu is None or menu.channel_id != channel.channel_id:
            return _json(HTTPStatus.NOT_FOUND, {"message": "richmenu not found", "details": []})
        return menu

    def _create_rich_menu(self, request: _Request) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        body = request.json()
        details = []
        size = body.get("size") or {}
        if not 800 <= int(size.get("width", 0)) <= 2500 or int(size.get("height", 0)) < 250:
            details.append({"message": "invalid size", "property": "size"})
        for name, limit in (("name", 300), ("chatBarText", 14)):
            if not isinstance(body.get(name), str) or not 0 < len(body[name]) <= limit:
                details.append(
                    {"message": f"Length must be between 1 and {limit}", "property": name}
                )
        if not isinstance(body.get("areas"), list) or len(body["areas"]) > 20:
            details.append({"message": "Size must be between 0 and 20", "property": "areas"})
        if details:
            return _bad_request(f"The request body has {len(details)} error(s)", details)
        menu = _RichMenu(f"richmenu-{secrets.token_hex(16)}", channel.channel_id, body)
        self._rich_menus[menu.rich_menu_id] = menu
        return _json(HTTPStatus.OK, {"richMenuId": menu.rich_menu_id})

    def _list_rich_menus(self, request: _Request) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        menus = [
            {"richMenuId": m.rich_menu_id, **m.body}
            for m in self._rich_menus.values()
            if m.channel_id == channel.channel_id
        ]
        return _json(HTTPStatus.OK, {"richmenus": menus})

    def _get_rich_menu(self, request: _Request, rich_menu_id: str) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        menu = self._menu(channel, rich_menu_id)
        if isinstance(menu, _Response):
            return menu
        return _json(HTTPStatus.OK, {"richMenuId": menu.rich_menu_id, **menu.body})

    def _delete_rich_menu(self, request: _Request, rich_menu_id: str) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        menu = self._menu(channel, rich_menu_id)
        if isinstance(menu, _Response):
            return menu
        del self._rich_menus[rich_menu_id]
        for key, linked in list(self._user_rich_menus.items()):
            if linked == rich_menu_id:
                del self._user_rich_menus[key]
        if self._default_rich_menu.get(channel.channel_id) == rich_menu_id:
            del self._default_rich_menu[channel.channel_id]
        return _json(HTTPStatus.OK, {})

    def _rich_menu_image(self, request: _Request, rich_menu_id: str) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        menu = self._menu(channel, rich_menu_id)
        if isinstance(menu, _Response):
            return menu
        content_type = request.headers.get("content-type", "")
        if content_type not in ("image/jpeg", "image/png") or not request.body:
            return _bad_request("The request body has 1 error(s)", [{"message": "invalid image"}])
        if menu.image_type is not None:
            return _bad_request("An image has already been uploaded to the richmenu")
        menu.image_type = content_type
        return _json(HTTPStatus.OK, {})

    def _linkable_menu(self, channel: FakeChannel, rich_menu_id: str) -> _RichMenu | _Response:
        menu = self._menu(channel, rich_menu_id)
        if isinstance(menu, _RichMenu) and menu.image_type is None:
            # LINE treats a menu without its image as not there at all.
            return _bad_request("richmenu not found", [])
        if isinstance(menu, _Response) and menu.status == HTTPStatus.NOT_FOUND:
            return _bad_request("richmenu not found", [])
        return menu

    def _set_default_menu(self, request: _Request, rich_menu_id: str) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        menu = self._linkable_menu(channel, rich_menu_id)
        if isinstance(menu, _Response):
            return menu
        self._default_rich_menu[channel.channel_id] = rich_menu_id
        return _json(HTTPStatus.OK, {})

    def _get_default_menu(self, request: _Request) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        rich_menu_id = self._default_rich_menu.get(channel.channel_id)
        if rich_menu_id is None:
            return _json(HTTPStatus.NOT_FOUND, {"message": "no default richmenu", "details": []})
        return _json(HTTPStatus.OK, {"richMenuId": rich_menu_id})

    def _clear_default_menu(self, request: _Request) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        self._default_rich_menu.pop(channel.channel_id, None)
        return _json(HTTPStatus.OK, {})

    def _link_menu(self, request: _Request, user_id: str, rich_menu_id: str) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        if not USER_ID_RE.match(user_id):
            return _bad_request("The user ID is invalid")
        menu = self._linkable_menu(channel, rich_menu_id)
        if isinstance(menu, _Response):
            return menu
        self._user_rich_menus[(channel.channel_id, user_id)] = rich_menu_id
        return _json(HTTPStatus.OK, {})

    def _get_user_menu(self, request: _Request, user_id: str) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        rich_menu_id = self._user_rich_menus.get((channel.channel_id, user_id))
        if rich_menu_id is None:
            return _json(
                HTTPStatus.NOT_FOUND, {"message": "the user has no richmenu", "details": []}
            )
        return _json(HTTPStatus.OK, {"richMenuId": rich_menu_id})

    def _unlink_menu(self, request: _Request, user_id: str) -> _Response:
        channel = self._bot_channel(request)
        if isinstance(channel, _Response):
            return channel
        self._user_rich_menus.pop((channel.channel_id, user_id), None)
        return _json(HTTPStatus.OK, {})

    # -- /__fake__/ control endpoints ----------------------------------------------------------------

    def _fake_messages(self, request: _Request) -> _Response:
        return _json(HTTPStatus.OK, self._messages)

    def _fake_requests(self, request: _Request) -> _Response:
        return _json(HTTPStatus.OK, self._requests)

    def _fake_users(self, request: _Request) -> _Response:
        return _json(HTTPStatus.OK, [asdict(user) for user in self.users.values()])

    def _fake_add_user(self, request: _Request) -> _Response:
        data = request.data()
        user = self.add_user(
            display_name=str(data["display_name"]),
            user_id=data.get("user_id") or None,
            picture_url=data.get("picture_url") or None,
            status_message=str(data.get("status_message", "")),
            email=data.get("email") or None,
            language=str(data.get("language") or "th"),
        )
        return _json(HTTPStatus.CREATED, asdict(user))

    def _fake_add_channel(self, request: _Request) -> _Response:
        data = request.data()
        callback_url = data.get("callback_url")
        channel = self.add_channel(
            channel_id=str(data["channel_id"]),
            channel_secret=str(data["channel_secret"]),
            access_token=data.get("access_token") or None,
            callback_urls=(callback_url,) if callback_url else (),
        )
        return _json(
            HTTPStatus.CREATED,
            {"channel_id": channel.channel_id, "access_tokens": sorted(channel.access_tokens)},
        )

    def _fake_id_token(self, request: _Request) -> _Response:
        data = request.data()
        token = self.mint_id_token(
            channel_id=str(data.get("channel_id") or data["client_id"]),
            user_id=str(data["user_id"]),
            nonce=data.get("nonce") or None,
            expired=_flag(data.get("expired", "")),
            secret=data.get("secret") or None,
            scope=str(data.get("scope") or "profile openid"),
        )
        return _json(HTTPStatus.OK, {"id_token": token})

    def _fake_reply_token(self, request: _Request) -> _Response:
        data = request.data()
        token = self.issue_reply_token(
            channel_id=str(data["channel_id"]), user_id=str(data["user_id"])
        )
        return _json(HTTPStatus.OK, {"replyToken": token})

    def _fake_reset(self, request: _Request) -> _Response:
        self.reset()
        return _json(HTTPStatus.OK, {})

    def _fake_avatar(self, request: _Request, user_id: str) -> _Response:
        user = self.users.get(user_id)
        initial = html.escape(user.display_name[:1] if user else "?")
        hue = int(hashlib.sha256(user_id.encode()).hexdigest()[:4], 16) % 360
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200">'
            f'<rect width="200" height="200" fill="hsl({hue},55%,55%)"/>'
            '<text x="100" y="128" font-size="96" text-anchor="middle" fill="#fff" '
            f'font-family="sans-serif">{initial}</text></svg>'
        )
        return _Response(HTTPStatus.OK, svg.encode("utf-8"), "image/svg+xml")

    def _fake_index(self, request: _Request) -> _Response:
        return _html(HTTPStatus.OK, self._index_page())

    # -- pages ---------------------------------------------------------------------------------------

    def _login_page(self, login_id: str, channel: FakeChannel, params: dict[str, str]) -> str:
        esc = html.escape
        buttons = "".join(
            f'<button class="user" type="submit" name="user_id" value="{esc(u.user_id)}" '
            f'data-user-id="{esc(u.user_id)}">'
            f'<img src="{esc(self._picture_url(u) or "")}" alt="" width="40" height="40">'
            f"<span><b>{esc(u.display_name)}</b><small>{esc(u.user_id)}</small></span></button>"
            for u in self.users.values()
        )
        body = f"""
<p class="app">แอปช่อง {esc(channel.channel_id)} ขอสิทธิ์: {esc(params.get("scope", ""))}<br>
<small>Channel {esc(channel.channel_id)} asks for: {esc(params.get("scope", ""))}</small></p>
<form method="post" action="/__fake__/login">
  <input type="hidden" name="login_id" value="{esc(login_id)}">
  {buttons}
  <button class="cancel" type="submit" name="cancel" value="1">ยกเลิก / Cancel</button>
</form>
<h2>สร้างผู้ใช้ทดสอบใหม่ / Create a new test user</h2>
<form method="post" action="/__fake__/login" class="new">
  <input type="hidden" name="login_id" value="{esc(login_id)}">
  <label for="display_name">ชื่อที่แสดง / Display name</label>
  <input id="display_name" name="display_name" required maxlength="20" autocomplete="off">
  <button type="submit">สร้างและเข้าสู่ระบบ / Create and sign in</button>
</form>"""
        return _page("เลือกบัญชี LINE ทดสอบ / Choose a test LINE account", body)

    def _index_page(self) -> str:
        esc = html.escape
        users = "".join(
            f"<li><b>{esc(u.display_name)}</b> <small>{esc(u.user_id)}</small></li>"
            for u in self.users.values()
        )
        rows = []
        for entry in reversed(self._messages[-50:]):
            texts = ", ".join(
                str(m.get("text") or m.get("altText") or m.get("type")) for m in entry["messages"]
            )
            names = ", ".join(
                self.users[t].display_name if t in self.users else t for t in entry["to"]
            )
            rows.append(
                f"<li><small>{esc(entry['received_at'][:19])} · {esc(entry['kind'])} → "
                f"{esc(names)}</small><br>{esc(texts)}</li>"
            )
        body = (
            "<h2>ผู้ใช้ทดสอบ / Test users</h2><ul>" + users + "</ul>"
            "<h2>ข้อความที่ส่ง / Messages sent (newest first)</h2><ul>"
            + ("".join(rows) or "<li>—</li>")
            + "</ul>"
        )
        return _page("LINE จำลอง / Fake LINE platform", body)


def _with_query(url: str, **params: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


_STYLE = """
body{font-family:system-ui,"Noto Sans Thai",sans-serif;margin:0;background:#f5f5f5;color:#111}
header{background:#06c755;color:#fff;padding:14px 16px;font-weight:700}
main{max-width:480px;margin:0 auto;padding:16px}
h1{font-size:1.15rem}h2{font-size:1rem;margin-top:28px}
button{font:inherit;width:100%;padding:12px;margin:6px 0;border-radius:10px;border:1px solid #ddd;
background:#fff;text-align:left;display:flex;gap:12px;align-items:center;cursor:pointer}
button.user img{border-radius:50%}button span{display:flex;flex-direction:column}
button small,p small,li small{color:#666}
button.cancel{justify-content:center;color:#666}
.new button{background:#06c755;color:#fff;justify-content:center;border:0}
input[name=display_name]{font:inherit;width:100%;box-sizing:border-box;padding:12px;border-radius:10px;
border:1px solid #ccc}
footer{font-size:.8rem;color:#888;margin-top:32px}
"""


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="th"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body><header>LINE · ทดสอบ / test</header><main>
<h1>{html.escape(title)}</h1>{body}
<footer>แพลตฟอร์ม LINE จำลองสำหรับการทดสอบและเดโมเท่านั้น ·
The project's fake LINE platform, for tests and the demo only.</footer>
</main></body></html>"""


def _error_page(title: str, detail: str) -> str:
    return _page(title, f"<p>{html.escape(detail)}</p>")
