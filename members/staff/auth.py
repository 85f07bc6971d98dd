"""Who is at the counter: the signed-in staff account, its shop and the branch chosen for this
session. Every staff page goes through ``staff_required``.

A deactivated account is signed out on its next request: Django's auth backend does not load an
inactive user from the session (``ModelBackend.get_user``), so the request is anonymous and the
page sends them to the sign-in form.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from loyalty.i18n import activate_page_language
from members.staff.selectors import can_use_staff_app, can_void, staff_branches
from shops.models import Branch, Shop, User
from shops.staffing.services import Device

SESSION_BRANCH = "staff_branch_id"


@dataclass(frozen=True)
class StaffContext:
    user: User
    shop: Shop
    branch: Branch
    branch_count: int

    @property
    def can_void(self) -> bool:
        return can_void(self.user)


def choose_branch(request: HttpRequest, branch: Branch) -> None:
    request.session[SESSION_BRANCH] = branch.pk


def device(request: HttpRequest) -> Device:
    return Device.of(request)


def staff_required(view):
    """Let active staff of an active shop in, at a branch they may work at.

    Anonymous (or deactivated) → the sign-in page; not staff → a refusal page; no branch chosen
    yet, or the chosen one no longer allowed → the branch page (or the only branch, at once).
    The view gets ``request.staff`` (a ``StaffContext``).
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(
                request.get_full_path(), reverse("staff:login"), REDIRECT_FIELD_NAME
            )
        if not can_use_staff_app(user):
            return render(request, "members/staff/not_staff.html", status=403)
        branches = list(staff_branches(user))
        chosen = request.session.get(SESSION_BRANCH)
        branch = next((b for b in branches if b.pk == chosen), None)
        if branch is None:
            if len(branches) != 1:
                return redirect("staff:branch")
            branch = branches[0]
            choose_branch(request, branch)
        branch.shop = user.shop
        activate_page_language(request, user.shop.language)
        request.staff = StaffContext(user, user.shop, branch, len(branches))
        return view(request, *args, **kwargs)

    return wrapper
