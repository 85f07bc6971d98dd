"""django-q2 jobs of the outbox. Both are safe to run twice: a row is claimed before it is sent,
and a row LINE already took is answered 409 and marked sent."""

from __future__ import annotations

import time

from loyalty.outbox.sender import claim, send

DRAIN_SECONDS = 50  # the drain runs every minute; it stops before the next one starts


def outbox_send(message_id: int) -> str | None:
    """Send one row now if it is due and nobody else is sending it. Returns its new state."""
    row = claim(message_id=message_id)
    if row is None:
        return None
    return send(row).state


def outbox_drain(*, seconds: float = DRAIN_SECONDS) -> int:
    """Every minute: send due rows (back-offs that came due, rows whose worker died, rows whose
    task was lost), oldest first, for up to ``seconds``. Returns how many were tried."""
    deadline = time.monotonic() + seconds
    tried = 0
    while time.monotonic() < deadline:
        row = claim()
        if row is None:
            break
        send(row)
        tried += 1
    return tried
