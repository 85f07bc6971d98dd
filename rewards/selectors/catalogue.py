"""Reads of the member's catalogue: what the member can redeem now and, for the rest, why not; one
reward; the member's saved addresses. The Open API's catalogue reads the same visible rewards.

The catalogue is opened often, so its reads are counted (pinned by a test): the visible rewards
(with their free pool codes counted in the same query), their allowed tiers, the member's
redemptions per reward, and the member's open lots — whatever the size of the catalogue. The rules
themselves are ``rewards.rules.refusal_for``; this module only asks it, with what it needs already
loaded, so the page and the redemption never disagree.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.dates import format_display_date
from members.ledger.selectors import PointsSummary, member_points_summary
from members.models import Member
from rewards.models import Redemption, Reward, RewardCode, SavedAddress
from rewards.rules import coupon_validity_days, refusal_for

# Why a member cannot redeem a reward now (``Offer.reason``); "" means they can.
POINTS = "points"
DEBT = "debt"
NOT_YET_OPEN = "not_yet_open"
CLOSED = "closed"
TIER = "tier"
OUT_OF_STOCK = "out_of_stock"
LIMIT = "limit"
UNAVAILABLE = "unavailable"

# refusal_for's error codes → the reason shown on the catalogue
_REASON_OF_CODE = {
    "not_yet_open": NOT_YET_OPEN,
    "closed": CLOSED,
    "tier_not_allowed": TIER,
    "out_of_stock": OUT_OF_STOCK,
    "member_limit_reached": LIMIT,
}
# Catalogue order: redeemable now; then what more points would open; then what opens later; then
# the rest. Within a group, the shop's own order.
_GROUP_OF_REASON = {"": 0, POINTS: 1, DEBT: 1, NOT_YET_OPEN: 2}


# --- the catalogue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """A reward as one member sees it now."""

    reward: Reward
    reason: str  # "" = can redeem now
    message: str  # why not, for the member ("" when they can)
    points_short: int  # more points needed (0 when enough)
    stock_left: int | None  # None = unlimited
    taken: int  # how many times this member has redeemed it
    coupon_days: int  # how long the coupon lasts after redeeming

    @property
    def can_redeem(self) -> bool:
        return not self.reason

    @property
    def opens_at(self) -> dt.datetime | None:
        return self.reward.active_from if self.reason == NOT_YET_OPEN else None


@dataclass(frozen=True)
class Catalogue:
    offers: list[Offer]
    spendable: int  # points the member may spend today
    pending: int  # points still in the shop's return window
    debt: int

    @property
    def redeemable(self) -> list[Offer]:
        return [o for o in self.offers if o.can_redeem]

    @property
    def others(self) -> list[Offer]:
        return [o for o in self.offers if not o.can_redeem]


def catalogue_rewards(shop_id: int, *, now: dt.datetime) -> QuerySet[Reward]:
    """The shop's active rewards inside their visibility window, in the shop's order, with their
    allowed tiers (the Open API's catalogue; the member's adds the free pool codes)."""
    return (
        Reward.objects.filter(shop_id=shop_id, is_active=True)
        .filter(Q(visible_from__isnull=True) | Q(visible_from__lte=now))
        .filter(Q(visible_until__isnull=True) | Q(visible_until__gte=now))
        .prefetch_related("allowed_tiers")
        .order_by("order", "points_cost", "id")
    )


def visible_rewards(member: Member, *, now: dt.datetime) -> QuerySet[Reward]:
    """The member's shop's visible rewards (``catalogue_rewards``) with, in the same query, how
    many pool codes are still free."""
    free_codes = (
        RewardCode.objects.filter(reward=OuterRef("pk"), redemption__isnull=True)
        .order_by()
        .values("reward")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return catalogue_rewards(member.shop_id, now=now).annotate(
        free_codes=Coalesce(Subquery(free_codes, output_field=IntegerField()), 0),
    )


def _taken_by(member: Member, rewards: list[Reward]) -> dict[int, int]:
    """The member's completed redemptions per reward (one grouped query)."""
    rows = (
        Redemption.objects.filter(
            member=member,
            reward_id__in=[r.pk for r in rewards],
            status=Redemption.Status.COMPLETED,
        )
        .order_by()
        .values("reward_id")
        .annotate(n=Count("pk"))
    )
    return {row["reward_id"]: row["n"] for row in rows}


