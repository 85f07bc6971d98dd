"""Confirming a phone number that has points waiting (``members.phone_claims``): the page, ask
for a code by SMS, type it, or say "not my number". Thin: parse → service → redirect or render."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from loyalty.errors import ApplicationError
from members.member_auth import member_required
from members.pages import selectors
from members.pages.forms import PhoneCodeForm
from members.phone_claims import services
from members.phone_claims.selectors import proof_page


def _url(name: str, shop_slug: str) -> str:
    return reverse(f"member:{name}", kwargs={"shop_slug": shop_slug})


def _page(request: HttpRequest, form: PhoneCodeForm, *, status: int = 200) -> HttpResponse:
    member = request.member
    return render(
        request,
        "members/pages/phone.html",
        {
            "shop": member.shop,
            "member": member,
            "page": proof_page(member),
            "form": form,
            "rewards_url": selectors.rewards_url(member.shop),
            "nav": "card",
        },
        status=status,
    )


@never_cache
@require_GET
@member_required
def phone(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The phone number waiting for proof: send a code, type it, or confirm at the counter."""
    return _page(request, PhoneCodeForm())


@require_POST
@member_required
def phone_send(request: HttpRequest, shop_slug: str) -> HttpResponse:
    try:
        services.phone_code_send(member=request.member)
    except ApplicationError as exc:
        messages.error(request, str(exc))
    return HttpResponseRedirect(_url("phone", shop_slug))


@never_cache
@require_POST
@member_required
def phone_verify(request: HttpRequest, shop_slug: str) -> HttpResponse:
    form = PhoneCodeForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        result = services.phone_claim_prove(member=request.member, code=form.cleaned_data["code"])
    except ApplicationError as exc:
        form.add_error("code" if exc.field == "code" else None, str(exc))
        return _page(request, form, status=400)
    messages.success(
        request,
        _("Your phone number is confirmed. %(points)s points moved to your card.")
        % {"points": f"{result.points:,}"},
    )
    return HttpResponseRedirect(_url("card", shop_slug))


@require_POST
@member_required
def phone_withdraw(request: HttpRequest, shop_slug: str) -> HttpResponse:
    services.phone_claim_withdraw(member=request.member)
    messages.success(request, _("Done. Add the phone number that is yours on your profile page."))
    return HttpResponseRedirect(_url("profile", shop_slug))
