"""How long LINE webhook events are kept: ``LINE_WEBHOOK_EVENT_RETENTION_DAYS`` after they arrive.

A stored event holds LINE's raw JSON (user ids, the text members typed), so it is personal data
with a retention period (PDPA). Once processed, its effect lives elsewhere (``LineFriend``, a
member's binding); the row itself is only needed to recognise LINE's redeliveries, which stop
within a day or so. A daily job deletes events that were processed, had no handler or failed,
never those still waiting for their task.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from members.line.models import WebhookEvent

PURGE_BATCH = 2000


def webhook_events_purge(*, now: dt.datetime | None = None, batch_size: int = PURGE_BATCH) -> int:
    """Delete webhook events received more than ``LINE_WEBHOOK_EVENT_RETENTION_DAYS`` ago whose
    outcome is final (processed, no handler, failed); waiting ones stay, however old. Deletes in
    batches of ``batch_size`` so a busy table is never locked for long. Safe to run twice.
    Returns how many rows were deleted."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.LINE_WEBHOOK_EVENT_RETENTION_DAYS)
    old = WebhookEvent.objects.filter(received_at__lt=cutoff).exclude(
        outcome=WebhookEvent.Outcome.PENDING
    )
    deleted = 0
    while True:
        batch = list(old.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        deleted += WebhookEvent.objects.filter(pk__in=batch).delete()[0]
