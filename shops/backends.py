"""Permissions by role instead of per-user permission rows.

Owners and managers of a shop get the admin permissions of the shop apps; what they may see is then
narrowed to their own shop by ``shops.tenancy``. Cashiers get no admin permissions at all: they use
the staff app. Platform operators are superusers.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

SHOP_APPS = {"shops", "members", "rewards", "campaigns"}

# Permissions no shop role has: creating or deleting shops is the platform operator's job.
DENIED_TO_ALL_ROLES = {"shops.add_shop", "shops.delete_shop"}
# What an owner may do and a manager may not: manage staff accounts and API keys.
OWNER_ONLY = {
    "shops.add_user",
    "shops.delete_user",
    "shops.add_apikey",
    "shops.change_apikey",
    "shops.delete_apikey",
    "shops.view_apikey",
}


class ShopRoleBackend(ModelBackend):
    """ModelBackend plus role-based permissions for shop owners and managers."""

    def _role_perm(self, user_obj, perm: str) -> bool:
        if not user_obj.is_active or not getattr(user_obj, "is_shop_admin", False):
            return False
        app_label = perm.split(".", 1)[0]
        if app_label not in SHOP_APPS or perm in DENIED_TO_ALL_ROLES:
            return False
        if perm in OWNER_ONLY:
            return user_obj.role == user_obj.Role.OWNER
        return True

    def has_perm(self, user_obj, perm, obj=None):
        return self._role_perm(user_obj, perm) or super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        if getattr(user_obj, "is_shop_admin", False) and app_label in SHOP_APPS:
            return True
        return super().has_module_perms(user_obj, app_label)
