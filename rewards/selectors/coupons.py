"""Reads of the member's coupons: the tabs (active, used, expired, cancelled) with their counts, a
tab's coupons, one coupon; and a member's coupons for the Open API."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from members.models import Member
from rewards.models import Coupon, Redemption
from rewards.selectors.redemptions import snapshot_image_url

ACTIVE, USED, EXPIRED, CANCELLED = "active", "used", "expired", "cancelled"
COUPON_TABS = (ACTIVE, USED, EXPIRED, CANCELLED)


def _tab_filter(tab: str, today: dt.date) -> Q:
    # An issued coupon past its last day is expired for the member even before the nightly job
    # marks it so.
    issued = Q(status=Coupon.Status.ISSUED)
    return {
        ACTIVE: issued & Q(expires_on__gte=today),
        USED: Q(status=Coupon.Status.USED),
        EXPIRED: Q(status=Coupon.Status.EXPIRED) | (issued & Q(expires_on__lt=today)),
        CANCELLED: Q(status=Coupon.Status.CANCELLED),
    }[tab]


def coupon_state(coupon: Coupon, *, today: dt.date | None = None) -> str:
    """The coupon's tab: active, used, expired or cancelled."""
    today = today or timezone.localdate()
    if coupon.status == Coupon.Status.ISSUED:
        return ACTIVE if coupon.expires_on >= today else EXPIRED
    return {
        Coupon.Status.USED: USED,
        Coupon.Status.EXPIRED: EXPIRED,
        Coupon.Status.CANCELLED: CANCELLED,
    }[coupon.status]


@dataclass(frozen=True)
class CouponLine:
    coupon: Coupon
    state: str
    image_url: str  # the redemption's snapshot, not the live reward

    @property
    def redemption(self) -> Redemption:
        return self.coupon.redemption


def _coupons(member: Member) -> QuerySet[Coupon]:
    return Coupon.objects.filter(member=member, shop_id=member.shop_id)


def member_coupon_counts(member: Member, *, today: dt.date | None = None) -> dict[str, int]:
    """How many of the member's coupons are in each tab (one query)."""
    today = today or timezone.localdate()
    counts = _coupons(member).aggregate(
        **{tab: Count("pk", filter=_tab_filter(tab, today)) for tab in COUPON_TABS}
    )
    return {tab: counts[tab] or 0 for tab in COUPON_TABS}


def member_coupons(
    member: Member, *, tab: str = ACTIVE, today: dt.date | None = None, limit: int = 100
) -> list[CouponLine]:
    """The member's coupons of one tab: active ones by the day they run out (soonest first),
    the others newest first."""
    today = today or timezone.localdate()
    order = ("expires_on", "-created_at") if tab == ACTIVE else ("-created_at",)
    coupons = (
        _coupons(member)
        .filter(_tab_filter(tab, today))
        .select_related("redemption")
        .order_by(*order)[:limit]
    )
    return [
        CouponLine(c, coupon_state(c, today=today), snapshot_image_url(c.redemption.reward_image))
        for c in coupons
    ]


def member_coupon(member: Member, redemption_id: uuid.UUID) -> Coupon | None:
    """The member's coupon of a redemption (by its public id), or None for anyone else's."""
    return (
        _coupons(member)
        .filter(redemption__public_id=redemption_id)
        .select_related("redemption", "redemption__reward", "used_branch")
        .first()
    )


def coupons_of_member(member: Member, *, limit: int = 200) -> list[Coupon]:
    """The member's coupons, newest first, with their redemption and used branch (the Open API)."""
    return list(
        Coupon.objects.filter(member=member).select_related("redemption", "used_branch")[:limit]
    )
