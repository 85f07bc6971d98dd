"""django-q2 jobs of broadcasts (both safe to run twice, see ``services``)."""

from __future__ import annotations

from campaigns.broadcasts.services import broadcast_send as _send
from campaigns.broadcasts.services import broadcasts_due


def broadcast_send(broadcast_id: int) -> dict:
    return _send(broadcast_id)


def send_due_broadcasts() -> int:
    """Every minute: scheduled broadcasts whose time came, and any a killed job left half sent."""
    return broadcasts_due()
