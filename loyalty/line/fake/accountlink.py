"""LINE's account-link dialog on the fake platform, and the channel's webhook URL it reports to.

The real flow (developers.line.biz, "Linking user accounts"): the bot issues a link token for a
user (``POST /v2/bot/user/{userId}/linkToken``, in ``messaging``); the shop's own page checks who
the person is and sends the browser to ``https://access.line.me/dialog/bot/accountLink?linkToken=
…&nonce=…``; LINE then posts an ``accountLink`` event (``link: {result: "ok", nonce}``, or
``"failed"`` for a bad or used token) to the channel's webhook URL. Here the dialog does the same:
it checks the link token (known, unexpired, unused), posts the signed event to the URL set for
the channel with ``PUT /v2/bot/channel/webhook/endpoint`` (LINE's "Set webhook endpoint URL", the
console's "Webhook URL"), and shows a "linked" page.

The event is posted while the server's state lock is held (every handler runs under it): the
shop's webhook only stores the event and answers, it never calls back into LINE first.
"""

from __future__ import annotations

import html
import time
from http import HTTPStatus

from loyalty.fake_http import Request, Response, html_response, json_response, routes
from loyalty.line.fake.state import LineState, bad_request
from loyalty.line.fake.webhooks import bot_user_id, event, send_webhook

ROUTES = routes(
    ("PUT", r"/v2/bot/channel/webhook/endpoint", "_set_webhook_endpoint"),
    ("GET", r"/v2/bot/channel/webhook/endpoint", "_get_webhook_endpoint"),
    ("GET", r"/dialog/bot/accountLink", "_account_link_dialog"),
)


class AccountLinkEndpoints(LineState):
    """The webhook URL per Messaging API channel, and the account-link dialog that uses it."""

    def set_webhook_endpoint(self, channel_id: str, url: str) -> None:
        """Python control: the URL the channel's events go to (as the console's Webhook URL)."""
        with self._lock:
            self.channels[str(channel_id)].webhook_url = url

    def _set_webhook_endpoint(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        endpoint = str(request.data()["endpoint"])
        if not endpoint.startswith(("https://", "http://")) or len(endpoint) > 500:
            return bad_request("Invalid webhook endpoint URL")
        channel.webhook_url = endpoint
        return json_response(HTTPStatus.OK, {})

    def _get_webhook_endpoint(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        endpoint = channel.webhook_url
        return json_response(HTTPStatus.OK, {"endpoint": endpoint, "active": bool(endpoint)})

    def _account_link_dialog(self, request: Request) -> Response:
        link_token = request.query.get("linkToken", "")
        nonce = request.query.get("nonce", "")
        issued = self._link_tokens.pop(link_token, None)
        if not nonce:
            return _page(HTTPStatus.BAD_REQUEST, "ลิงก์ไม่ถูกต้อง · The link is not valid.")
        if issued is None or issued["expires_at"] < time.time():
            return _page(
                HTTPStatus.BAD_REQUEST,
                "ลิงก์หมดอายุหรือถูกใช้แล้ว · The link has expired or was used.",
            )
        channel = self.channels[issued["channel_id"]]
        url = channel.webhook_url
        if not url:
            return _page(HTTPStatus.BAD_REQUEST, "ยังไม่ได้ตั้ง Webhook URL · No webhook URL set.")
        linked = event(
            "accountLink",
            user_id=issued["user_id"],
            replyToken=self.issue_reply_token(
                channel_id=channel.channel_id, user_id=issued["user_id"]
            ),
            link={"result": "ok", "nonce": nonce},
        )
        delivery = send_webhook(
            url,
            channel_secret=channel.secret,
            destination=bot_user_id(channel.channel_id),
            events=[linked],
        )
        if delivery.status != HTTPStatus.OK:
            return _page(HTTPStatus.BAD_GATEWAY, "ร้านค้าไม่ตอบรับ · The shop did not answer.")
        return _page(HTTPStatus.OK, "เชื่อมบัญชีแล้ว · Your accounts are linked.")


def _page(status: int, text: str) -> Response:
    body = (
        '<!doctype html><html lang="th"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>LINE</title><body><main><h1>{html.escape(text)}</h1></main></body></html>"
    )
    return html_response(status, body)
