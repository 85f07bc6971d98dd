"""The cashier's side of rewards in the staff app: use a coupon, confirm a member's spot code,
hand a delivery over in the store. The rules themselves are ``rewards.services``'; these add who
may act where, the branch, the audit log and the form's key.

Each checks that the person is active staff allowed at the branch (``check_staff_at_branch``),
acts at that branch, and writes one row of the staff audit log in the same transaction. The form's
hidden UUID makes a double tap or a resubmit return the first result instead of an error: a spot
confirmation keeps it as the redemption's idempotency key (unique per shop in the database); a
coupon or a delivery has no column for it, so the audit row written with the use (one per use,
never changed) carries it, and a replay is recognised under the coupon's or delivery's row lock.

Lock order: Coupon (or SpotCode, or Delivery) → Member → Reward, as in ``rewards.services``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from loyalty.dates import format_people_date
from loyalty.errors import ApplicationError, NotFound
from members.ledger.actors import Actor
from members.staff.services import check_staff_at_branch, staff_key
from rewards.errors import CouponNotUsable, WrongState
from rewards.models import Coupon, Delivery, Redemption, Reward
from rewards.rules import clean_spot_code
from rewards.services import (
    coupon_find,
    coupon_state_error,
    coupon_use,
    delivery_set_status,
    spot_code_confirm_with_key,
)
from shops.models import Branch, User
from shops.staffing.models import StaffAction
from shops.staffing.services import Device, staff_action_record

# Kinds of the staff audit log written here.
STAFF_COUPON_USE = StaffAction.Kind.COUPON_USE
STAFF_SPOT_CONFIRM = StaffAction.Kind.SPOT_CONFIRM
STAFF_DELIVERY_HAND_OVER = StaffAction.Kind.DELIVERY_HANDOVER


@dataclass(frozen=True)
class CounterResult:
    """What a counter action did (``redemption``, with its coupon or delivery), and whether this
    was a replay of a form that had already done it."""

    redemption: Redemption
    replayed: bool


def _acted_with_key(*, shop_id: int, kind: str, redemption: Redemption, key: str) -> bool:
    return StaffAction.objects.filter(
        shop_id=shop_id, kind=kind, object_id=str(redemption.public_id), detail__key=key
    ).exists()


def coupon_counter_error(coupon: Coupon) -> ApplicationError | None:
    """Why a coupon that is still valid is not one for the counter: a code for another platform
    (Shopee, Lazada…), which the member uses there."""
    if coupon.redemption.reward_kind == Reward.Kind.CUSTOM_CODE:
        return CouponNotUsable(
            _(
                "This coupon is a code for another platform (Shopee, Lazada…). The member uses "
                "it there, not at the counter."
            ),
            code="coupon_other_platform",
        )
    return None


@transaction.atomic
def coupon_use_at_counter(
    *,
    user: User,
    branch: Branch,
    code: str,
    form_key: uuid.UUID | str,
    device: Device | None = None,
) -> CounterResult:
    """A cashier uses a member's coupon at ``branch``, once.

    Refused with its own message, changing nothing: unknown (another shop's code is unknown too),
    used (when, where), expired, cancelled, and a code for another platform. The same form
    submitted again returns the first use.
    """
    check_staff_at_branch(user=user, branch=branch)
    shop = branch.shop
    key = staff_key(form_key)
    found = coupon_find(shop=shop, code=code)
    coupon = (
        # No branch in the join: after waiting for the lock, PostgreSQL re-reads only the locked
        # row, so a joined branch could be the one from before a concurrent use.
        Coupon.objects.select_for_update(of=("self",))
        .select_related("redemption", "member")
        .get(pk=found.pk)
    )
    redemption = coupon.redemption
    if coupon.status == Coupon.Status.USED and _acted_with_key(
        shop_id=shop.pk, kind=STAFF_COUPON_USE, redemption=redemption, key=key
    ):
        return CounterResult(redemption, True)
    error = coupon_state_error(coupon) or coupon_counter_error(coupon)
    if error is not None:
        raise error
    coupon = coupon_use(shop=shop, code=coupon.code, branch=branch, actor=Actor.staff(user))
    member = found.member
    staff_action_record(
        user=user,
        kind=STAFF_COUPON_USE,
        branch=branch,
        obj=redemption,
        label=f"{redemption.reward_name} · {member.display_name}",
        detail={
            "key": key,
            "code": coupon.code,
            "member": str(member.public_id),
            "reward": redemption.reward_name,
        },
        device=device,
    )
    return CounterResult(redemption, False)


@transaction.atomic
def spot_code_confirm_at_counter(
    *,
    user: User,
    branch: Branch,
    code: str,
    form_key: uuid.UUID | str,
    device: Device | None = None,
) -> CounterResult:
    """A cashier confirms the 6-digit code a member shows: the points are deducted now, and the
    reward is redeemed and used at ``branch``. A lapsed, unknown (another shop's too) or already
    confirmed code is refused and nothing is deducted; the same form submitted again returns the
    first redemption."""
    check_staff_at_branch(user=user, branch=branch)
    key = staff_key(form_key)
    redemption, replayed = spot_code_confirm_with_key(
        shop=branch.shop,
        code=code,
        branch=branch,
        actor=Actor.staff(user),
        idempotency_key=key,
    )
    if not replayed:
        member = redemption.member
        staff_action_record(
            user=user,
            kind=STAFF_SPOT_CONFIRM,
            branch=branch,
            obj=redemption,
            label=f"{redemption.reward_name} · {member.display_name} −{redemption.points}",
            detail={
                "key": key,
                "code": clean_spot_code(code),
                "member": str(member.public_id),
                "reward": redemption.reward_name,
                "points": redemption.points,
            },
            device=device,
        )
    return CounterResult(redemption, replayed)


@transaction.atomic
def delivery_hand_over(
    *,
    user: User,
    branch: Branch,
    delivery: Delivery,
    form_key: uuid.UUID | str,
    device: Device | None = None,
) -> CounterResult:
    """A cashier hands a delivered reward over in the store: the delivery becomes delivered at
    ``branch``. Refused: another shop's delivery (not found), one already delivered (when,
    where) or cancelled. The same form submitted again returns the first hand-over."""
    check_staff_at_branch(user=user, branch=branch)
    if delivery.shop_id != branch.shop_id:
        raise NotFound(_("No such delivery in this shop."), code="unknown_delivery")
    key = staff_key(form_key)
    locked = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("redemption", "member")  # the branch is read after the lock
        .get(pk=delivery.pk)
    )
    redemption, was = locked.redemption, locked.status
    if was == Delivery.Status.DELIVERED:
        if _acted_with_key(
            shop_id=branch.shop_id, kind=STAFF_DELIVERY_HAND_OVER, redemption=redemption, key=key
        ):
            return CounterResult(redemption, True)
        raise WrongState(_delivered_message(locked), code="delivery_delivered")
    if was == Delivery.Status.CANCELLED:
        raise WrongState(
            _("This delivery was cancelled and the points were returned."),
            code="delivery_cancelled",
        )
    delivery_set_status(
        delivery=locked, status=Delivery.Status.DELIVERED, actor=Actor.staff(user), branch=branch
    )
    staff_action_record(
        user=user,
        kind=STAFF_DELIVERY_HAND_OVER,
        branch=branch,
        obj=redemption,
        label=f"{redemption.reward_name} · {locked.member.display_name}",
        detail={
            "key": key,
            "member": str(locked.member.public_id),
            "reward": redemption.reward_name,
            "was": was,
        },
        device=device,
    )
    return CounterResult(redemption, False)


def _delivered_message(delivery: Delivery) -> str:
    when = format_people_date(delivery.delivered_at, with_time=True)
    if delivery.handed_over_branch_id:
        # Translators: Thai: ของรางวัลนี้ส่งมอบแล้ว (เวลา, สาขา)
        return _("This gift was already handed over (%(when)s, %(branch)s).") % {
            "when": when,
            "branch": delivery.handed_over_branch.name,
        }
    return _("This gift was already delivered (%(when)s).") % {"when": when}
