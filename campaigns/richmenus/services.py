"""Every write of rich menus: publishing a menu to LINE, and linking LINE users to their menu.

A user's menu is the published menu of the highest priority whose audience includes them (by
default tier 30, tag 20, bound/unbound 10, everyone 0; ties go to the latest published:
``selectors.menu_for``). "Default" is no menu of their own: LINE then shows the
OA's default menu, which publishing a default-audience menu sets.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from linebot.v3.messaging import (
    ApiException,
    MessageAction,
    PostbackAction,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
    RichMenuSwitchAction,
    URIAction,
)
from linebot.v3.messaging import (
    RichMenuArea as LineArea,
)

from campaigns.richmenus import actiontags, selectors
from campaigns.richmenus.layout import CUSTOM, area_rects, custom_rect_errors, image_content_type
from campaigns.richmenus.models import RichMenu, RichMenuArea, RichMenuLink
from loyalty.errors import ApplicationError
from loyalty.line import LineUnavailable
from loyalty.line import messaging as line
from loyalty.links import absolute_url
from shops.services import line_access_token

logger = logging.getLogger(__name__)

Action = RichMenuArea.Action
MEMBER_PAGES = {
    Action.CARD: "member:card",
    Action.REWARDS: "rewards:catalogue",
    Action.HISTORY: "member:history",
    Action.COUPONS: "rewards:coupons",
    Action.PROFILE: "member:profile",
    Action.SIGNUP: "member:signup",
}


class RichMenuRefused(ApplicationError):
    code = "rich_menu_refused"


@dataclass(frozen=True)
class ResyncResult:
    linked: int
    unlinked: int


SWITCH_DATA_PREFIX = "richmenu-switch:"


def area_link(area: RichMenuArea) -> str | None:
    """The address an area opens: a member page of its shop (full URL) or the shop's web address;
    None for an area that opens no link (message, postback)."""
    if area.action in MEMBER_PAGES:
        path = reverse(MEMBER_PAGES[area.action], kwargs={"shop_slug": area.shop.slug})
        return absolute_url(None, path)
    if area.action == Action.URL:
        return area.value
    return None


def area_action(area: RichMenuArea, *, shop_slug: str):
    """The LINE action of one area: a member page of the shop as a full URL, or the shop's own
    web address, message or postback data. An area with action tags sends its link through our
    tracked redirect and its postback with a signed reference to the area (``actiontags``), so
    that the tap tags the member."""
    tagged = area.action in RichMenuArea.TAGGABLE and bool(area.tags.all())
    if area.action in MEMBER_PAGES or area.action == Action.URL:
        if tagged:
            return URIAction(uri=actiontags.tracked_url(area))
        if area.action == Action.URL:
            return URIAction(uri=area.value)
        path = reverse(MEMBER_PAGES[area.action], kwargs={"shop_slug": shop_slug})
        return URIAction(uri=absolute_url(None, path))
    if area.action == Action.MESSAGE:
        return MessageAction(text=area.value)
    if area.action == Action.SWITCH:
        # LINE links the alias's menu to the user and sends a postback with ``data``.
        return RichMenuSwitchAction(
            rich_menu_alias_id=area.value, data=f"{SWITCH_DATA_PREFIX}{area.value}"
        )
    if tagged:
        return PostbackAction(data=actiontags.postback_data(area))
    return PostbackAction(data=area.value)


def rich_menu_request(menu: RichMenu, size: tuple[int, int]) -> RichMenuRequest:
    """What LINE is sent for ``menu``: its picture's size and one area per layout rectangle (the
    even grid of its layout, or the custom rectangles of its areas, which must lie inside the
    picture without overlapping)."""
    areas = list(menu.areas.prefetch_related("tags").select_related("shop"))
    if menu.layout == CUSTOM:
        errors = custom_rect_errors(
            [(area.index, area.rect) for area in areas], width=size[0], height=size[1]
        )
        if errors:
            raise RichMenuRefused(" ".join(errors))
        pairs = [(area.rect, area) for area in areas]
    else:
        by_index = {area.index: area for area in areas}
        rects = area_rects(width=size[0], height=size[1], areas=menu.layout)
        missing = [str(i) for i in range(1, len(rects) + 1) if i not in by_index]
        if missing:
            raise RichMenuRefused(
                _("Set an action for every area; missing: %(areas)s.")
                % {"areas": ", ".join(missing)}
            )
        pairs = [(rect, by_index[i]) for i, rect in enumerate(rects, start=1)]
    return RichMenuRequest(
        size=RichMenuSize(width=size[0], height=size[1]),
        selected=False,
        name=menu.name,
        chat_bar_text=menu.chat_bar_text,
        areas=[
            LineArea(
                bounds=RichMenuBounds(x=r.x, y=r.y, width=r.width, height=r.height),
                action=area_action(area, shop_slug=menu.shop.slug),
            )
            for r, area in pairs
        ],
    )


def _token(shop_id: int) -> str:
    token = line_access_token(shop_id)
    if not token:
        raise RichMenuRefused(_("Connect the shop's LINE Messaging API channel first."))
    return token


def _check_switch_targets(menu: RichMenu) -> None:
    """Every "switch to another menu" area must open an alias LINE already has: a published menu
    of the shop (or this menu's own alias, which this publish creates)."""
    targets = {
        area.value
        for area in menu.areas.all()
        if area.action == Action.SWITCH and area.value != menu.alias_id
    }
    published = set(
        RichMenu.objects.filter(
            shop_id=menu.shop_id, alias_id__in=targets, sync_state=RichMenu.SyncState.PUBLISHED
        )
        .exclude(line_rich_menu_id="")
        .filter(line_alias_id=F("alias_id"))
        .values_list("alias_id", flat=True)
    )
    missing = sorted(targets - published)
    if missing:
        raise RichMenuRefused(
            _("Publish the menus these areas switch to first: %(aliases)s.")
            % {"aliases": ", ".join(missing)}
        )


def _point_alias(token: str, menu: RichMenu, rich_menu_id: str) -> None:
    """Make the menu's alias open ``rich_menu_id``: update it when LINE has it from an earlier
    publish (create it again if LINE lost it), else create it (and update after all when LINE
    says the channel has it already)."""
    alias_id = menu.alias_id
    if menu.line_alias_id == alias_id:
        try:
            line.update_rich_menu_alias(
                channel_access_token=token, alias_id=alias_id, rich_menu_id=rich_menu_id
            )
            return
        except ApiException as exc:
            if exc.status != line.HTTP_NOT_FOUND:
                raise
            # Deleted at LINE meanwhile (by hand, or another tool): made again below.
    try:
        line.create_rich_menu_alias(
            channel_access_token=token, alias_id=alias_id, rich_menu_id=rich_menu_id
        )
    except ApiException as exc:
        if not line.is_alias_conflict(exc):
            raise
        line.update_rich_menu_alias(
            channel_access_token=token, alias_id=alias_id, rich_menu_id=rich_menu_id
        )


def rich_menu_publish(*, menu_id: int) -> RichMenu:
    """Publish a menu to LINE: create it with its picture, make it the default when its audience
    is everyone, point its tab alias at it, then link every user whose menu it now is. Publishing
    again replaces the old LINE menu safely: the new one is made, aliased and linked before the old
    one is deleted, so no user is left without a menu and no tab switch opens a deleted menu.
    A menu whose switch areas open an alias LINE does not have yet is refused. LINE's refusal is
    recorded on the menu (state "failed") and raised. When the linking after a successful create
    fails, the menu is published and the error raised: "re-sync all" or publishing again finishes
    the job."""
    menu = RichMenu.objects.select_related("shop").get(pk=menu_id)
    token = new_id = ""
    try:
        token = _token(menu.shop_id)
        _check_switch_targets(menu)
        with menu.image.open("rb") as file:
            content_type, size = image_content_type(file)
            image = file.read()
        request = rich_menu_request(menu, size)
        new_id = line.create_rich_menu(
            channel_access_token=token, menu=request, image=image, content_type=content_type
        )
        if menu.audience == RichMenu.Audience.DEFAULT:
            line.set_default_rich_menu(channel_access_token=token, rich_menu_id=new_id)
        if menu.alias_id:
            _point_alias(token, menu, new_id)
    except (ApiException, ApplicationError, ValidationError) as exc:
        if new_id:
            _delete_unused(token, new_id)
        _record_failure(menu, _failure_message(exc))
        raise RichMenuRefused(menu.line_error) from exc
    old_id, old_alias = menu.line_rich_menu_id, menu.line_alias_id
    menu.line_rich_menu_id = new_id
    menu.line_alias_id = menu.alias_id
    menu.sync_state = RichMenu.SyncState.PUBLISHED
    menu.line_error = ""
    menu.published_at = timezone.now()
    menu.save(
        update_fields=[
            "line_rich_menu_id",
            "line_alias_id",
            "sync_state",
            "line_error",
            "published_at",
        ]
    )
    rich_menus_resync(shop_id=menu.shop_id)
    if old_alias and old_alias != menu.alias_id:
        # The alias was renamed or cleared since the last publish: the old one goes.
        line.delete_rich_menu_alias(channel_access_token=token, alias_id=old_alias)
    if old_id:
        line.delete_rich_menu(channel_access_token=token, rich_menu_id=old_id)
        RichMenuLink.objects.filter(shop_id=menu.shop_id, line_rich_menu_id=old_id).update(
            line_rich_menu_id=""
        )
    return menu


def rich_menu_delete(*, menu_id: int) -> None:
    """Delete a menu here and at LINE; the users it was linked to are linked again to their next
    menu (LINE drops the links of a deleted menu). A menu LINE still has is deleted there first:
    when LINE cannot be reached, nothing is deleted."""
    menu = RichMenu.objects.get(pk=menu_id)
    line_id = menu.line_rich_menu_id
    if line_id:
        token = _token(menu.shop_id)
        try:
            if menu.line_alias_id:
                line.delete_rich_menu_alias(channel_access_token=token, alias_id=menu.line_alias_id)
            line.delete_rich_menu(channel_access_token=token, rich_menu_id=line_id)
        except ApiException as exc:
            raise RichMenuRefused(line.line_error_message(exc)) from exc
        except LineUnavailable as exc:
            raise RichMenuRefused(str(exc)) from exc
        RichMenuLink.objects.filter(shop_id=menu.shop_id, line_rich_menu_id=line_id).update(
            line_rich_menu_id=""
        )
    menu.delete()
    if line_id and selectors.published_menus(menu.shop_id):
        rich_menus_resync(shop_id=menu.shop_id)


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        return line.line_error_message(exc)
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _delete_unused(token: str, rich_menu_id: str) -> None:
    # A menu made by a publish that then failed: nobody is linked to it. If LINE cannot delete it
    # now, it stays unused at LINE (the failure the shop sees is the one that stopped the publish).
    try:
        line.delete_rich_menu(channel_access_token=token, rich_menu_id=rich_menu_id)
    except (ApiException, LineUnavailable):
        logger.warning("unused rich menu %s left at LINE", rich_menu_id)


def _record_failure(menu: RichMenu, message: str) -> None:
    menu.sync_state = RichMenu.SyncState.FAILED
    menu.line_error = message
    menu.save(update_fields=["sync_state", "line_error"])


def rich_menus_resync(*, shop_id: int, only_changed: bool = False) -> ResyncResult:
    """Link every LINE user of the shop to their audience's menu, 500 users per LINE request,
    whatever was recorded before (it repairs what LINE or an operator changed); safe to repeat.
    With ``only_changed``, only the users whose audience's menu differs from the one recorded
    (after a bulk change such as the nightly tier evaluation): the others cost no LINE call."""
    token = _token(shop_id)
    menus = selectors.published_menus(shop_id)
    targets = {
        user_id: selectors.menu_for(menus, audience)
        for user_id, audience in selectors.shop_line_users(shop_id).items()
    }
    if only_changed:
        recorded = dict(
            RichMenuLink.objects.filter(shop_id=shop_id).values_list(
                "line_user_id", "line_rich_menu_id"
            )
        )
        targets = {
            user_id: menu_id
            for user_id, menu_id in targets.items()
            if recorded.get(user_id, "") != menu_id
        }
    by_menu = sorted(targets.items(), key=lambda item: item[1])
    try:
        _link_groups(token, by_menu)
    except ApiException as exc:
        raise RichMenuRefused(line.line_error_message(exc)) from exc
    RichMenuLink.objects.bulk_create(
        [
            RichMenuLink(shop_id=shop_id, line_user_id=user_id, line_rich_menu_id=menu_id)
            for user_id, menu_id in targets.items()
        ],
        update_conflicts=True,
        unique_fields=["shop", "line_user_id"],
        update_fields=["line_rich_menu_id", "updated_at"],
        batch_size=1000,
    )
    linked = sum(1 for menu_id in targets.values() if menu_id)
    return ResyncResult(linked=linked, unlinked=len(targets) - linked)


def _link_groups(token: str, by_menu: list[tuple[str, str]]) -> None:
    for menu_id, group in itertools.groupby(by_menu, key=lambda item: item[1]):
        user_ids = [user_id for user_id, _menu in group]
        for start in range(0, len(user_ids), line.RICH_MENU_BULK_LIMIT):
            chunk = user_ids[start : start + line.RICH_MENU_BULK_LIMIT]
            if menu_id:
                line.link_rich_menu_bulk(
                    channel_access_token=token, user_ids=chunk, rich_menu_id=menu_id
                )
            else:
                line.unlink_rich_menu_bulk(channel_access_token=token, user_ids=chunk)


def rich_menu_link_user(*, shop_id: int, line_user_id: str) -> bool:
    """Link one LINE user to their audience's menu (or unlink them: the default menu). Skips the
    LINE call when the menu is the one last linked. Returns whether LINE was called.

    The user's link row is locked across the audience read and the LINE call: two changes of one
    user at once (a bind and a tier change) are applied one after the other, and the later reads
    the audience as the earlier left it, so the last link LINE receives is the right one.
    """
    with transaction.atomic():
        RichMenuLink.objects.get_or_create(shop_id=shop_id, line_user_id=line_user_id)
        link = RichMenuLink.objects.select_for_update().get(
            shop_id=shop_id, line_user_id=line_user_id
        )
        menus = selectors.published_menus(shop_id)
        target = selectors.menu_for(menus, selectors.user_audience(shop_id, line_user_id))
        if target == link.line_rich_menu_id:
            return False
        token = _token(shop_id)
        if target:
            line.link_rich_menu(
                channel_access_token=token, user_id=line_user_id, rich_menu_id=target
            )
        else:
            line.unlink_rich_menu(channel_access_token=token, user_id=line_user_id)
        link.line_rich_menu_id = target
        link.save(update_fields=["line_rich_menu_id", "updated_at"])
    return True


def rich_menu_switched(*, shop_id: int, line_user_id: str, alias_id: str) -> bool:
    """Record that LINE linked the menu of ``alias_id`` to the user (they tapped a tab), so that
    ``RichMenuLink`` says what LINE shows. Returns whether the alias is a published menu's."""
    menu_id = (
        RichMenu.objects.filter(shop_id=shop_id, line_alias_id=alias_id)
        .exclude(line_rich_menu_id="")
        .values_list("line_rich_menu_id", flat=True)
        .first()
    )
    if menu_id is None:
        return False
    with transaction.atomic():
        RichMenuLink.objects.get_or_create(shop_id=shop_id, line_user_id=line_user_id)
        RichMenuLink.objects.select_for_update().filter(
            shop_id=shop_id, line_user_id=line_user_id
        ).update(line_rich_menu_id=menu_id, updated_at=timezone.now())
    return True


def handle_switch_postback(*, event, stored, friend=None) -> bool:
    """The router's "postback" handler for taps on "switch to another menu" areas: LINE switched
    the user's menu itself (``params.status`` SUCCESS) and tells us which alias it opened. Other
    postbacks are left to the other handlers."""
    postback = getattr(event, "postback", None)
    data = getattr(postback, "data", "") or ""
    if not data.startswith(SWITCH_DATA_PREFIX) or not stored.line_user_id:
        return False
    params = getattr(postback, "params", None) or {}
    if params.get("status") != "SUCCESS":
        return True  # LINE switched nothing (RICHMENU_ALIAS_ID_NOTFOUND, ...): nothing to record
    alias_id = params.get("newRichMenuAliasId") or data.removeprefix(SWITCH_DATA_PREFIX)
    rich_menu_switched(shop_id=stored.shop_id, line_user_id=stored.line_user_id, alias_id=alias_id)
    return True
