"""The demo's campaigns (used by ``seed_demo``): a purchase history spread over the past eleven
months, RFM scores, saved segments of the kinds shops use most, and a broadcast that was sent.

The demo's purchases are made through the real earning service, all on the day the demo is seeded;
RFM needs visits at different times, so the purchase rows' times (not the ledger's entries, whose
lots and expiry dates stay as earned) are spread over the past eleven months, most recent for the
regulars. Everything here runs once: a shop that already has segments is left alone.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Count
from django.utils import timezone

from shops.models import Shop, Tag, Tier

DAY = dt.timedelta(days=1)


def seed_segments(shop: Shop, tags: list[Tag], tiers: list[Tier]) -> list:
    """Spread the purchase times, score RFM and save the demo's segments (once)."""
    from campaigns.segments.models import Segment
    from campaigns.segments.services import rfm_refresh, segment_create

    if Segment.objects.filter(shop=shop).exists():
        return list(Segment.objects.filter(shop=shop).order_by("pk"))
    _spread_purchases(shop)
    rfm_refresh(shop_id=shop.pk)
    by_name = {t.name: t.pk for t in tags}
    gold_up = [t.pk for t in tiers if t.threshold > 0]
    today = timezone.localdate()
    segments = []
    for name, conditions in [
        ("ลูกค้า VIP", [{"kind": "tags", "mode": "any", "tags": [by_name["VIP"]]}]),
        (
            "Gold ขึ้นไป พอยท์ 500+",
            [{"kind": "tier", "tiers": gold_up}, {"kind": "balance", "min": 500}],
        ),
        ("เกิดเดือนนี้", [{"kind": "birth_month", "months": [today.month]}]),
        (
            "เสี่ยงหาย ต้องดึงกลับ",
            [{"kind": "rfm", "groups": ["at_risk", "cant_lose", "about_to_sleep"]}],
        ),
        (
            "ซื้อลาเต้ใน 90 วัน",
            [
                {
                    "kind": "purchased",
                    "mode": "any",
                    "products": ["LAT", "มัทฉะลาเต้"],
                    "since": (today - 90 * DAY).isoformat(),
                }
            ],
        ),
        ("ยังไม่ผูก LINE", [{"kind": "bound", "bound": False}]),
        ("สมาชิกทั้งหมด", [{"kind": "all"}]),
    ]:
        segments.append(segment_create(shop=shop, name=name, conditions=conditions))
    return segments


def _spread_purchases(shop: Shop) -> None:
    """Move each member's purchases back in time: a regular's visits every week or two up to
    today, an occasional customer's a few months apart, ending anywhere in the past 11 months."""
    from members.ledger.models import Purchase

    rng = random.Random(15)
    now = timezone.now()
    visits = (
        Purchase.objects.filter(shop=shop, member__isnull=False)
        .values("member_id")
        .annotate(n=Count("pk"))
        .order_by("member_id")
    )
    for row in visits:
        last = rng.choice([2, 5, 12, 20, 45, 70, 100, 150, 200, 260, 330])
        if row["n"] >= 8:
            last = rng.choice([1, 3, 6, 40, 120])
        gap = 10 if row["n"] >= 8 else 35
        purchases = Purchase.objects.filter(shop=shop, member_id=row["member_id"]).order_by("-pk")
        for number, purchase in enumerate(purchases):
            days = min(last + number * rng.randint(gap // 2, gap), 335)
            Purchase.objects.filter(pk=purchase.pk).update(
                created_at=now - days * DAY - dt.timedelta(minutes=rng.randint(0, 600))
            )
