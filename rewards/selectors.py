"""Reads of the member's reward pages: the catalogue (what the member can redeem now and, for the
rest, why not), one reward, my coupons by tab, my deliveries, the open counter code.

The catalogue is opened often, so its reads are counted (pinned by a test): the visible rewards
(with their free pool codes counted in the same query), their allowed tiers, the member's
redemptions per reward, and the member's open lots — whatever the size of the catalogue. The rules
themselves are ``rewards.rules.refusal_for``; this module only asks it, with what it needs
already loaded, so the page and the redemption never disagree.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.dates import format_display_date
from members.ledger.owners import EntryOwner
from members.ledger.selectors import PointsSummary, member_points_summary
from members.models import Member
from rewards.models import Coupon, Delivery, Redemption, Reward, RewardCode, SavedAddress, SpotCode
from rewards.rules import (
    REDEMPTION_OWNER,
    SPOT_CODE_LIFETIME,
    coupon_validity_days,
    redemption_cancel_refusal,
    refusal_for,
)

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


def media_url(name: str | None) -> str:
    """The public URL of a stored file name (a snapshot keeps only the name), or ""."""
    return default_storage.url(name) if name else ""


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


def visible_rewards(member: Member, *, now: dt.datetime) -> QuerySet[Reward]:
    """The member's shop's active rewards inside their visibility window, in the shop's order,
    with their allowed tiers and (in the same query) how many pool codes are still free."""
    free_codes = (
        RewardCode.objects.filter(reward=OuterRef("pk"), redemption__isnull=True)
        .order_by()
        .values("reward")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Reward.objects.filter(shop_id=member.shop_id, is_active=True)
        .filter(Q(visible_from__isnull=True) | Q(visible_from__lte=now))
        .filter(Q(visible_until__isnull=True) | Q(visible_until__gte=now))
        .annotate(
            free_codes=Coalesce(Subquery(free_codes, output_field=IntegerField()), 0),
        )
        .prefetch_related("allowed_tiers")
        .order_by("order", "points_cost", "id")
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


def member_reward(member: Member, public_id: uuid.UUID) -> Reward | None:
    """The member's shop's reward with this public id, shown or not (the counter page's status
    keeps answering after a reward is hidden), or None for another shop's."""
    return Reward.objects.filter(shop_id=member.shop_id, public_id=public_id).first()


def member_addresses(member: Member, *, limit: int = 5) -> list[SavedAddress]:
    """The member's saved delivery addresses, newest first."""
    return list(SavedAddress.objects.filter(member=member, shop_id=member.shop_id)[:limit])


# --- coupons --------------------------------------------------------------------------------------

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
        CouponLine(c, coupon_state(c, today=today), media_url(c.redemption.reward_image))
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


# --- deliveries -----------------------------------------------------------------------------------

DELIVERY_STEPS = (
    Delivery.Status.PENDING,
    Delivery.Status.PREPARING,
    Delivery.Status.SHIPPED,
    Delivery.Status.DELIVERED,
)


@dataclass(frozen=True)
class DeliveryStep:
    status: str
    label: str
    at: dt.datetime | None
    done: bool
    current: bool


def delivery_steps(delivery: Delivery) -> list[DeliveryStep]:
    """The delivery's progress as steps (waiting → preparing → shipped → delivered), each with
    when it happened. A step skipped by the shop (e.g. handed over in the store) counts as done."""
    labels = {
        # Translators: Thai: รอดำเนินการ
        Delivery.Status.PENDING: _("Order received"),
        # Translators: Thai: กำลังเตรียมของ
        Delivery.Status.PREPARING: _("Preparing"),
        # Translators: Thai: จัดส่งแล้ว
        Delivery.Status.SHIPPED: _("Shipped"),
        # Translators: Thai: ได้รับแล้ว
        Delivery.Status.DELIVERED: _("Delivered"),
    }
    times = {
        Delivery.Status.PENDING: delivery.created_at,
        Delivery.Status.PREPARING: delivery.preparing_at,
        Delivery.Status.SHIPPED: delivery.shipped_at,
        Delivery.Status.DELIVERED: delivery.delivered_at,
    }
    cancelled = delivery.status == Delivery.Status.CANCELLED
    # A cancelled delivery got as far as its last dated step.
    reached = (
        max(i for i, status in enumerate(DELIVERY_STEPS) if times[status] is not None)
        if cancelled
        else DELIVERY_STEPS.index(delivery.status)
    )
    return [
        DeliveryStep(
            status=status,
            label=labels[status],
            at=times[status] if index <= reached else None,
            done=index <= reached,
            current=index == reached and not cancelled,
        )
        for index, status in enumerate(DELIVERY_STEPS)
    ]


