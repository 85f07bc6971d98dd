"""Permissions by role instead of per-user permission rows.

Owners and managers of a shop get the admin permissions of the shop apps; what they may see is then
narrowed to their own shop by ``shops.tenancy``. Cashiers get no admin permissions at all: they use
the staff app. Platform operators are superusers.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend

SHOP_APPS = {"shops", "members", "rewards", "campaigns"}
# Shop-owned tables of the project-wide app (loyalty) that owners and managers see in the admin.
SHOP_LOYALTY_PERMS = {"loyalty.view_outboxmessage", "loyalty.change_outboxmessage"}

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
        if perm in SHOP_LOYALTY_PERMS:
            return True
        app_label = perm.split(".", 1)[0]
        if app_label not in SHOP_APPS or perm in DENIED_TO_ALL_ROLES:
            return False
        if perm in OWNER_ONLY:
            return user_obj.role == user_obj.Role.OWNER
        return True

    def has_perm(self, user_obj, perm, obj=None):
        return self._role_perm(user_obj, perm) or super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        if getattr(user_obj, "is_shop_admin", False) and (
            app_label in SHOP_APPS or any(p.startswith(f"{app_label}.") for p in SHOP_LOYALTY_PERMS)
        ):
            return True
        return super().has_module_perms(user_obj, app_label)


class ApprovalPinBackend(BaseBackend):
    """A manager's approval PIN (``User.approval_pin``), accepted only where a manager approves a
    cashier's entry: ``authenticate(request, username=..., password=..., manager_approval=True)``.
    Never a way to sign in (without ``manager_approval`` it answers nothing). Going through
    ``authenticate`` means django-axes counts wrong PINs and locks the username out exactly as it
    does wrong passwords."""

    def authenticate(self, request, username=None, password=None, manager_approval=False, **kw):
        if not manager_approval or not username or not password:
            return None
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            user_model().set_password(password)  # the same time as a wrong PIN (no user probing)
            return None
        if user.is_active and user.check_approval_pin(password):
            return user
        return None
