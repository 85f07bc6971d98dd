"""Reads of rich menus: which menu a LINE user's audience gets, and the menus' list page."""

from __future__ import annotations

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from campaigns.richmenus.models import RichMenu, RichMenuLink
from members.line.models import LineFriend
from members.models import Member

Audience = RichMenu.Audience


def audience_priority(menu: RichMenu) -> int:
    """How specific a menu's audience is: tier (2) beats bound/unbound (1) beats default (0)."""
    return {Audience.TIER: 2, Audience.BOUND: 1, Audience.UNBOUND: 1}.get(menu.audience, 0)


def published_menus(shop_id: int) -> list[RichMenu]:
    """The shop's published menus, most specific audience first, then the latest published."""
    menus = RichMenu.objects.filter(
        shop_id=shop_id, sync_state=RichMenu.SyncState.PUBLISHED
    ).exclude(line_rich_menu_id="")
    return sorted(
        menus.order_by("-published_at", "-pk"), key=audience_priority, reverse=True
    )  # sorted() is stable: the latest stays first within a priority


def menu_for(menus: list[RichMenu], *, bound: bool, tier_id: int | None) -> str:
    """LINE's id of the menu for a user with this audience, or "" when it is the default menu
    (LINE shows the default to every user without a menu of their own). ``menus`` is
    ``published_menus()``: the first that matches wins."""
    for menu in menus:
        if menu.audience == Audience.TIER and bound and menu.tier_id == tier_id:
            return menu.line_rich_menu_id
        if menu.audience == Audience.BOUND and bound:
            return menu.line_rich_menu_id
        if menu.audience == Audience.UNBOUND and not bound:
            return menu.line_rich_menu_id
    return ""


def user_audience(shop_id: int, line_user_id: str) -> tuple[bool, int | None]:
    """Whether the LINE user is bound to a member of the shop, and that member's tier."""
    member = (
        Member.objects.filter(shop_id=shop_id, line_user_id=line_user_id, bound_at__isnull=False)
        .values("tier_id")
        .first()
    )
    return (member is not None, member["tier_id"] if member else None)


def shop_line_users(shop_id: int) -> dict[str, tuple[bool, int | None]]:
    """Every LINE user of the shop a menu can reach (its friends and its bound members), with
    their audience as ``user_audience`` gives it."""
    users: dict[str, tuple[bool, int | None]] = dict.fromkeys(
        LineFriend.objects.filter(shop_id=shop_id, state=LineFriend.State.FRIEND).values_list(
            "line_user_id", flat=True
        ),
        (False, None),
    )
    bound = Member.objects.filter(shop_id=shop_id, bound_at__isnull=False).exclude(
        line_user_id=None
    )
    for line_user_id, tier_id in bound.values_list("line_user_id", "tier_id"):
        users[line_user_id] = (True, tier_id)
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
    return queryset.select_related("tier").annotate(linked_count=Coalesce(Subquery(linked), 0))
