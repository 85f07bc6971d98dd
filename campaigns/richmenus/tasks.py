"""django-q2 entry points of rich menus."""

from __future__ import annotations

from campaigns.richmenus.services import ResyncResult, rich_menu_link_user, rich_menus_resync

SYNC_USER_TASK = "campaigns.richmenus.tasks.rich_menu_sync_user"
SYNC_CHANGED_TASK = "campaigns.richmenus.tasks.rich_menus_sync_changed"


def rich_menu_sync_user(shop_id: int, line_user_id: str) -> bool:
    """Link one LINE user to their audience's menu. ``LineUnavailable`` fails the task, for
    django-q2 to retry; "re-sync all" in the back office repairs whatever is left."""
    return rich_menu_link_user(shop_id=shop_id, line_user_id=line_user_id)


def rich_menus_sync_changed(shop_id: int) -> ResyncResult:
    """Re-link the shop's users whose audience's menu changed in bulk (the nightly tiers)."""
    return rich_menus_resync(shop_id=shop_id, only_changed=True)
