"""The demo's campaigns (used by ``seed_demo``): a purchase history spread over the past eleven
months, RFM scores, saved segments of the kinds shops use most, and broadcasts (sent with their
results, a coupon push, a scheduled one and a draft).

The demo's purchases are made through the real earning service, all on the day the demo is seeded;
RFM needs visits at different times, so the purchase rows' times (not the ledger's entries, whose
lots and expiry dates stay as earned) are spread over the past eleven months, most recent for the
regulars. Everything here runs once: a shop that already has segments is left alone.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.conf import settings
from django.db.models import Count
from django.test.utils import override_settings
from django.utils import timezone

from shops.models import Branch, Shop, Tag, Tier

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
    from members.ledger.visits import visits_refresh
    from members.models import Member

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
    visits_refresh(Member.objects.filter(shop=shop))  # the last visits moved with them


def seed_broadcasts(shop: Shop, segments: list) -> None:
    """See ``_seed_broadcasts``; links in the messages are made on the demo's address (``make run``
    sets ``SITE_URL`` only for the processes it starts, after seeding), as the welcome message's."""
    with override_settings(SITE_URL=settings.SITE_URL or "http://127.0.0.1:8000"):
        _seed_broadcasts(shop, segments)


def _seed_broadcasts(shop: Shop, segments: list) -> None:
    """Marketing consent for most registered members (as their sign-up would have recorded it),
    SMS settings (sender name, a monthly budget), then four broadcasts: one sent to every member
    (LINE where it can, SMS to the others) with a 10 % hold-out, visits and taps after it; a
    coupon push to the VIPs (three coupons already used); one scheduled for tomorrow morning and
    one draft."""
    from campaigns.broadcasts.models import Broadcast
    from campaigns.broadcasts.services import broadcast_save
    from campaigns.sms.services import sms_settings_save

    if Broadcast.objects.filter(shop=shop).exists():
        return
    _consents(shop)
    sms_settings_save(shop=shop, sender_name="CAFEAROI", monthly_budget=1000)
    by_name = {s.name: s.pk for s in segments}
    sent = broadcast_save(
        shop=shop,
        name="ลาเต้ซื้อ 1 แถม 1 สัปดาห์นี้",
        segment_ids=[by_name["สมาชิกทั้งหมด"]],
        messages=[
            {
                "type": "text",
                "text": "สวัสดีคุณ{name} ☕ ลาเต้ซื้อ 1 แถม 1 ทุกสาขาถึงวันอาทิตย์นี้ "
                "คุณมี {balance} พอยท์ที่ {shop}",
            },
            {"type": "card", "template": "balance"},
            {"type": "link", "page": "rewards", "label": "ดูของรางวัล", "tags": []},
        ],
        sms_text="{shop}: ลาเต้ซื้อ 1 แถม 1 ถึงวันอาทิตย์นี้ คุณมี {balance} พอยท์",
        holdout_percent=10,
        attribution_days=7,
    )
    if _send(sent):
        _visits_after(shop, sent)
        _taps(sent)
    _coupon_push(shop, by_name["ลูกค้า VIP"])
    tomorrow = timezone.localdate() + DAY
    scheduled = broadcast_save(
        shop=shop,
        name="ชวนลูกค้าที่หายไปกลับมา",
        segment_ids=[by_name["เสี่ยงหาย ต้องดึงกลับ"]],
        messages=[{"type": "text", "text": "คิดถึงคุณ{name} แวะมารับกาแฟแก้วโปรดที่ {shop} นะคะ"}],
        sms_text="{shop}: คิดถึงคุณ{name} แวะมารับกาแฟแก้วโปรดนะคะ",
        send_at=timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(10, 0))),
    )
    _confirm(scheduled)
    broadcast_save(
        shop=shop,
        name="สุขสันต์วันเกิด (ร่าง)",
        segment_ids=[by_name["เกิดเดือนนี้"]],
        messages=[{"type": "text", "text": "สุขสันต์วันเกิดคุณ{name} 🎂 รับเค้กฟรี 1 ชิ้นที่ {shop}"}],
    )


