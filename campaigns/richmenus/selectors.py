"""Reads of rich menus: which menu a LINE user's audience gets, and the menus' list page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from campaigns.richmenus.models import RichMenu, RichMenuLink
from members.line.models import LineFriend
from members.models import Member

Audience = RichMenu.Audience


@dataclass(frozen=True)
class UserAudience:
    """Who a LINE user is to the shop's menus: bound to a member or not, and that member's tier
    and tags (none when not bound: tiers and tags belong to members)."""

    bound: bool = False
    tier_id: int | None = None
    tag_ids: frozenset[int] = field(default_factory=frozenset)


NOT_BOUND = UserAudience()


def published_menus(shop_id: int) -> list[RichMenu]:
    """The shop's published menus in the order they win: highest priority first, then the
    latest published, then the latest made."""
    return list(
        RichMenu.objects.filter(shop_id=shop_id, sync_state=RichMenu.SyncState.PUBLISHED)
        .exclude(line_rich_menu_id="")
        .order_by("-priority", F("published_at").desc(nulls_last=True), "-pk")
    )


def menu_matches(menu: RichMenu, audience: UserAudience) -> bool:
    """Whether ``menu``'s audience includes this user (everyone matches the default menu)."""
    if menu.audience == Audience.TIER:
        return audience.bound and menu.tier_id == audience.tier_id
    if menu.audience == Audience.TAG:
        return audience.bound and menu.tag_id in audience.tag_ids
    if menu.audience == Audience.BOUND:
        return audience.bound
    if menu.audience == Audience.UNBOUND:
        return not audience.bound
    # A tab-only menu is reached through its alias alone, by a switch area of another menu.
    return menu.audience != Audience.TAB


def menu_for(menus: list[RichMenu], audience: UserAudience) -> str:
    """LINE's id of the menu for a user with this audience, or "" when it is the default menu
    (LINE shows the default to every user without a menu of their own). ``menus`` is
    ``published_menus()``: the first that matches wins, so a default-audience menu of a higher
    priority than the others takes everyone to the default."""
    for menu in menus:
        if menu_matches(menu, audience):
            return "" if menu.audience == Audience.DEFAULT else menu.line_rich_menu_id
    return ""


def user_audience(shop_id: int, line_user_id: str) -> UserAudience:
    """Whether the LINE user is bound to a member of the shop, with that member's tier and tags
    (two queries)."""
    member = (
        Member.objects.filter(shop_id=shop_id, line_user_id=line_user_id, bound_at__isnull=False)
        .values("pk", "tier_id")
        .first()
    )
    if member is None:
        return NOT_BOUND
    tag_ids = Member.tags.through.objects.filter(member_id=member["pk"]).values_list(
        "tag_id", flat=True
    )
    return UserAudience(bound=True, tier_id=member["tier_id"], tag_ids=frozenset(tag_ids))


def shop_line_users(shop_id: int) -> dict[str, UserAudience]:
    """Every LINE user of the shop a menu can reach (its friends and its bound members), with
    their audience as ``user_audience`` gives it: three queries whatever the number of users."""
    users: dict[str, UserAudience] = dict.fromkeys(
        LineFriend.objects.filter(shop_id=shop_id, state=LineFriend.State.FRIEND).values_list(
            "line_user_id", flat=True
        ),
        NOT_BOUND,
    )
    bound = Member.objects.filter(shop_id=shop_id, bound_at__isnull=False).exclude(
        line_user_id=None
    )
    tags: dict[int, set[int]] = defaultdict(set)
    for member_id, tag_id in Member.tags.through.objects.filter(
        member__in=bound.values("pk")
    ).values_list("member_id", "tag_id"):
        tags[member_id].add(tag_id)
    for member_id, line_user_id, tier_id in bound.values_list("pk", "line_user_id", "tier_id"):
        users[line_user_id] = UserAudience(
            bound=True, tier_id=tier_id, tag_ids=frozenset(tags.get(member_id, ()))
        )
    return users


def rich_menus_for_list(queryset: QuerySet[RichMenu]) -> QuerySet[RichMenu]:
    """The admin list: each menu with ``linked_count``, the users linked to it at LINE."""
    linked = (
        RichMenuLink.objects.filter(
            shop_id=OuterRef("shop_id"), line_rich_menu_id=OuterRef("line_rich_menu_id")
        )
        .exclude(line_rich_menu_id="")
        .values("shop_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.select_related("tier", "tag").annotate(
        linked_count=Coalesce(Subquery(linked), 0)
    )
