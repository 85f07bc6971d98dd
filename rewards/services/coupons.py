"""Coupons: issued by a redemption (``coupon_issue``), used once at a counter or through the Open
API (``coupon_use``), expired by the nightly job (``coupons_expire_due``). How long one lasts is
``rules.coupon_validity_days`` / ``rules.coupon_last_day``; why one cannot be used is
``coupon_state_error``.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.dates import format_people_date
from loyalty.errors import ApplicationError, InvalidInput, NotFound
from members.ledger.actors import Actor
from members.models import Member
from rewards.errors import CouponNotUsable
from rewards.models import Coupon, Redemption, Reward
from rewards.rules import coupon_last_day, coupon_validity_days, new_code, normalise_code
from shops.models import Branch, Shop


def coupon_issue(member: Member, reward: Reward, redemption: Redemption, external: str) -> Coupon:
    """The coupon of a redemption being made (inside ``reward_redeem``'s transaction), with a
    fresh code unique in the shop and ``external`` (a pool's or the shared platform code)."""
    days = coupon_validity_days(reward, member.shop)
    expires_on = coupon_last_day(issued_on=timezone.localdate(), days=days)
    for _attempt in range(10):
        try:
            with transaction.atomic():
                return Coupon.objects.create(
                    shop_id=member.shop_id,
                    redemption=redemption,
                    member=member,
                    code=new_code(),
                    external_code=external,
                    expires_on=expires_on,
                )
        except IntegrityError:
            continue  # a code already taken in this shop (25^8 codes: vanishingly rare)
    raise RuntimeError("could not find a free coupon code")


def coupon_find(*, shop: Shop, code: str) -> Coupon:
    """The shop's coupon with this code (as typed or scanned), or NotFound; another shop's code is
    not found either."""
    coupon = (
        Coupon.objects.select_related("redemption", "member", "member__tier", "used_branch")
        .filter(shop=shop, code=normalise_code(code))
        .first()
    )
    if coupon is None:
        raise NotFound(_("No coupon with this code in this shop."), code="unknown_coupon")
    return coupon


def coupon_state_error(coupon: Coupon, *, today: dt.date | None = None) -> ApplicationError | None:
    """Why ``coupon`` cannot be used now, or None: used (when, and where when at a branch),
    cancelled, or expired (past its last day, even before the nightly job marks it)."""
    today = today or timezone.localdate()
    if coupon.status == Coupon.Status.USED:
        when = format_people_date(coupon.used_at, with_time=True)
        # Read by id: a row locked after waiting for a concurrent use has the new branch id but a
        # joined branch read from before the wait (PostgreSQL re-checks only the locked row).
        branch_name = (
            Branch.objects.filter(pk=coupon.used_branch_id).values_list("name", flat=True).first()
            if coupon.used_branch_id
            else None
        )
        if branch_name:
            return CouponNotUsable(
                # Translators: Thai: คูปองนี้ถูกใช้ไปแล้ว (เวลา, สาขา)
                _("This coupon was already used (%(when)s, %(branch)s).")
                % {"when": when, "branch": branch_name},
                code="coupon_used",
            )
        return CouponNotUsable(
            _("This coupon was already used (%(when)s).") % {"when": when}, code="coupon_used"
        )
    if coupon.status == Coupon.Status.CANCELLED:
        return CouponNotUsable(_("This coupon was cancelled."), code="coupon_cancelled")
    if coupon.status == Coupon.Status.EXPIRED or coupon.expires_on < today:
        return CouponNotUsable(_("This coupon has expired."), code="coupon_expired")
    return None


@transaction.atomic
def coupon_use(*, shop: Shop, code: str, branch: Branch | None, actor: Actor) -> Coupon:
    """Use a coupon at the counter, once: refuses unknown, used, expired or cancelled coupons and
    another shop's branch."""
    if branch is not None and (branch.shop_id != shop.pk or not branch.is_active):
        raise InvalidInput(_("This branch is not an active branch of the shop."), field="branch")
    found = coupon_find(shop=shop, code=code)
    coupon = Coupon.objects.select_for_update().get(pk=found.pk)
    error = coupon_state_error(coupon)
    if error is not None:
        raise error
    coupon.status = Coupon.Status.USED
    coupon.used_at = timezone.now()
    coupon.used_branch = branch
    coupon.used_by = actor.user
    coupon.save(update_fields=["status", "used_at", "used_branch", "used_by"])
    return coupon


def coupons_expire_due(*, today: dt.date | None = None) -> int:
    """Daily: coupons past their last day become expired (one UPDATE; running twice is harmless)."""
    today = today or timezone.localdate()
    return Coupon.objects.filter(status=Coupon.Status.ISSUED, expires_on__lt=today).update(
        status=Coupon.Status.EXPIRED
    )
