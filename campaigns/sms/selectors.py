"""Reads of SMS: whether a shop can send, what it spent this month, who opted out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from campaigns.sms.models import SmsMessage, SmsOptOut, SmsSettings
from loyalty.sms import sms_available
from shops.models import Shop

State = SmsMessage.State
# What the month's budget counts: messages handed to the gateway (or being handed now). A message
# the gateway refused, or that waits for a retry, costs nothing.
SPENDING = (State.SENDING, State.SENT)


def month_start(now: dt.datetime | None = None) -> dt.datetime:
    """The first instant of the current calendar month in the shop's time zone (Asia/Bangkok)."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def credits_used(shop_id: int, *, now: dt.datetime | None = None) -> int:
    """The SMS credits the shop used this month."""
    used = SmsMessage.objects.filter(
        shop_id=shop_id, state__in=SPENDING, claimed_at__gte=month_start(now)
    ).aggregate(total=Sum("credits"))["total"]
    return used or 0


@dataclass(frozen=True)
class Budget:
    """The month's budget, what is used of it and what waits for it (held messages)."""

    budget: int
    used: int
    held: int

    @property
    def remaining(self) -> int:
        return max(0, self.budget - self.used)


def sms_budget(shop: Shop) -> Budget:
    row = SmsSettings.objects.filter(shop=shop).first()
    held = (
        SmsMessage.objects.filter(shop=shop, state=State.HELD).aggregate(total=Sum("credits"))[
            "total"
        ]
        or 0
    )
    return Budget(budget=row.monthly_budget if row else 0, used=credits_used(shop.pk), held=held)


def shop_sms_available(shop: Shop) -> bool:
    """Whether the shop can send SMS now: the system has a gateway and the shop a budget."""
    if not sms_available():
        return False
    return SmsSettings.objects.filter(shop=shop, monthly_budget__gt=0).exists()


def sender_name(shop_id: int) -> str:
    """The shop's sender name (empty: the system's default)."""
    row = SmsSettings.objects.filter(shop_id=shop_id).values_list("sender_name", flat=True)
    return row.first() or ""


def opted_out_phones(shop_id: int) -> QuerySet:
    """The opted-out numbers of a shop, as a subquery (``phone__in=...``)."""
    return SmsOptOut.objects.filter(shop_id=shop_id).values("phone")


def opted_out_members(shop_id: int) -> Q:
    """A filter of the shop's members whose phone opted out of its SMS."""
    return Q(phone__in=opted_out_phones(shop_id))


def outcomes_by_message(message_ids: list[int]) -> dict[int, str]:
    """The state of each message, by id."""
    return dict(SmsMessage.objects.filter(pk__in=message_ids).values_list("pk", "state"))