def _confirm(broadcast) -> bool:
    """Confirm the count the confirm step shows; a broadcast nobody can get (no SMS gateway set
    up, say) stays a draft."""
    from campaigns.broadcasts.reach import broadcast_estimate
    from campaigns.broadcasts.services import broadcast_confirm

    estimate = broadcast_estimate(broadcast)
    if not estimate.line + estimate.sms:
        return False
    broadcast_confirm(broadcast=broadcast, recipients=estimate.line + estimate.sms)
    return True


def _send(broadcast) -> bool:
    """Confirm and run the sending job now (the demo's cluster then delivers what it queued)."""
    from campaigns.broadcasts.services import broadcast_send

    if not _confirm(broadcast):
        return False
    broadcast_send(broadcast.pk)
    return True


def _consents(shop: Shop) -> None:
    """Seven in ten registered members said yes to marketing messages when they signed up (the
    members bound to the demo's LINE users among them)."""
    from members.models import Member
    from members.signup.models import ConsentRecord
    from members.signup.services import member_marketing_consent_set

    rng = random.Random(16)
    for member in Member.objects.filter(shop=shop, status=Member.Status.REGISTERED).order_by("pk"):
        if member.line_user_id or rng.random() < 0.7:
            member_marketing_consent_set(
                member=member, granted=True, method=ConsentRecord.Method.SIGNUP
            )


def _visits_after(shop: Shop, broadcast) -> None:
    """Some recipients (and some of the hold-out) came back in the days after: the results page
    compares the two."""
    from campaigns.broadcasts.models import BroadcastRecipient
    from members.ledger.actors import Actor
    from members.ledger.services import points_earn

    rng = random.Random(17)
    rows = BroadcastRecipient.objects.filter(broadcast=broadcast).select_related("member")
    for row in rows.order_by("pk"):
        came = 0.35 if row.state == BroadcastRecipient.State.QUEUED else 0.2
        if row.state == BroadcastRecipient.State.SKIPPED or rng.random() > came:
            continue
        points_earn(
            shop=shop,
            member=row.member,
            amount=Decimal(rng.choice([120, 185, 240, 360])),
            idempotency_key=f"demo:after-broadcast:{row.member.public_id}",
            actor=Actor.system(),
            receipt_no=f"B{row.member.pk:05d}",
        )


def _taps(broadcast) -> None:
    """Recipients on LINE tapped the "rewards" button (as the tracked redirect records it)."""
    from campaigns.broadcasts.models import BroadcastRecipient
    from campaigns.links.models import TrackedLink
    from campaigns.links.services import link_click_record

    link = TrackedLink.objects.filter(source=broadcast.source).first()
    if link is None:  # the shop has no LINE Login: links open directly and are not counted
        return
    queued = BroadcastRecipient.objects.filter(
        broadcast=broadcast, state=BroadcastRecipient.State.QUEUED, channel="line"
    ).select_related("member")
    for row in queued.order_by("pk"):
        link_click_record(link=link, member=row.member)


def _coupon_push(shop: Shop, segment_id: int) -> None:
    """A free iced Americano for the VIP members (a coupon each, with a coupon card), and three of
    them already used at the counter."""
    from campaigns.broadcasts.models import BroadcastRecipient
    from campaigns.broadcasts.services import broadcast_save
    from members.ledger.actors import Actor
    from rewards.models import Reward
    from rewards.services.coupons import coupon_use

    reward = Reward.objects.filter(shop=shop, kind=Reward.Kind.AUTO_CODE).order_by("pk").first()
    push = broadcast_save(
        shop=shop,
        name="คูปองอเมริกาโน่เย็นฟรีสำหรับ VIP",
        segment_ids=[segment_id],
        messages=[
            {"type": "text", "text": "ขอบคุณคุณ{name} ที่เป็นลูกค้า VIP ของ {shop} รับอเมริกาโน่เย็นฟรี 1 แก้ว"},
            {"type": "card", "template": "coupon"},
        ],
        sms_text="{shop}: ขอบคุณลูกค้า VIP รับอเมริกาโน่เย็นฟรี 1 แก้ว",
        coupon_reward_id=reward.pk,
    )
    if not _send(push):
        return
    given = BroadcastRecipient.objects.filter(broadcast=push, coupon__isnull=False)
    branch = Branch.objects.filter(shop=shop).order_by("pk").first()
    for row in given.select_related("coupon").order_by("pk")[:3]:
        coupon_use(shop=shop, code=row.coupon.code, branch=branch, actor=Actor.system())
