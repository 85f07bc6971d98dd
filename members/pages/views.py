"""The member's own pages: card with QR, history, profile, my data, delete account.

Thin: parse → service or selector → render or redirect. Every view here is ``member_required``:
the member comes from the session of the URL's shop (``members.member_auth``).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from loyalty.errors import ApplicationError
from members import member_auth
from members.member_auth import member_required
from members.notifications.services import member_notices_set
from members.pages import export, selectors
from members.pages.card_query import card_members
from members.pages.forms import DeleteAccountForm, MarketingForm, NoticesForm, ProfileForm
from members.phone_claims.services import open_claim
from members.qr import CODE_REFRESH, member_code_for_card, member_code_issue
from members.signup import services as account


def _url(name: str, shop_slug: str) -> str:
    return reverse(f"member:{name}", kwargs={"shop_slug": shop_slug})


@never_cache
@require_GET
def home(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The member pages' entry point (and the LIFF endpoint URL): on to the card, or to the
    page a LIFF link asked for (``liff.state``)."""
    state = request.GET.get("liff.state", "")
    if state:
        target = _url("home", shop_slug) + state.lstrip("/")
        target = member_auth.safe_next(request, shop_slug, target)
        if target:
            return HttpResponseRedirect(target)
    return HttpResponseRedirect(_url("card", shop_slug))


def _code_payload(code) -> dict:
    return {
        "code": code.code,
        "grouped": code.grouped,
        "svg": selectors.qr_svg(code.code),
        "expires_at": code.expires_at.isoformat(),
        "refresh_in": int(CODE_REFRESH.total_seconds()),
    }


@never_cache
@require_GET
@member_required(queryset=card_members)
def card(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The member card: tier, balance, points expiring soon, the QR code for the cashier."""
    member = request.member
    view = selectors.member_card(member)
    code = member_code_for_card(member=member)
    return render(
        request,
        "members/pages/card.html",
        {
            "shop": member.shop,
            "member": member,
            "card": view,
            "code": code,
            "qr_svg": selectors.qr_svg(code.code),
            "refresh_seconds": code.refresh_in,
            "refresh_period": int(CODE_REFRESH.total_seconds()),
            "rewards_url": selectors.rewards_url(member.shop),
            "nav": "card",
        },
    )


@never_cache
@require_POST
@member_required
def card_code(request: HttpRequest, shop_slug: str) -> JsonResponse:
    """A fresh QR code for the card (the page asks every minute while it is on screen)."""
    try:
        code = member_code_issue(member=request.member)
    except ApplicationError as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    return JsonResponse(_code_payload(code))


@never_cache
@require_GET
@member_required
def history(request: HttpRequest, shop_slug: str) -> HttpResponse:
    member = request.member
    try:
        before = uuid.UUID(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    lines, next_cursor = selectors.member_history(member, before=before)
    return render(
        request,
        "members/pages/history.html",
        {
            "shop": member.shop,
            "member": member,
            "lines": lines,
            "next_cursor": next_cursor,
            "is_first_page": before is None,
            "rewards_url": selectors.rewards_url(member.shop),
            "nav": "history",
        },
    )


@never_cache
@member_required
def profile(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Edit one's own details; marketing consent; links to download data and delete."""
    member, shop = request.member, request.shop
    claim = None if member.phone else open_claim(member)
    initial = {
        "first_name": member.first_name,
        "last_name": member.last_name,
        # A number waiting for proof is still the one they gave us.
        "phone": member.phone_local or (claim.phone_local if claim else ""),
        "birthday": member.birthday,
        "email": member.email,
        "gender": member.gender,
        "branch": member.signup_branch_id,
    }
    form = ProfileForm(
        request.POST if request.method == "POST" else None, shop=shop, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account.member_profile_update(
                member=member,
                first_name=data["first_name"],
                last_name=data["last_name"],
                phone=data["phone"],
                birthday=data["birthday"],
                email=data.get("email", ""),
                gender=data.get("gender", ""),
                branch=data.get("branch"),
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, _("Your details are saved."))
            return HttpResponseRedirect(_url("profile", shop_slug))
    return render(
        request,
        "members/pages/profile.html",
        {
            "shop": shop,
            "member": member,
            "form": form,
            "marketing": account.marketing_consent_given(member),
            "rewards_url": selectors.rewards_url(shop),
            "nav": "profile",
        },
        status=400 if form.errors else 200,
    )


@require_POST
@member_required
def marketing(request: HttpRequest, shop_slug: str) -> HttpResponse:
    form = MarketingForm(request.POST)
    granted = form.is_valid() and form.cleaned_data["marketing"]
    record = account.member_marketing_consent_set(member=request.member, granted=granted)
    if record is not None:
        messages.success(
            request,
            _("You will receive news and offers from the shop.")
            if granted
            else _("You will no longer receive news and offers. Your points are not affected."),
        )
    return HttpResponseRedirect(_url("profile", shop_slug))


@require_POST
@member_required
def notices(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Turn LINE news (new tier, points expiring, welcome) on or off; confirmations stay."""
    form = NoticesForm(request.POST)
    wanted = form.is_valid() and form.cleaned_data["notices"]
    if member_notices_set(member=request.member, wanted=wanted):
        messages.success(
            request,
            _("You will get LINE messages about your tier and points that expire soon.")
            if wanted
            else _(
                "You will no longer get LINE news about your tier and expiring points. Messages "
                "confirming your points, rewards and deliveries still come."
            ),
        )
    return HttpResponseRedirect(_url("profile", shop_slug))


def _download(request: HttpRequest, content: bytes, *, content_type: str, ext: str):
    stamp = timezone.localdate().isoformat()
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="my-data-{request.shop.slug}-{stamp}.{ext}"'
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@member_required
def data_json(request: HttpRequest, shop_slug: str) -> HttpResponse:
    return _download(
        request,
        export.member_data_json(request.member),
        content_type="application/json; charset=utf-8",
        ext="json",
    )


@require_GET
@member_required
def data_xlsx(request: HttpRequest, shop_slug: str) -> HttpResponse:
    return _download(
        request,
        export.member_data_xlsx(request.member),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ext="xlsx",
    )


@never_cache
@member_required
def delete_account(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Delete my account, after a confirmation; the session of this shop ends with it."""
    member, shop = request.member, request.shop
    form = DeleteAccountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        account.member_erase(member=member)
        member_auth.sign_out(request, shop)
        return render(request, "members/pages/deleted.html", {"shop": shop})
    return render(
        request,
        "members/pages/delete.html",
        {"shop": shop, "member": member, "form": form, "nav": "profile"},
        status=400 if form.errors else 200,
    )
