"""The staff app's account pages: sign in, sign out, join from an invite, choose a branch."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from loyalty.errors import ApplicationError
from loyalty.i18n import activate_page_language
from members.staff.auth import choose_branch, device
from members.staff.forms import JoinForm, SignInForm
from members.staff.selectors import can_use_staff_app, staff_branches
from shops.staffing.models import StaffAction
from shops.staffing.services import (
    InviteInvalid,
    staff_action_record,
    staff_invite_accept,
    staff_invite_get,
)

# --- sign in, sign out, join, branch --------------------------------------------------------------


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("staff:home")


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """The staff sign-in. django-axes counts failures per username and IP and locks the pair out
    after ``AXES_FAILURE_LIMIT``; the locked-out answer is this page with a clear message."""
    if can_use_staff_app(request.user) and request.method == "GET":
        return redirect("staff:home")
    locked = False
    if request.method == "POST":
        form = SignInForm(request, data=request.POST)
        if form.is_valid():
            user = form.get_user()
            login(request, user)
            staff_action_record(user=user, kind=StaffAction.Kind.SIGN_IN, device=device(request))
            return redirect(_safe_next(request))
        if getattr(request, "axes_locked_out", False):
            # Answer with this page (in the member's language) rather than axes' plain text.
            request.axes_locked_out = False
            locked = True
    else:
        form = SignInForm(request, initial={"username": request.GET.get("username", "")})
    return render(
        request,
        "members/staff/sign_in.html",
        {"form": form, "locked": locked, "next": request.GET.get("next", "")},
        status=429 if locked else 200,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if can_use_staff_app(request.user):
        staff_action_record(
            user=request.user, kind=StaffAction.Kind.SIGN_OUT, device=device(request)
        )
    logout(request)
    messages.success(request, _("You are signed out."))
    return redirect("staff:login")


@never_cache
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """Onboarding from an invite link: name, username, password → a cashier at the invite's
    branch, then the sign-in page. A used, expired or revoked invite explains itself."""
    try:
        invite = staff_invite_get(token=token)
    except InviteInvalid as exc:
        return render(
            request, "members/staff/join_invalid.html", {"error": exc}, status=exc.http_status
        )
    activate_page_language(request, invite.shop.language)
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = staff_invite_accept(
                token=token,
                name=data["name"],
                username=data["username"],
                password=data["password1"],
                device=device(request),
            )
        except InviteInvalid as exc:
            return render(
                request, "members/staff/join_invalid.html", {"error": exc}, status=exc.http_status
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            if request.user.is_authenticated:
                logout(request)
            messages.success(
                request,
                _("Your account is ready. Sign in with your username and password."),
            )
            return redirect(f"{reverse('staff:login')}?username={user.username}")
    return render(request, "members/staff/join.html", {"form": form, "invite": invite})


@never_cache
@require_http_methods(["GET", "POST"])
def choose_branch_view(request: HttpRequest) -> HttpResponse:
    """Choose the branch to work at (staff allowed at several)."""
    user = request.user
    if not user.is_authenticated:
        return redirect("staff:login")
    if not can_use_staff_app(user):
        return render(request, "members/staff/not_staff.html", status=403)
    activate_page_language(request, user.shop.language)
    branches = list(staff_branches(user))
    if request.method == "POST":
        chosen = next((b for b in branches if str(b.pk) == request.POST.get("branch")), None)
        if chosen is not None:
            choose_branch(request, chosen)
            staff_action_record(
                user=user, kind=StaffAction.Kind.BRANCH, branch=chosen, device=device(request)
            )
            return redirect("staff:home")
        messages.error(request, _("Choose one of your branches."))
    return render(request, "members/staff/branch.html", {"branches": branches})
