"""The fake LINE platform's server: LINE Login and the Messaging API on loopback, for tests and the demo.

Nothing here is a mock. The server speaks LINE's real HTTP API (paths, form and JSON bodies,
status codes, LINE's error shapes), so the product's own ``loyalty.line`` code, and the official
line-bot-sdk inside it, run unchanged against it: point ``LINE_API_BASE_URL``,
``LINE_API_DATA_BASE_URL`` and ``LINE_ACCESS_BASE_URL`` at ``FakeLineServer.base_url`` and the
authorize page, the token and verify endpoints and the bot API are all served from here.

``FakeLineServer`` joins the parts: ``login`` (LINE Login), ``messaging`` (sends, profiles, link
tokens), ``richmenus``, ``accountlink`` (the account-link dialog, the webhook URL), ``pages``
(HTML), over ``state`` (what it remembers) and the shared HTTP core ``loyalty.fake_http`` (routing,
threads, loopback-only start/stop). This module adds the dispatch LINE-specific answers need (a
400 for a malformed body, ``x-line-request-id``, the request log) and the test-only control
endpoints under ``/__fake__/``; the same controls exist as Python methods. ``webhooks`` goes the
other way: it posts signed events to the shop's webhook URL.

Safety: it refuses to start unless ``settings.DEBUG`` or ``settings.TESTING`` is on, and it only
binds to loopback addresses, so a production deployment can neither start it nor reach it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from http import HTTPStatus
from typing import Any

from loyalty.fake_http import (
    Request,
    Response,
    flag,
    json_response,
    now_iso,
    route_table,
    routes,
)
from loyalty.line.fake import accountlink, chat, login, messaging, pages, richmenus
from loyalty.line.fake.accountlink import AccountLinkEndpoints
from loyalty.line.fake.login import LoginEndpoints
from loyalty.line.fake.messaging import MessagingEndpoints
from loyalty.line.fake.richmenus import RichMenuEndpoints
from loyalty.line.fake.state import LOG_LIMIT, bad_request
from loyalty.line.fake.webhooks import WebhookDelivery, bot_user_id, send_webhook

logger = logging.getLogger(__name__)

CONTROL_ROUTES = routes(
    ("GET", r"/__fake__/messages", "_fake_messages"),
    ("GET", r"/__fake__/requests", "_fake_requests"),
    ("GET", r"/__fake__/users", "_fake_users"),
    ("POST", r"/__fake__/users", "_fake_add_user"),
    ("POST", r"/__fake__/channels", "_fake_add_channel"),
    ("POST", r"/__fake__/id_token", "_fake_id_token"),
    ("POST", r"/__fake__/reply_token", "_fake_reply_token"),
    ("POST", r"/__fake__/reset", "_fake_reset"),
)
# Request bodies the log keeps as text; anything else (an image) is logged by its size.
LOGGED_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")


class FakeLineServer(LoginEndpoints, MessagingEndpoints, RichMenuEndpoints, AccountLinkEndpoints):
    """LINE Login and the Messaging API on a loopback port, with in-memory state.

    ``FakeLineServer().start()`` serves from a background thread (tests);
    ``serve_forever()`` serves in the foreground (``manage.py fake_line``).
    """

    ROUTES = route_table(
        login.ROUTES,
        messaging.ROUTES,
        richmenus.ROUTES,
        accountlink.ROUTES,
        pages.ROUTES,
        CONTROL_ROUTES,
    )

    def start(self) -> FakeLineServer:
        return super().start()

    def __enter__(self) -> FakeLineServer:
        return self.start()

    def dispatch(self, request: Request) -> Response:
        """Route one request; the whole handling runs under the state lock, so it is atomic."""
        response = self._dispatch(request)
        response.headers.setdefault("x-line-request-id", str(uuid.uuid4()))
        return response

    def _dispatch(self, request: Request) -> Response:
        found = self.route(request)
        if found is None:
            return json_response(HTTPStatus.NOT_FOUND, {"message": "Not found"})
        name, arguments = found
        if name in chat.UNLOCKED:
            # It calls the shop's webhook, which may call back: it takes the lock itself.
            return getattr(self, name)(request, **arguments)
        with self._lock:
            try:
                response = getattr(self, name)(request, **arguments)
            except (ValueError, KeyError, TypeError) as exc:
                # Malformed JSON or a missing field: LINE's answer is a 400, never a crash. Logged,
                # so that a bug of the fake's own does not hide behind it.
                logger.info("fake LINE: %s %s refused", request.method, request.path, exc_info=True)
                response = bad_request(f"The request body has 1 error(s): {exc}", [])
            if not request.path.startswith("/__fake__/") and request.path != "/":
                self._log_request(request, response)
        return response

    def _log_request(self, request: Request, response: Response) -> None:
        content_type = request.headers.get("content-type", "").split(";")[0]
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
                if content_type in LOGGED_BODY_TYPES
                else f"<{len(request.body)} bytes>",
                "status": int(response.status),
                "received_at": now_iso(),
            }
        )
        # A demo left running for days must not grow without bound.
        del self._requests[:-LOG_LIMIT]

    # -- /__fake__/ control endpoints ----------------------------------------------------------------

    def _fake_messages(self, request: Request) -> Response:
        return json_response(HTTPStatus.OK, self._messages)

    def _fake_requests(self, request: Request) -> Response:
        return json_response(HTTPStatus.OK, self._requests)

    def _fake_users(self, request: Request) -> Response:
        return json_response(HTTPStatus.OK, [asdict(user) for user in self.users.values()])

    def _fake_add_user(self, request: Request) -> Response:
        data = request.data()
        user = self.add_user(
            display_name=str(data["display_name"]),
            user_id=data.get("user_id") or None,
            picture_url=data.get("picture_url") or None,
            status_message=str(data.get("status_message", "")),
            email=data.get("email") or None,
            language=str(data.get("language") or "th"),
        )
        return json_response(HTTPStatus.CREATED, asdict(user))

    def _fake_add_channel(self, request: Request) -> Response:
        data = request.data()
        callback_url = data.get("callback_url")
        channel = self.add_channel(
            channel_id=str(data["channel_id"]),
            channel_secret=str(data["channel_secret"]),
            access_token=data.get("access_token") or None,
            callback_urls=(callback_url,) if callback_url else (),
            webhook_url=data.get("webhook_url"),
            name=data.get("name"),
        )
        return json_response(
            HTTPStatus.CREATED,
            {"channel_id": channel.channel_id, "access_tokens": sorted(channel.access_tokens)},
        )

    def _fake_id_token(self, request: Request) -> Response:
        data = request.data()
        token = self.mint_id_token(
            channel_id=str(data.get("channel_id") or data["client_id"]),
            user_id=str(data["user_id"]),
            nonce=data.get("nonce") or None,
            expired=flag(data.get("expired", "")),
            secret=data.get("secret") or None,
            scope=str(data.get("scope") or "profile openid"),
        )
        return json_response(HTTPStatus.OK, {"id_token": token})

    def _fake_reply_token(self, request: Request) -> Response:
        data = request.data()
        token = self.issue_reply_token(
            channel_id=str(data["channel_id"]), user_id=str(data["user_id"])
        )
        return json_response(HTTPStatus.OK, {"replyToken": token})

    def _fake_reset(self, request: Request) -> Response:
        self.reset()
        return json_response(HTTPStatus.OK, {})

    # -- webhooks (the platform calling the shop) ----------------------------------------------------

    def send_webhook(
        self,
        url: str,
        *,
        channel_id: str,
        events: list[dict[str, Any]],
        timeout: float = 5,
    ) -> WebhookDelivery:
        """Post ``events`` to ``url`` as LINE would for a registered channel: signed with its secret,
        ``destination`` its bot's user id. Not under the state lock: the receiver may well call back
        (a reply) before it answers."""
        with self._lock:
            channel = self.channels[str(channel_id)]
        return send_webhook(
            url,
            channel_secret=channel.secret,
            destination=bot_user_id(channel.channel_id),
            events=events,
            timeout=timeout,
        )
