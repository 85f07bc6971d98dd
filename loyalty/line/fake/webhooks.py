"""The fake LINE platform calling the shop: signed webhook events posted to a URL.

LINE delivers events (a message, a follow, a postback...) by POSTing a ``CallbackRequest`` JSON
body, ``{"destination": <the bot's user id>, "events": [...]}``, to the channel's webhook URL, with
``X-Line-Signature``: the base64 HMAC-SHA256 of the raw body under the channel secret. Every event
carries a ``webhookEventId`` (a ULID, the same on a redelivery) and ``deliveryContext.isRedelivery``
(shapes as in LINE's ``webhook.yml``, github.com/line/line-openapi).

The event builders make the common events; ``send_webhook`` signs and posts them and reports what
the receiver answered. ``redelivered(events)`` gives the same events as LINE's redelivery sends them
(same ids, ``isRedelivery`` true), which is what an idempotent receiver must recognise.
``FakeLineServer.send_webhook`` does the same with a registered channel's secret and bot id.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

# Crockford's base32, the ULID alphabet.
_ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def webhook_event_id(at_ms: int | None = None) -> str:
    """A ULID as LINE's ``webhookEventId`` is: 48 bits of milliseconds, 80 random bits, 26 chars."""
    millis = int(time.time() * 1000) if at_ms is None else at_ms
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_ULID_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))


def bot_user_id(channel_id: str) -> str:
    """The fake's user id for a channel's bot (``destination``): fixed per channel id."""
    return "U" + hashlib.sha256(f"bot:{channel_id}".encode()).hexdigest()[:32]


def signature_for(body: bytes, channel_secret: str) -> str:
    """``X-Line-Signature`` for a body: base64 of its HMAC-SHA256 under the channel secret."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def event(kind: str, *, user_id: str, **fields: Any) -> dict[str, Any]:
    """One webhook event from a user (``source.type`` user) with the fields every event has."""
    now_ms = int(time.time() * 1000)
    return {
        "type": kind,
        "mode": "active",
        "timestamp": now_ms,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": webhook_event_id(now_ms),
        "deliveryContext": {"isRedelivery": False},
        **fields,
    }


def message_event(*, user_id: str, text: str, reply_token: str | None = None) -> dict[str, Any]:
    """A user sent the bot a text message."""
    message = {
        "type": "text",
        "id": str(secrets.randbelow(10**17) + 10**17),
        "quoteToken": secrets.token_urlsafe(24),
        "text": text,
    }
    fields: dict[str, Any] = {"message": message}
    if reply_token:
        fields["replyToken"] = reply_token
    return event("message", user_id=user_id, **fields)


def follow_event(*, user_id: str, reply_token: str, is_unblocked: bool = False) -> dict[str, Any]:
    """A user added the account as a friend (or unblocked it)."""
    return event(
        "follow", user_id=user_id, replyToken=reply_token, follow={"isUnblocked": is_unblocked}
    )


def unfollow_event(*, user_id: str) -> dict[str, Any]:
    """A user blocked the account; LINE gives no reply token for it."""
    return event("unfollow", user_id=user_id)


def postback_event(
    *,
    user_id: str,
    data: str,
    reply_token: str | None = None,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A user tapped a postback action (a rich-menu area, a button)."""
    postback: dict[str, Any] = {"data": data}
    if params:
        postback["params"] = params
    fields: dict[str, Any] = {"postback": postback}
    if reply_token:
        fields["replyToken"] = reply_token
    return event("postback", user_id=user_id, **fields)


def redelivered(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same events as LINE redelivers them: same ``webhookEventId``, ``isRedelivery`` true."""
    again = copy.deepcopy(events)
    for item in again:
        item["deliveryContext"] = {"isRedelivery": True}
    return again


@dataclass
class WebhookDelivery:
    """What was posted and what the receiver answered (``status`` 0: it could not be reached)."""

    status: int
    response_body: bytes
    body: bytes
    signature: str

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


def send_webhook(
    url: str,
    *,
    channel_secret: str,
    destination: str,
    events: list[dict[str, Any]],
    timeout: float = 5,
) -> WebhookDelivery:
    """POST ``events`` to ``url`` signed as LINE signs them; an error status is returned, not raised.

    An empty ``events`` list is LINE's "Verify" button: a signed body the receiver must answer 200.
    """
    body = json.dumps(
        {"destination": destination, "events": events}, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    signature = signature_for(body, channel_secret)
    request = urllib.request.Request(  # noqa: S310 (the test or demo gives the URL)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Line-Signature": signature,
            "User-Agent": "LineBotWebhook/2.0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return WebhookDelivery(response.status, response.read(), body, signature)
    except urllib.error.HTTPError as error:
        return WebhookDelivery(error.code, error.read(), body, signature)
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return WebhookDelivery(0, b"", body, signature)
