"""Signing in with LINE and signing up: thin views over ``members.member_auth`` and
``members.signup.services``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from loyalty.errors import ApplicationError
from loyalty.line import LineError
from members import member_auth
from members.models import Member
from members.pages.forms import SignupForm
from members.signup import services as signup
from members.signup.errors import AlreadyRegistered

logger = logging.getLogger(__name__)


def _card_url(shop_slug: str) -> str:
    return reverse("member:card", kwargs={"shop_slug": shop_slug})


@never_cache
@require_GET
def login(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Send the visitor to LINE: the LIFF SDK when the page is inside the LINE app and the shop
    has a LIFF app, else LINE Login."""
    shop = member_auth.member_shop(shop_slug, request)
    next_path = member_auth.safe_next(request, shop_slug, request.GET.get("next"))
    channel = member_auth.line_channel(shop)
    if channel is None:
        return render(request, "members/pages/not_connected.html", {"shop": shop}, status=503)
    if channel.liff_id and member_auth.in_line_app(request) and not request.GET.get("web"):
        return render(
            request,
            "members/pages/liff.html",
            {
                "shop": shop,
                "liff_id": channel.liff_id,
                "liff_sdk_url": settings.LINE_LIFF_SDK_URL,
                "next": next_path or _card_url(shop_slug),
                "web_login_url": member_auth.login_url(shop_slug, next_path, web="1"),
            },
        )
    if request.GET.get("start") or request.GET.get("web") or member_auth.in_line_app(request):
        url = member_auth.line_login_start(request, shop=shop, channel=channel, next_path=next_path)
        return HttpResponseRedirect(url)
    return render(
        request,
        "members/pages/login.html",
        {"shop": shop, "next": next_path or ""},
    )


@never_cache
@require_GET
def callback(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """LINE Login sends the browser back here with a code (or an error)."""
    shop = member_auth.member_shop(shop_slug, request)
    channel = member_auth.line_channel(shop)
    if channel is None:
        return render(request, "members/pages/not_connected.html", {"shop": shop}, status=503)
    if request.GET.get("error"):
        request.session.pop(f"{member_auth.LOGIN_PREFIX}{shop.slug}", None)
        return render(
            request,
            "members/pages/login.html",
            {
                "shop": shop,
                "problem": _("You cancelled the LINE sign-in. Sign in to see your card."),
            },
        )
    try:
        _identity, next_path = member_auth.line_login_finish(
            request,
            shop=shop,
            channel=channel,
            code=request.GET.get("code", ""),
            state=request.GET.get("state", ""),
        )
    except LineError as exc:
        return render(
            request, "members/pages/login.html", {"shop": shop, "problem": str(exc)}, status=400
        )
    return HttpResponseRedirect(_after_sign_in(request, shop, next_path))


def _after_sign_in(request: HttpRequest, shop, next_path: str | None) -> str:
    if member_auth.current_member(request, shop) is not None:
        return member_auth.safe_next(request, shop.slug, next_path) or _card_url(shop.slug)
    return reverse("member:signup", kwargs={"shop_slug": shop.slug})


@never_cache
@require_POST
def liff(request: HttpRequest, shop_slug: str) -> JsonResponse:
    """The LIFF page posts the ID token ``liff.getIDToken()`` gave it; LINE verifies it."""
    shop = member_auth.member_shop(shop_slug, request)
    channel = member_auth.line_channel(shop)
    if channel is None:
        return JsonResponse({"error": _("This shop has not connected LINE yet.")}, status=503)
    try:
        member_auth.liff_login(
            request, shop=shop, channel=channel, id_token=request.POST.get("id_token", "")
        )
    except LineError as exc:
        return JsonResponse({"error": str(exc), "code": exc.code}, status=401)
    next_path = member_auth.safe_next(request, shop_slug, request.POST.get("next"))
    return JsonResponse({"next": _after_sign_in(request, shop, next_path)})


@require_POST
def logout(request: HttpRequest, shop_slug: str) -> HttpResponse:
    shop = member_auth.member_shop(shop_slug, request)
    member_auth.sign_out(request, shop)
    return render(request, "members/pages/signed_out.html", {"shop": shop})


@never_cache
@member_auth.line_identity_required
def signup_view(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The sign-up form: base questions, the shop's own questions, terms and marketing consent."""
    shop, identity = request.shop, request.line_identity
    if member_auth.current_member(request, shop) is not None:
        return HttpResponseRedirect(_card_url(shop_slug))
    questions = signup.active_questions(shop)
    # A pending member already bound to this LINE account (through the Open API) starts with
    # its phone filled in and is taken over on submit; the phone of another pending member
    # opens a claim to prove (members.phone_claims).
    pending = (
        Member.objects.filter(
            shop=shop, line_user_id=identity.line_user_id, status=Member.Status.PENDING
        )
        .only("phone", "first_name", "last_name", "birthday")
        .first()
    )
    initial = {}
    if pending is not None:
        initial = {
            "phone": pending.phone_local,
            "first_name": pending.first_name,
            "last_name": pending.last_name,
            "birthday": pending.birthday,
        }
    form = SignupForm(
        request.POST if request.method == "POST" else None,
        shop=shop,
        questions=questions,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = signup.member_register(
                shop=shop,
                line_user_id=identity.line_user_id,
                line_display_name=identity.display_name,
                first_name=data["first_name"],
                last_name=data["last_name"],
                phone=data["phone"],
                birthday=data["birthday"],
                branch=data.get("branch"),
                answers=form.answers(),
                accepted_terms=bool(data.get("accept_terms")) or "accept_terms" not in form.fields,
                marketing_consent=bool(data.get("marketing")),
            )
        except AlreadyRegistered:
            return HttpResponseRedirect(_card_url(shop_slug))
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            if result.took_over:
                messages.success(
                    request,
                    _("Welcome! The points you collected with this phone number are yours now."),
                )
            else:
                messages.success(request, _("Welcome! You are now a member."))
            # A phone with points waiting: the card shows it (members/pages/_phone_claim.html).
            if result.welcome_points:
                messages.success(
                    request,
                    _("You received %(points)s welcome points.")
                    % {"points": f"{result.welcome_points:,}"},
                )
            return HttpResponseRedirect(_card_url(shop_slug))
    return render(
        request,
        "members/pages/signup.html",
        {"shop": shop, "form": form, "identity": identity, "pending": pending},
        status=400 if form.errors else 200,
    )
