"""Reads of the LINE conversation: the webhook's channel lookup, the friends page's counts."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from members.line.models import LineFriend
from shops.models import Shop, ShopLineChannel


def webhook_channel_for(*, shop_slug: str) -> ShopLineChannel | None:
    """The shop's LINE settings when its webhook can be verified (a Messaging API channel with its
    secret), with the shop; None for an unknown shop or one without them. One query."""
    channel = (
        ShopLineChannel.objects.select_related("shop")
        .filter(shop__slug=shop_slug)
        .exclude(messaging_channel_secret="")
        .first()
    )
    if channel is None or not channel.webhook_ready:
        return None
    return channel


def line_friend_counts(*, shop: Shop | None) -> dict[str, int]:
    """Friends, blocked, bound and unbound (bound: linked to a member of the shop) among the LINE
    users who ever followed the shop's account; every shop's when ``shop`` is None (operators)."""
    rows: QuerySet[LineFriend] = LineFriend.objects.all()
    if shop is not None:
        rows = rows.filter(shop=shop)
    counts = rows.aggregate(
        friends=Count("pk", filter=Q(state=LineFriend.State.FRIEND)),
        blocked=Count("pk", filter=Q(state=LineFriend.State.BLOCKED)),
        bound=Count("pk", filter=Q(member__isnull=False)),
        unbound=Count("pk", filter=Q(member__isnull=True)),
    )
    return {key: value or 0 for key, value in counts.items()}
