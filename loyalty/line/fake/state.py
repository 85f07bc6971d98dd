"""The fake LINE platform's in-memory state: channels, users, tokens, rich menus and logs.

``LineState`` is the base of ``FakeLineServer``: it holds every dictionary the endpoints read and
write, and the Python control API tests call (``add_channel``, ``add_user``, ``issue_reply_token``,
``messages``, ``texts_to``, ``rich_menu_of``, ``reset``). The endpoint modules (``login``,
``messaging``, ``richmenus``, ``pages``) are mixins over it; ``core`` joins them into the server.
Nothing here is persisted: a restart forgets everything but the channels the command registers.
"""

from __future__ import annotations

import copy
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from loyalty.fake_http import FakeHTTPServer, Request, Response, json_response

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

# The demo's member with a LINE account (``manage.py fake_line`` adds her; tests' fakes do not, so
# the three above stay free to sign up): seed_demo binds her to a member with points, so that
# points earned at the counter arrive in her chat.
DEMO_MEMBER_USER: dict[str, str] = {
    "user_id": "U5f0c1d2e3a4b5c6d7e8f9a0b1c2d3e4f",
    "display_name": "มะลิ (Mali)",
    "status_message": "สมาชิกคาเฟ่อร่อย",
}

# The demo's Gold-tier member's LINE account (``manage.py fake_line`` adds it too): seed_demo binds
# it to a Gold member, so that the demo shows the three rich menus (not bound, bound, Gold).
DEMO_GOLD_USER: dict[str, str] = {
    "user_id": "U7a3e9b1c5d2f4a6b8c0d1e2f3a4b5c6d",
    "display_name": "ทองใบ (Thongbai)",
    "status_message": "สมาชิก Gold",
}

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
    # The Messaging API channel's webhook URL (LINE Developers console) and its Official
    # Account's name (the top of a chat); the chat page posts the fake users' events there.
    webhook_url: str = ""
    name: str = ""


@dataclass
class LoginCode:
    channel_id: str
    redirect_uri: str
    user_id: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    expires_at: float


@dataclass
class LoginToken:
    channel_id: str
    user_id: str
    scope: str
    expires_at: float
    refresh_token: str


@dataclass
class RichMenu:
    rich_menu_id: str
    channel_id: str
    body: dict[str, Any]
    # The uploaded picture (LINE keeps it and serves it back from the data host).
    image_type: str | None = None
    image: bytes = b""


@dataclass
class SendFault:
    """How the fake answers one coming push or multicast instead of LINE's usual answer.

    ``status`` 429, 500 or 400 is refused with LINE's error shape; ``delay`` seconds of silence
    make the client time out, before the send is accepted (``accept`` False: nothing went out) or
    after it (``accept`` True: LINE took the message and the client never heard, the case retry
    keys exist for).
    """

    status: int | None = None
    message: str = ""
    delay: float = 0.0
    accept: bool = False


# --- LINE's error shape -------------------------------------------------------------------------


def bad_request(message: str, details: list[dict[str, str]] | None = None) -> Response:
    payload: dict[str, Any] = {"message": message}
    if details is not None:
        payload["details"] = details
    return json_response(HTTPStatus.BAD_REQUEST, payload)


