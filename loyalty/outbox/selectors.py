"""Reads of the outbox."""

from __future__ import annotations

from django.db.models import Count, Sum

from loyalty.outbox.models import OutboxMessage


def outbox_totals(*, shop_id: int | None) -> dict[str, dict[str, int]]:
    """Per state: rows, recipients sent and recipients skipped (the outbox page's summary), for
    one shop or, with ``shop_id`` None, every shop (the platform operator)."""
    rows = OutboxMessage.objects.all()
    if shop_id is not None:
        rows = rows.filter(shop_id=shop_id)
    totals = (
        rows.order_by()
        .values("state")
        .annotate(rows=Count("pk"), sent=Sum("sent_count"), skipped=Sum("skipped_count"))
    )
    return {
        t["state"]: {"rows": t["rows"], "sent": t["sent"] or 0, "skipped": t["skipped"] or 0}
        for t in totals
    }
