"""Reads of the member's counter (spot) codes: the latest one for a reward, and the open one."""

from __future__ import annotations

from django.utils import timezone

from members.models import Member
from rewards.models import Reward, SpotCode
from rewards.rules import SPOT_CODE_LIFETIME


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