class LineState(FakeHTTPServer):
    """Everything the fake LINE platform remembers, and the Python control API over it."""

    label = "fake LINE"
    refusal = "The fake LINE server only runs with DEBUG or TESTING on; production talks to LINE."
    loopback_refusal = "The fake LINE server only binds to loopback"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed_users: bool = True) -> None:
        super().__init__(host, port)
        self._seed_users = seed_users
        self.channels: dict[str, FakeChannel] = {}
        self._init_state()

    def _init_state(self) -> None:
        self.users: dict[str, FakeUser] = {}
        self._codes: dict[str, LoginCode] = {}
        self._login_tokens: dict[str, LoginToken] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._pending_logins: dict[str, tuple[dict[str, str], float]] = {}
        self._reply_tokens: dict[str, tuple[str, str, float]] = {}
        self._link_tokens: dict[str, dict[str, Any]] = {}
        self._retry_keys: dict[tuple[str, str], tuple[str, dict[str, Any], float]] = {}
        self._rich_menus: dict[str, RichMenu] = {}
        self._default_rich_menu: dict[str, str] = {}
        self._user_rich_menus: dict[tuple[str, str], str] = {}
        self._messages: list[dict[str, Any]] = []
        # What test users did toward an OA on the chat page (follow, unfollow, text), oldest first,
        # with what the shop's webhook answered; and whether each user last followed or blocked.
        self._user_events: list[dict[str, Any]] = []
        self._follows: dict[tuple[str, str], bool] = {}
        # This month's quota (None: unlimited, LINE's "none") and what sends have used of it.
        self.quota_limit: int | None = None
        self.quota_used = 0
        # Faults the next sends answer with, oldest first (``fail_sends``).
        self._faults: list[SendFault] = []
        self._requests: list[dict[str, Any]] = []
        self._sequence = itertools.count(1)
        self._message_ids = itertools.count(int(time.time() * 1000) * 1000)
        if self._seed_users:
            for user in DEFAULT_USERS:
                self.add_user(**user)

    # -- Python control API ------------------------------------------------------------------------

    def add_channel(
        self,
        channel_id: str,
        channel_secret: str,
        access_token: str | None = None,
        callback_urls: tuple[str, ...] | list[str] = (),
        webhook_url: str | None = None,
        name: str | None = None,
    ) -> FakeChannel:
        """Register (or update) a channel; an access token makes it a Messaging API channel, a
        webhook URL is where the chat page's follow, block and message events go."""
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
            if webhook_url is not None:
                channel.webhook_url = webhook_url
            if name is not None:
                channel.name = name
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

    def issue_reply_token(self, *, channel_id: str, user_id: str) -> str:
        """A reply token as a webhook event would carry it (single use, one minute)."""
        token = secrets.token_hex(16)
        with self._lock:
            self._reply_tokens[token] = (str(channel_id), user_id, time.time() + REPLY_TOKEN_TTL)
        return token

    def fail_sends(
        self,
        count: int = 1,
        *,
        status: int | None = None,
        message: str = "",
        delay: float = 0.0,
        accept: bool = False,
    ) -> None:
        """Make the next ``count`` pushes/multicasts fail: ``status`` (429, 500, 400) answers
        LINE's error; ``delay`` stalls so the client times out (``accept``: after LINE took it)."""
        fault = SendFault(status=status, message=message, delay=delay, accept=accept)
        with self._lock:
            self._faults.extend(SendFault(**vars(fault)) for _ in range(count))

    def set_quota(self, limit: int | None, *, used: int = 0) -> None:
        """This month's target limit (None: unlimited) and how much of it is used."""
        with self._lock:
            self.quota_limit = limit
            self.quota_used = used

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

    @property
    def user_events(self) -> list[dict[str, Any]]:
        """What test users did on the chat page (follow, unfollow, message), oldest first, with
        the shop's webhook answer (``status``, 0 when unreachable); a copy."""
        with self._lock:
            return copy.deepcopy(self._user_events)

    def texts_to(self, user_id: str) -> list[str]:
        """The text messages a user has received, oldest first: what tests usually assert on."""
        return [
            message["text"]
            for entry in self.messages
            if user_id in entry["to"]
            for message in entry["messages"]
            if message.get("type") == "text"
        ]

    def messages_to(self, user_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """The message objects a user has received (of one ``type`` when given), oldest first."""
        return [
            message
            for entry in self.messages
            if user_id in entry["to"]
            for message in entry["messages"]
            if kind is None or message.get("type") == kind
        ]

    def rich_menu_of(self, *, channel_id: str, user_id: str) -> str | None:
        """The rich menu a user sees on a channel: their own, else the channel's default."""
        with self._lock:
            return self._user_rich_menus.get(
                (str(channel_id), user_id), self._default_rich_menu.get(str(channel_id))
            )

    def _picture_url(self, user: FakeUser) -> str | None:
        if user.picture_url:
            return user.picture_url
        return f"{self.base_url}/__fake__/avatar/{user.user_id}.svg" if self.serving else None

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

    def _bot_channel(self, request: Request) -> FakeChannel | Response:
        token = request.bearer()
        if token is None:
            return json_response(HTTPStatus.UNAUTHORIZED, {"message": AUTH_REQUIRED})
        for channel in self.channels.values():
            if token in channel.access_tokens:
                return channel
        return json_response(HTTPStatus.UNAUTHORIZED, {"message": AUTH_FAILED})
