"""Spot codes: redeeming at the counter. The member asks for a 6-digit code that lasts
``rules.SPOT_CODE_LIFETIME`` (``spot_code_issue``; nothing is deducted yet), the cashier looks it up
(``spot_code_find``, ``spot_code_refusal``) and confirms it (``spot_code_confirm``), which redeems
the reward and uses its coupon at once. A lapsed or already confirmed code is refused and nothing
is deducted.
"""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.dates import format_people_date
from loyalty.errors import ApplicationError, NotFound
from members.ledger.actors import Actor
from members.ledger.errors import IdempotencyMismatch, NotEnoughPoints
from members.ledger.locks import lock_member
from members.ledger.selectors import member_points_summary
from members.models import Member
from rewards.errors import CouponNotUsable, RewardUnavailable
from rewards.models import Redemption, Reward, SpotCode
from rewards.rules import SPOT_CODE_LIFETIME, clean_spot_code, refusal_for
from rewards.services.redemptions import reward_redeem
from shops.models import Branch, Shop


@transaction.atomic
def spot_code_issue(*, member: Member, reward: Reward) -> SpotCode:
    """A 6-digit code the member shows at the counter for 5 minutes. Nothing is deducted yet; the
    rules are checked now (to tell the member early) and again when the cashier confirms.

    A member has at most one open code per reward: asking again (a double tap, a reload) returns
    the open one, decided under the member's lock, so two codes never wait for the same reward.
    """
    if not reward.spot_redemption:
        raise RewardUnavailable(_("This reward is not redeemed at the counter."))
    member = lock_member(member.pk)
    open_code = (
        SpotCode.objects.filter(
            member=member, reward=reward, redemption__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )
    if open_code is not None:
        return open_code
    refusal = refusal_for(member, reward)
    if refusal is not None:
        raise refusal
    spendable = member_points_summary(member).spendable
    if spendable < reward.points_cost:
        raise NotEnoughPoints(
            _("Not enough points: %(have)s available, %(need)s needed.")
            % {"have": spendable, "need": reward.points_cost}
        )
    now = timezone.now()
    for _attempt in range(20):
        code = f"{secrets.randbelow(1_000_000):06d}"
        SpotCode.objects.filter(
            shop_id=member.shop_id, code=code, redemption__isnull=True, expires_at__lt=now
        ).delete()
        try:
            with transaction.atomic():
                return SpotCode.objects.create(
                    shop_id=member.shop_id,
                    member=member,
                    reward=reward,
                    code=code,
                    expires_at=now + SPOT_CODE_LIFETIME,
                )
        except IntegrityError:
            continue
    raise RuntimeError("could not find a free spot code")


def _spot_not_open(shop: Shop, code: str) -> NotFound:
    """Why there is no open spot code ``code``: confirmed a moment ago, or unknown."""
    confirmed = (
        SpotCode.objects.filter(
            shop=shop,
            code=code,
            redemption__isnull=False,
            expires_at__gte=timezone.now() - SPOT_CODE_LIFETIME,
        )
        .select_related("redemption")
        .order_by("-created_at")
        .first()
    )
    if confirmed is not None:
        return NotFound(
            # Translators: Thai: รหัสนี้ยืนยันไปแล้วเมื่อ ... ไม่มีการหักพอยท์ซ้ำ
            _("This code was already confirmed at %(time)s. Nothing more was deducted.")
            % {"time": format_people_date(confirmed.redemption.created_at, with_time=True)},
            code="spot_code_confirmed",
        )
    return NotFound(
        _("No open code like this. Ask the member to show a new one."), code="unknown_code"
    )


def spot_code_find(*, shop: Shop, code: str) -> SpotCode:
    """The shop's open spot code ``code`` (with its member, tier and reward), or the refusal:
    unknown (another shop's code too), already confirmed, lapsed. Changes nothing."""
    code = clean_spot_code(code)
    spot = (
        SpotCode.objects.select_related("member", "member__tier", "reward")
        .filter(shop=shop, code=code, redemption__isnull=True)
        .first()
    )
    if spot is None:
        raise _spot_not_open(shop, code)
    if spot.expires_at < timezone.now():
        raise _spot_lapsed()
    return spot


def spot_code_refusal(spot: SpotCode) -> ApplicationError | None:
    """Why confirming ``spot`` now would be refused by the reward's rules or the member's points
    (``reward_redeem`` decides again under the locks), or None: shown before the cashier taps."""
    refusal = refusal_for(spot.member, spot.reward)
    if refusal is not None:
        return refusal
    spendable = member_points_summary(spot.member).spendable
    if spendable < spot.reward.points_cost:
        return NotEnoughPoints(
            _("Not enough points: %(have)s available, %(need)s needed.")
            % {"have": spendable, "need": spot.reward.points_cost}
        )
    return None


def _spot_lapsed() -> CouponNotUsable:
    return CouponNotUsable(
        _("This code has lapsed (codes last 5 minutes). Nothing was deducted; ask for a new one."),
        code="code_lapsed",
    )


def spot_code_confirm(*, shop: Shop, code: str, branch: Branch | None, actor: Actor) -> Redemption:
    """The cashier confirms a member's spot code: the reward is redeemed and used at once. A lapsed
    or already confirmed code is refused and nothing is deducted."""
    return spot_code_confirm_with_key(shop=shop, code=code, branch=branch, actor=actor)[0]


@transaction.atomic
def spot_code_confirm_with_key(
    *,
    shop: Shop,
    code: str,
    branch: Branch | None,
    actor: Actor,
    idempotency_key: str | None = None,
) -> tuple[Redemption, bool]:
    """``spot_code_confirm`` returning (redemption, replayed). With ``idempotency_key`` (a staff
    form's) the redemption carries that key, so a replayed form finds its first redemption, even
    when its twin confirmed the code while this request waited on the code's lock; without it the
    key is the spot code's own (``spot:<id>``)."""
    code = clean_spot_code(code)
    if idempotency_key:
        earlier = _spot_replay(shop, code, idempotency_key)
        if earlier is not None:
            return earlier, True
    spot = (
        # Only the code's row: the member and the reward are locked by reward_redeem, in order.
        SpotCode.objects.select_for_update(of=("self",))
        .select_related("member", "reward")
        .filter(shop=shop, code=code, redemption__isnull=True)
        .first()
    )
    if spot is None:
        if idempotency_key:
            earlier = _spot_replay(shop, code, idempotency_key)
            if earlier is not None:
                return earlier, True
        raise _spot_not_open(shop, code)
    if spot.expires_at < timezone.now():
        raise _spot_lapsed()
    redemption, replayed = reward_redeem(
        member=spot.member,
        reward=spot.reward,
        idempotency_key=idempotency_key or f"spot:{spot.pk}",
        actor=actor,
        branch=branch,
        mark_used=True,
    )
    spot.redemption = redemption
    spot.save(update_fields=["redemption"])
    return redemption, replayed


def _spot_replay(shop: Shop, code: str, key: str) -> Redemption | None:
    """The redemption an earlier submit of the same form made, if any. The same key with another
    code is a reused form, refused like any reused idempotency key."""
    earlier = (
        Redemption.objects.filter(shop=shop, idempotency_key=key)
        .select_related("spot_code")
        .first()
    )
    if earlier is None:
        return None
    spot = getattr(earlier, "spot_code", None)
    if spot is None or spot.code != code:
        raise IdempotencyMismatch(_("This form was already used for another code. Start again."))
    return earlier


# --- code pools -----------------------------------------------------------------------------------
