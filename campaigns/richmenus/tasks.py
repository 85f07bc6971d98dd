"""django-q2 entry points of rich menus."""

from __future__ import annotations

from campaigns.richmenus.services import rich_menu_link_user

SYNC_USER_TASK = "campaigns.richmenus.tasks.rich_menu_sync_user"


def rich_menu_sync_user(shop_id: int, line_user_id: str) -> bool:
    """Link one LINE user to their audience's menu. ``LineUnavailable`` fails the task, for
    django-q2 to retry; "re-sync all" in the back office repairs whatever is left."""
    return rich_menu_link_user(shop_id=shop_id, line_user_id=line_user_id)
