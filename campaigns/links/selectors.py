"""Reads of tracked links: the link behind a token, and who tapped what."""

from __future__ import annotations

from django.db.models import Count

from campaigns.links.models import LinkClick, TrackedLink
from members.models import Member


def link_for_token(token: str) -> TrackedLink | None:
    """The link a redirect's token names, with its shop, or None (unknown, or of a shop that is
    closed). Its tags are read only by a member's first tap."""
    if not token or len(token) > TrackedLink._meta.get_field("token").max_length:
        return None
    return (
        TrackedLink.objects.select_related("shop").filter(token=token, shop__is_active=True).first()
    )


def clicks_by_key(*, shop_id: int, source: str) -> dict[str, int]:
    """The members who tapped each link of ``source`` (each counted once), by link key; a link
    nobody tapped is there with 0."""
    rows = (
        TrackedLink.objects.filter(shop_id=shop_id, source=source)
        .annotate(members=Count("clicks"))
        .values_list("key", "members")
    )
    return dict(rows)


def member_clicks(member: Member) -> list[LinkClick]:
    """The links ``member`` tapped, latest first (for "download my data")."""
    return list(LinkClick.objects.filter(member=member).select_related("link"))
