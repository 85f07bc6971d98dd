"""django-q2 entry points of the LINE webhook: take ids (or nothing), call one service; safe twice."""

from members.line.retention import webhook_events_purge
from members.line.services import webhook_events_process


def process_webhook_events(shop_id: int, event_ids: list[int]) -> dict:
    """Process the events one webhook request stored (follow/unfollow, routed handlers)."""
    return webhook_events_process(shop_id=shop_id, event_ids=event_ids)


def purge_webhook_events() -> int:
    """Daily: delete webhook events past LINE_WEBHOOK_EVENT_RETENTION_DAYS, never waiting ones."""
    return webhook_events_purge()