def _offer(
    member: Member, reward: Reward, *, spendable: int, taken: int, now: dt.datetime
) -> Offer:
    shop = member.shop
    stock_left = reward.stock
    if reward.uses_pool:
        free = getattr(reward, "free_codes", 0) or 0
        stock_left = free if stock_left is None else min(stock_left, free)
    reason, message = "", ""
    refusal = refusal_for(member, reward, now=now, taken=taken)
    if refusal is not None:
        reason = _REASON_OF_CODE.get(refusal.code, UNAVAILABLE)
    elif stock_left is not None and stock_left <= 0:
        reason = OUT_OF_STOCK  # a pool with no free code left
    elif member.debt > 0:
        reason = DEBT
    elif spendable < reward.points_cost:
        reason = POINTS
    points_short = max(reward.points_cost - spendable, 0)
    if reason == POINTS:
        # Translators: Thai: ขาดอีก %(points)s พอยท์
        message = _("%(points)s more points") % {"points": f"{points_short:,}"}
    elif reason == DEBT:
        # Translators: Thai: พอยท์ติดลบจากการคืนสินค้า พอยท์ใหม่จะหักส่วนนี้ก่อน
        message = _("Your points are below zero after a refund; new points pay that back first.")
    elif reason == NOT_YET_OPEN:
        when = format_display_date(
            reward.active_from, buddhist_era=shop.use_buddhist_era, with_time=True
        )
        # Translators: Thai: เปิดให้แลก %(date)s
        message = _("Opens on %(date)s") % {"date": when}
    elif reason == CLOSED:
        # Translators: Thai: หมดเขตแลกแล้ว
        message = _("Redemption has closed")
    elif reason == TIER:
        names = ", ".join(sorted(t.name for t in reward.allowed_tiers.all()))
        # Translators: Thai: สำหรับสมาชิกระดับ %(tiers)s
        message = _("For %(tiers)s members only") % {"tiers": names}
    elif reason == OUT_OF_STOCK:
        # Translators: Thai: ของรางวัลหมดแล้ว
        message = _("Out of stock")
    elif reason == LIMIT:
        # Translators: Thai: คุณแลกครบสิทธิ์แล้ว
        message = _("You have used all your redemptions of this reward")
    elif reason == UNAVAILABLE:
        message = str(refusal)
    return Offer(
        reward=reward,
        reason=reason,
        message=message,
        points_short=points_short if reason == POINTS else 0,
        stock_left=stock_left,
        taken=taken,
        coupon_days=coupon_validity_days(reward, shop),
    )


def _offers(
    member: Member, rewards: list[Reward], *, now: dt.datetime
) -> tuple[list[Offer], PointsSummary]:
    summary = member_points_summary(member, today=timezone.localdate(now))
    taken = _taken_by(member, rewards) if rewards else {}
    offers = [
        _offer(member, r, spendable=summary.spendable, taken=taken.get(r.pk, 0), now=now)
        for r in rewards
    ]
    return offers, summary


def member_catalogue(member: Member, *, now: dt.datetime | None = None) -> Catalogue:
    """The rewards the member can see, redeemable ones first, each with why not when it is not
    (``member`` as ``member_required`` loads it, with shop and tier)."""
    now = now or timezone.now()
    rewards = list(visible_rewards(member, now=now))
    offers, summary = _offers(member, rewards, now=now)
    ordered = sorted(
        enumerate(offers), key=lambda pair: (_GROUP_OF_REASON.get(pair[1].reason, 3), pair[0])
    )
    return Catalogue(
        offers=[offer for _i, offer in ordered],
        spendable=summary.spendable,
        pending=summary.pending,
        debt=member.debt,
    )


def member_offer(
    member: Member, public_id: uuid.UUID, *, now: dt.datetime | None = None
) -> Offer | None:
    """One visible reward of the member's shop as the member sees it, or None (another shop's
    reward, a hidden one and a made-up id all look the same)."""
    now = now or timezone.now()
    reward = visible_rewards(member, now=now).filter(public_id=public_id).first()
    if reward is None:
        return None
    offers, _summary = _offers(member, [reward], now=now)
    return offers[0]


def reward_by_public_id(*, shop_id: int, public_id: uuid.UUID) -> Reward | None:
    """The shop's reward with this public id, shown or not, active or not (the redemption decides
    whether it can be redeemed), or None for another shop's or a made-up id."""
    return Reward.objects.filter(shop_id=shop_id, public_id=public_id).first()


def member_addresses(member: Member, *, limit: int = 5) -> list[SavedAddress]:
    """The member's saved delivery addresses, newest first."""
    return list(SavedAddress.objects.filter(member=member, shop_id=member.shop_id)[:limit])
