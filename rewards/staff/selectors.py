"""Reads for the cashier's reward pages: a redemption's result at this branch, a member's
deliveries still to hand over. Every read is scoped to the cashier's shop: another shop's row is
None, exactly like one that does not exist."""

from __future__ import annotations

import uuid

from django.db.models import Exists, OuterRef, QuerySet

from rewards.models import Delivery, Redemption, SpotCode
from shops.models import Branch, Shop

OPEN_DELIVERY = (Delivery.Status.PENDING, Delivery.Status.PREPARING, Delivery.Status.SHIPPED)


def coupon_used_at_branch(*, branch: Branch, redemption_id: uuid.UUID) -> Redemption | None:
    """The redemption whose coupon was used at ``branch`` (the "done" page), with its coupon and
    member, and ``is_spot`` (confirmed from a spot code, so the points were deducted just now);
    one query."""
    return (
        Redemption.objects.select_related(
            "coupon", "coupon__used_branch", "coupon__used_by", "member", "member__tier"
        )
        .filter(
            shop_id=branch.shop_id,
            public_id=redemption_id,
            coupon__used_branch=branch,
        )
        .annotate(is_spot=Exists(SpotCode.objects.filter(redemption=OuterRef("pk"))))
        .first()
    )


def deliveries_to_hand_over(*, shop: Shop, member_id: int) -> QuerySet[Delivery]:
    """The member's deliveries not yet delivered or cancelled, oldest first (the one waiting
    longest is handed over first)."""
    return (
        Delivery.objects.select_related("redemption")
        .filter(shop=shop, member_id=member_id, status__in=OPEN_DELIVERY)
        .order_by("created_at", "id")
    )


def delivery_for_staff(*, shop: Shop, redemption_id: uuid.UUID) -> Delivery | None:
    """The shop's delivery of a redemption (by the redemption's public id), any status."""
    return (
        Delivery.objects.select_related(
            "redemption", "member", "member__tier", "handed_over_branch"
        )
        .filter(shop=shop, redemption__public_id=redemption_id)
        .first()
    )
