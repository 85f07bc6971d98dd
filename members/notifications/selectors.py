"""Reads for notices: a shop's settings per kind (kept in the cache, as the earn path reads them
on every credit), whether a LINE user blocked the shop, what expires soon for whom."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone

from members.ledger.models import PointLot
from members.line.models import LineFriend
from members.models import Member
from members.notifications.models import NoticeKind, NotificationSetting
from members.notifications.texts import default_text
from shops.models import Shop

SETTINGS_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Notice:
    """A shop's setting for one kind, with the defaults filled in where the shop has not edited."""

    kind: str
    enabled: bool
    text_th: str
    text_en: str
    days_before: int
    edited_th: bool = False
    edited_en: bool = False

    def text(self, language: str) -> str:
        return self.text_en if language == "en" else self.text_th


def _cache_key(shop: Shop) -> str:
    # The public id rather than the pk: a pk can be used again (tests, a restored database).
    return f"notifications:settings:{shop.public_id}"


def shop_notices(shop: Shop) -> dict[str, Notice]:
    """Every kind's setting for ``shop`` (the default for kinds never saved). Cached per shop for
    ``SETTINGS_CACHE_SECONDS`` and dropped on save (``notification_setting_save``), so the earn
    path reads no row for it; one query when the cache is cold."""
    found = cache.get(_cache_key(shop))
    if found is None:
        rows = {s.kind: s for s in NotificationSetting.objects.filter(shop=shop)}
        found = {kind: _notice(kind, rows.get(kind)) for kind in NoticeKind.values}
        cache.set(_cache_key(shop), found, SETTINGS_CACHE_SECONDS)
    return found


def forget_shop_notices(shop: Shop) -> None:
    cache.delete(_cache_key(shop))


def _notice(kind: str, row: NotificationSetting | None) -> Notice:
    if row is None:
        return Notice(kind, True, default_text(kind, "th"), default_text(kind, "en"), 7)
    return Notice(
        kind,
        row.enabled,
        row.text_th or default_text(kind, "th"),
        row.text_en or default_text(kind, "en"),
        row.days_before,
        edited_th=bool(row.text_th),
        edited_en=bool(row.text_en),
    )


def line_user_blocked(*, shop_id: int, line_user_id: str) -> bool:
    """Whether this LINE user blocked the shop's Official Account (unfollowed): LINE refuses a
    push to them, so the notice is counted as skipped instead of sent."""
    return LineFriend.objects.filter(
        shop_id=shop_id, line_user_id=line_user_id, state=LineFriend.State.BLOCKED
    ).exists()


def next_expiry(member: Member) -> tuple[dt.date | None, int]:
    """The member's next expiry date from today on and the points that expire on it (0 if none)."""
    row = (
        PointLot.objects.filter(
            member=member, remaining__gt=0, expires_on__gte=timezone.localdate()
        )
        .values("expires_on")
        .annotate(points=Sum("remaining"))
        .order_by("expires_on")
        .first()
    )
    return (row["expires_on"], row["points"]) if row else (None, 0)


@dataclass(frozen=True)
class Expiring:
    member: Member
    expires_on: dt.date
    points: int
    blocked: bool


def expiring_for_notice(*, shop: Shop, first: dt.date, last: dt.date) -> list[Expiring]:
    """Registered members of ``shop`` with a LINE id and points expiring on a day in
    ``[first, last]``, one row per member and day, with whether they blocked the shop: three
    queries whatever the number of members. Members who turned notices off are left out."""
    sums = list(
        PointLot.objects.filter(
            shop=shop,
            remaining__gt=0,
            expires_on__gte=first,
            expires_on__lte=last,
            member__status=Member.Status.REGISTERED,
            member__line_user_id__isnull=False,
            member__notices_opt_out=False,
        )
        .values("member_id", "expires_on")
        .annotate(points=Sum("remaining"))
        .order_by("member_id", "expires_on")
    )
    if not sums:
        return []
    members = Member.objects.select_related("shop", "tier").in_bulk(
        {row["member_id"] for row in sums}
    )
    blocked = set(
        LineFriend.objects.filter(
            shop=shop,
            state=LineFriend.State.BLOCKED,
            line_user_id__in=[m.line_user_id for m in members.values()],
        ).values_list("line_user_id", flat=True)
    )
    return [
        Expiring(
            member=members[row["member_id"]],
            expires_on=row["expires_on"],
            points=row["points"],
            blocked=members[row["member_id"]].line_user_id in blocked,
        )
        for row in sums
    ]
