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
import itertools
import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http import HTTPStatus

from loyalty.fake_http import (
    FakeHTTPServer,
    Request,
    Response,
    html_response,
    json_response,
    routes,
)
from loyalty.sms.parts import sms_parts

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


def _error(status: int, name: str, description: str) -> Response:
    payload = {"error": {"code": status, "name": name, "description": description}}
    return json_response(status, payload)


class FakeSmsGateway(FakeHTTPServer):
    """ThaiBulkSMS's send API on a loopback port, keeping what it "sent" in memory.

    ``FakeSmsGateway().start()`` serves from a background thread (tests); ``serve_forever()``
    serves in the foreground (``manage.py fake_sms``). Lifecycle, routing and the loopback-only
    check come from ``loyalty.fake_http``.
    """

    ROUTES = routes(
        ("POST", r"/sms", "_send"),
        ("GET", r"/", "_index"),
        ("GET", r"/__fake__/messages", "_fake_messages"),
        ("POST", r"/__fake__/fail", "_fake_fail"),
        ("POST", r"/__fake__/reset", "_fake_reset"),
    )
    label = "fake SMS"
    refusal = "The fake SMS gateway only runs with DEBUG or TESTING on; production uses a real one."
    loopback_refusal = "The fake SMS gateway only binds to loopback"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str = DEMO_API_KEY,
        api_secret: str = DEMO_API_SECRET,
    ) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self.api_secret = api_secret
        self._messages: list[FakeSms] = []
        self._failures: list[int] = []
        self._ids = itertools.count(int(time.time() * 1000))

    def start(self) -> FakeSmsGateway:
        return super().start()

    def __enter__(self) -> FakeSmsGateway:
        return self.start()

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

    # -- endpoints ---------------------------------------------------------------------------------

    def not_found(self, request: Request) -> Response:
        return _error(HTTPStatus.NOT_FOUND, "NOT_FOUND", "Not found")

    def _index(self, request: Request) -> Response:
        return html_response(HTTPStatus.OK, self._index_page())

    def _fake_messages(self, request: Request) -> Response:
        return json_response(HTTPStatus.OK, [asdict(m) for m in reversed(self._messages)])

    def _fake_fail(self, request: Request) -> Response:
        data = request.data()
        self.fail_next(int(data.get("status") or 500), int(data.get("count") or 1))
        return json_response(HTTPStatus.OK, {})

    def _fake_reset(self, request: Request) -> Response:
        self.reset()
        return json_response(HTTPStatus.OK, {})

    def _authorised(self, headers: dict[str, str]) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            key, _, secret = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return key == self.api_key and secret == self.api_secret

    def _send(self, request: Request) -> Response:
        if not self._authorised(request.headers):
            return _error(HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", "Invalid API key or secret")
        if self._failures:
            status = self._failures.pop(0)
            return _error(status, HTTPStatus(status).phrase.upper().replace(" ", "_"), "fake")
        try:
            data = request.data()
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
            accepted.append(
                {"number": number, "message_id": message_id, "used_credit": sms_parts(text)}
            )
        del self._messages[:-LOG_LIMIT]
        return json_response(
            HTTPStatus.CREATED,
            {
                "remaining_credit": 100000 - len(self._messages),
                "total_use_credit": sum(a["used_credit"] for a in accepted),
                "credit_type": "standard",
                "phone_number_list": accepted,
                "bad_phone_number_list": bad,
            },
        )

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


_STYLE = """
body{font-family:system-ui,"Noto Sans Thai",sans-serif;margin:0;background:#f5f5f5;color:#111}
header{background:#1f6feb;color:#fff;padding:14px 16px;font-weight:700}
main{max-width:480px;margin:0 auto;padding:16px}h1{font-size:1.1rem}
ul{list-style:none;padding:0}li{background:#fff;border-radius:12px;padding:12px;margin:8px 0;
box-shadow:0 1px 2px rgba(0,0,0,.08)}li p{margin:6px 0 0;font-size:1.05rem}small{color:#666}
footer{font-size:.8rem;color:#888;margin-top:32px}
"""
