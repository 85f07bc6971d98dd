"""Full webhook payloads as LINE sends them (every field of webhook.yml's schemas that LINE fills
for a one-to-one chat), not the minimal ones: the SDK's models must accept each as its typed event.
"""

from __future__ import annotations

import json
from typing import Any

from loyalty.line.fake.webhooks import signature_for, webhook_event_id

BOT = "U" + "b" * 32


def _base(kind: str, *, user_id: str, at_ms: int, event_id: str | None = None) -> dict[str, Any]:
    return {
        "type": kind,
        "mode": "active",
        "timestamp": at_ms,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id or webhook_event_id(at_ms),
        "deliveryContext": {"isRedelivery": False},
    }


def follow(*, user_id: str, at_ms: int, unblocked: bool = False, **kw) -> dict[str, Any]:
    return {
        **_base("follow", user_id=user_id, at_ms=at_ms, **kw),
        "replyToken": "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
        "follow": {"isUnblocked": unblocked},
    }


def unfollow(*, user_id: str, at_ms: int, **kw) -> dict[str, Any]:
    return _base("unfollow", user_id=user_id, at_ms=at_ms, **kw)


def text_message(*, user_id: str, at_ms: int, text: str = "สวัสดี @shop", **kw) -> dict[str, Any]:
    return {
        **_base("message", user_id=user_id, at_ms=at_ms, **kw),
        "replyToken": "b60d432864f44d079f6d8efe86cf404b",
        "message": {
            "id": "444573844083572737",
            "type": "text",
            "quoteToken": "q3Plxr4AgKd4WvrKn8a3qgSkMjCl4Agsdq-Dn2Kx-hCjsyCLrmyO5XKt9TrS_RN9",
            "markAsReadToken": "30yhdy232...Z0aW",
            "text": text,
            "emojis": [
                {"index": 0, "length": 6, "productId": "5ac1bfd5040ab15980c9b435", "emojiId": "001"}
            ],
            "mention": {
                "mentionees": [
                    {
                        "index": len(text) - 5,
                        "length": 5,
                        "type": "user",
                        "userId": BOT,
                        "isSelf": True,
                    }
                ]
            },
        },
    }


def postback(*, user_id: str, at_ms: int, data: str = "action=card", **kw) -> dict[str, Any]:
    return {
        **_base("postback", user_id=user_id, at_ms=at_ms, **kw),
        "replyToken": "b60d432864f44d079f6d8efe86cf404b",
        "postback": {"data": data, "params": {"datetime": "2026-12-03T10:00"}},
    }


def signed(events: list[dict[str, Any]], secret: str) -> tuple[bytes, str]:
    """The body and ``X-Line-Signature`` LINE would send (as the fake's sender builds them)."""
    body = json.dumps(
        {"destination": BOT, "events": events}, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    return body, signature_for(body, secret)
