"""django-q2 entry point of the LINE webhook: take the stored ids, call one service; safe twice."""

from members.line.services import webhook_events_process


def process_webhook_events(shop_id: int, event_ids: list[int]) -> dict:
    """Process the events one webhook request stored (follow/unfollow, routed handlers)."""
    return webhook_events_process(shop_id=shop_id, event_ids=event_ids)