def _deliveries(member: Member) -> QuerySet[Delivery]:
    return Delivery.objects.filter(member=member, shop_id=member.shop_id).select_related(
        "redemption", "handed_over_branch"
    )


def member_deliveries(member: Member, *, limit: int = 100) -> list[tuple[Delivery, str]]:
    """The member's delivered rewards, newest first, each with its snapshot image URL."""
    return [
        (d, media_url(d.redemption.reward_image))
        for d in _deliveries(member).order_by("-created_at")[:limit]
    ]


def member_delivery(member: Member, redemption_id: uuid.UUID) -> Delivery | None:
    """The member's delivery of a redemption (by its public id), or None for anyone else's."""
    return _deliveries(member).filter(redemption__public_id=redemption_id).first()


# --- counter (spot) codes -------------------------------------------------------------------------


def member_spot_code(member: Member, reward: Reward) -> SpotCode | None:
    """The member's latest counter code for ``reward`` from the last few minutes (open, lapsed or
    confirmed by the cashier), or None."""
    since = timezone.now() - 2 * SPOT_CODE_LIFETIME
    return (
        SpotCode.objects.filter(
            member=member, shop_id=member.shop_id, reward=reward, created_at__gte=since
        )
        .select_related("redemption")
        .order_by("-created_at", "-pk")
        .first()
    )


def open_spot_code(member: Member, reward: Reward) -> SpotCode | None:
    """The member's counter code for ``reward`` that is still open (not lapsed, not confirmed)."""
    return (
        SpotCode.objects.filter(
            member=member,
            shop_id=member.shop_id,
            reward=reward,
            redemption__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by("-created_at", "-pk")
        .first()
    )


# --- the ledger's entries that are redemptions ------------------------------------------------------


def redemption_entry_owners(entry_ids: Collection[int]) -> dict[int, EntryOwner]:
    """For the ledger's registry of entry owners (registered in ``RewardsConfig.ready``): the
    redemption each of ``entry_ids`` paid for, named, with how to undo it, so that the ledger
    refuses to reverse the debit on its own (``members.ledger.owners``)."""
    redemptions = Redemption.objects.filter(entry_id__in=list(entry_ids)).select_related(
        "coupon", "delivery"
    )
    owners = {}
    for redemption in redemptions:
        if redemption.status == Redemption.Status.CANCELLED:
            undo = _("The redemption has been cancelled.")
        else:
            refusal = redemption_cancel_refusal(
                getattr(redemption, "coupon", None), getattr(redemption, "delivery", None)
            )
            undo = (
                str(refusal)
                if refusal is not None
                else _(
                    "Cancel the redemption instead: the points come back, the coupon or delivery "
                    "is cancelled, and the stock and the member's limit are returned."
                )
            )
        owners[redemption.entry_id] = EntryOwner(
            kind=REDEMPTION_OWNER,
            public_id=redemption.public_id,
            noun=_("redemption"),
            label=_("the redemption of “%(reward)s” (ID %(id)s)")
            % {"reward": redemption.reward_name, "id": redemption.public_id},
            undo=undo,
            admin_url=reverse("admin:rewards_redemption_change", args=[redemption.pk]),
        )
    return owners


def redemptions_with_reversed_points(shop_id: int | None = None) -> QuerySet[Redemption]:
    """Redemptions still completed whose points were nevertheless given back: their debit was
    reversed on its own, which the Open API and the back office allowed before the ledger refused
    it (a double spend left open: the coupon usable, the delivery open, the stock taken)."""
    redemptions = (
        Redemption.objects.filter(
            status=Redemption.Status.COMPLETED, entry__reversed_by__isnull=False
        )
        .select_related("shop", "member", "coupon", "delivery")
        .order_by("shop_id", "created_at", "id")
    )
    if shop_id is not None:
        redemptions = redemptions.filter(shop_id=shop_id)
    return redemptions
