"""Reads of the outbox."""

from __future__ import annotations

from django.db.models import Count, QuerySet, Sum

from loyalty.outbox.models import OutboxMessage


def outbox_for_shop(*, shop_id: int | None) -> QuerySet[OutboxMessage]:
    """The outbox rows a back-office user sees: their shop's, or every shop's (shop_id None)."""
    rows = OutboxMessage.objects.select_related("shop")
    return rows if shop_id is None else rows.filter(shop_id=shop_id)


def outbox_totals(*, shop_id: int) -> dict[str, dict[str, int]]:
    """Per state: rows, recipients sent and recipients skipped (the outbox's summary)."""
    totals = (
        OutboxMessage.objects.filter(shop_id=shop_id)
        .values("state")
        .annotate(rows=Count("pk"), sent=Sum("sent_count"), skipped=Sum("skipped_count"))
    )
    return {
        t["state"]: {"rows": t["rows"], "sent": t["sent"] or 0, "skipped": t["skipped"] or 0}
        for t in totals
    }
