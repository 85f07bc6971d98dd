"""The rules of rewards as plain functions: who may redeem what now, when a redemption can still be
cancelled, how long a coupon lasts, and what codes look like. Services decide with them under their
locks; selectors show the same answers on the member's pages before anyone taps, so the page and
the redemption never disagree. Nothing here writes; ``refusal_for`` reads only the member's count
of a reward when the caller has not counted it already.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.dates import format_people_date
from loyalty.errors import ApplicationError
from loyalty.numbers import THAI_DIGITS
from members.models import Member
from rewards.errors import (
    LimitReachedForMember,
    OutOfStock,
    RewardUnavailable,
    TierNotAllowed,
    WrongState,
)
from rewards.models import CODE_ALPHABET, CODE_LENGTH, Coupon, Delivery, Redemption, Reward
from shops.models import Shop

SPOT_CODE_LIFETIME = dt.timedelta(minutes=5)
REDEMPTION_OWNER = "redemption"  # the kind under which rewards owns its debits in the ledger


# --- codes ----------------------------------------------------------------------------------------


def new_code(length: int = CODE_LENGTH) -> str:
    """A random coupon code from the unambiguous alphabet (no 0/O, 1/I…)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalise_code(raw: str) -> str:
    """What a cashier typed or a scanner read, in stored form (upper case, no spaces or dashes)."""
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


def clean_spot_code(raw: str) -> str:
    """The digits of a spot code as typed (Thai digits, spaces and dashes allowed)."""
    text = (raw or "").translate(THAI_DIGITS)
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())


# --- who may redeem -------------------------------------------------------------------------------


def refusal_for(
    member: Member, reward: Reward, *, now: dt.datetime | None = None, taken: int | None = None
) -> ApplicationError | None:
    """Why ``member`` cannot redeem ``reward`` right now, as an ApplicationError, or None.

    Points are checked by the ledger when they are debited (spendable lots, debt); this covers
    everything else: the reward's shop and window, the member's status and tier, the stock, and
    the per-member limit (completed redemptions only, so a cancelled one gives its turn back).
    ``taken`` is the member's count of this reward (queried when not given).
    """
    now = now or timezone.now()
    if not reward.is_active or reward.shop_id != member.shop_id:
        return RewardUnavailable(_("This reward is not available."))
    if member.status in (Member.Status.BLOCKED, Member.Status.ERASED):
        return RewardUnavailable(_("This account cannot redeem rewards."))
    if reward.active_from and now < reward.active_from:
        return RewardUnavailable(
            _("This reward opens on %(date)s.")
            % {"date": format_people_date(reward.active_from, with_time=True)},
            code="not_yet_open",
        )
    if reward.active_until and now > reward.active_until:
        return RewardUnavailable(_("This reward has closed."), code="closed")
    allowed = {t.pk for t in reward.allowed_tiers.all()}
    if allowed and member.tier_id not in allowed:
        names = ", ".join(sorted(t.name for t in reward.allowed_tiers.all()))
        return TierNotAllowed(
            _("This reward is for members of these tiers: %(tiers)s.") % {"tiers": names}
        )
    if reward.stock is not None and reward.stock <= 0:
        return OutOfStock(_("Sorry, this reward is out of stock."))
    if reward.per_member_limit:
        if taken is None:
            taken = Redemption.objects.filter(
                member=member, reward=reward, status=Redemption.Status.COMPLETED
            ).count()
        if taken >= reward.per_member_limit:
            return LimitReachedForMember(
                _("You have already redeemed this reward %(n)s times, the most allowed.")
                % {"n": taken}
            )
    return None


def gift_refusal(
    reward: Reward, *, shop_id: int, now: dt.datetime | None = None
) -> RewardUnavailable | None:
    """Why ``reward`` cannot be given free as a coupon by shop ``shop_id`` (a broadcast's coupon
    push), or None: another shop's, inactive, closed, or a delivered reward (a gift needs a code
    the member can show). Tiers and the opening time do not apply: the shop chose who gets it."""
    now = now or timezone.now()
    if reward.shop_id != shop_id:
        return RewardUnavailable(_("Choose one of the shop's rewards."))
    if reward.kind == Reward.Kind.DELIVERY:
        return RewardUnavailable(
            _("A delivered reward cannot be given as a coupon. Choose a reward with a code.")
        )
    if not reward.is_active:
        return RewardUnavailable(_("This reward is not active."))
    if reward.active_until and now > reward.active_until:
        return RewardUnavailable(_("This reward has closed."), code="closed")
    return None


# --- coupons --------------------------------------------------------------------------------------


def coupon_validity_days(reward: Reward, shop: Shop) -> int:
    """How many days a coupon of ``reward`` lasts: the reward's own setting, else the shop's."""
    return reward.coupon_validity_days or shop.coupon_validity_days


def coupon_last_day(*, issued_on: dt.date, days: int) -> dt.date:
    """The last day a coupon issued on ``issued_on`` can be used: the day of issue counts as the
    first of its ``days``. The nightly job expires it the day after."""
    return issued_on + dt.timedelta(days=days - 1)


# --- cancelling a redemption ----------------------------------------------------------------------


def redemption_cancel_refusal(
    coupon: Coupon | None, delivery: Delivery | None
) -> WrongState | None:
    """Why a redemption with this coupon or delivery can no longer be cancelled, or None: a used
    coupon, a gift shipped or delivered (the reward has been handed over)."""
    if coupon is not None and coupon.status == Coupon.Status.USED:
        return WrongState(_("This coupon has been used; it cannot be cancelled."))
    if delivery is not None and delivery.status == Delivery.Status.DELIVERED:
        return WrongState(_("This gift has been delivered; it cannot be cancelled."))
    if delivery is not None and delivery.status == Delivery.Status.SHIPPED:
        return WrongState(_("This gift has been shipped; it cannot be cancelled."))
    return None
