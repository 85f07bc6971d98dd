"""django-q2 jobs of SMS (safe to run twice, and at once: see ``sender``)."""

from __future__ import annotations

from campaigns.sms.sender import sms_drain


def sms_send_queued(shop_id: int | None = None) -> int:
    """Every minute, and right after messages are queued: send what waits and the budget allows
    (held messages included, once the month or the budget changed)."""
    return sms_drain(shop_id=shop_id)
