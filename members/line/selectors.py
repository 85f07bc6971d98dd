"""Reads of the LINE conversation: the webhook's channel lookup, the friends page's counts."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from members.line.models import LineFriend
from shops.models import Shop, ShopLineChannel


@dataclass(frozen=True)
class WebhookChannel:
    """What the webhook needs of a shop's Messaging API channel."""

    shop_id: int
    channel_secret: str


# Per process: slug → (monotonic expiry, channel or None). LINE posts every event of a shop to one
# URL, so most requests would otherwise read the same row again; see ``webhook_channel_for``.
_channels: dict[str, tuple[float, WebhookChannel | None]] = {}
CHANNEL_CACHE_SECONDS = 30.0


def webhook_channel_for(*, shop_slug: str, fresh: bool = False) -> WebhookChannel | None:
    """The shop's id and Messaging API channel secret when its webhook can be verified (a channel
    ID and secret are saved); None for an unknown shop or one without them.

    Kept per process for ``CHANNEL_CACHE_SECONDS``; ``fresh`` reads the database again. The view
    asks for a fresh read whenever a signature does not verify under the kept secret, so a
    changed secret works at once; a secret that was removed still verifies for at most that long.
    """
    now = time.monotonic()
    kept = None if fresh else _channels.get(shop_slug)
    if kept is not None and kept[0] > now:
        return kept[1]
    row = (
        ShopLineChannel.objects.filter(shop__slug=shop_slug)
        .values_list("shop_id", "messaging_channel_id", "messaging_channel_secret")
        .first()
    )
    channel = None
    if row is not None and row[1] and row[2]:
        channel = WebhookChannel(shop_id=row[0], channel_secret=row[2])
    if len(_channels) > 10_000:  # a flood of made-up slugs must not grow it without bound
        _channels.clear()
    _channels[shop_slug] = (now + CHANNEL_CACHE_SECONDS, channel)
    return channel


def webhook_channels_forget() -> None:
    """Drop the kept channels (tests; a settings change in this process)."""
    _channels.clear()


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


def unbound_friends(*, shop_id: int) -> QuerySet[LineFriend]:
    """The shop's LINE friends (not blocked) that no member has yet: the admin's bind choices."""
    return LineFriend.objects.filter(
        shop_id=shop_id, member__isnull=True, state=LineFriend.State.FRIEND
    ).order_by("-followed_at", "-pk")
