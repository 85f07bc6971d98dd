"""Writes of tracked links: making a source's links (once) and recording a member's tap."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse

from campaigns.links.models import LinkClick, TrackedLink
from loyalty.links import absolute_url
from members.models import Member
from members.services import member_tags_give
from shops.models import Shop, Tag


@dataclass(frozen=True)
class LinkSpec:
    """A link to track: its ``key`` within the source, the URL it opens, the tags it gives."""

    key: str
    target: str
    tag_ids: Iterable[int] = field(default_factory=tuple)


def tracked_url(link: TrackedLink) -> str:
    """The full URL of the redirect that counts taps on ``link``."""
    return absolute_url(None, reverse("links:follow", kwargs={"token": link.token}))


@transaction.atomic
def tracked_links_make(
    *, shop: Shop, source: str, links: Iterable[LinkSpec]
) -> dict[str, TrackedLink]:
    """The tracked link of each spec, by key, made the first time and found afterwards: a
    source's links are made once (a send that resumes gets the same URLs, and a key already made
    keeps its target and tags). Tags of another shop are dropped."""
    specs = {spec.key: spec for spec in links}
    made = {
        link.key: link
        for link in TrackedLink.objects.filter(shop=shop, source=source, key__in=specs)
    }
    for key, spec in specs.items():
        if key in made:
            continue
        link, created = TrackedLink.objects.get_or_create(
            shop=shop, source=source, key=key, defaults={"target": spec.target}
        )
        if created and spec.tag_ids:
            link.tags.set(Tag.objects.filter(shop=shop, pk__in=list(spec.tag_ids)))
        made[key] = link
    return made


def link_click_record(*, link: TrackedLink, member: Member) -> bool:
    """Count ``member``'s tap on ``link`` and give the member the link's tags, both once: the
    first tap writes the click (unique per link and member) and gives the tags; later taps, even
    at the same moment, change nothing. Returns whether this tap was the first.

    A member of another shop is never counted nor tagged (returns False)."""
    if member.shop_id != link.shop_id:
        return False
    with transaction.atomic():
        # Two taps at once: the second INSERT waits for the first and, on its unique constraint,
        # falls back to reading the row (get_or_create's savepoint), so only one gives the tags.
        _click, created = LinkClick.objects.get_or_create(link=link, member=member)
        if created:
            member_tags_give(member=member, tags=link.tags.all())
    return created
