"""Reads of the member's deliveries: the list, one delivery, and its progress as steps."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from members.models import Member
from rewards.models import Delivery
from rewards.selectors.redemptions import snapshot_image_url

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
        (d, snapshot_image_url(d.redemption.reward_image))
        for d in _deliveries(member).order_by("-created_at")[:limit]
    ]


def member_delivery(member: Member, redemption_id: uuid.UUID) -> Delivery | None:
    """The member's delivery of a redemption (by its public id), or None for anyone else's."""
    return _deliveries(member).filter(redemption__public_id=redemption_id).first()
