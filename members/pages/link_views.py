"""``/m/<shop>/link/?linkToken=…``: the shop's page in LINE's account-link flow
(``members.line.accountlink``). The person types their phone, gets a code by SMS, types it, and is
sent to LINE's dialog with the link token and a one-time nonce. Thin: parse → service → render or
redirect. The link token and the code's id are kept in the session, per shop."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from loyalty.errors import ApplicationError
from members.line import accountlink
from members.member_auth import member_shop
from members.pages.forms import LinkPhoneForm, PhoneCodeForm

SESSION_KEY = "account_link:"
MAX_LINK_TOKEN = 200


@never_cache
def link(request: HttpRequest, shop_slug: str) -> HttpResponse:
    shop = member_shop(shop_slug, request)
    key = SESSION_KEY + shop.slug
    state = dict(request.session.get(key) or {})
    token = request.GET.get("linkToken", "")
    if token and len(token) <= MAX_LINK_TOKEN and token != state.get("token"):
        state = {"token": token}  # a new link from the chat starts over
        request.session[key] = state
    if not state.get("token"):
        return _page(request, shop, status=400, missing=True)
    phone_form, code_form = LinkPhoneForm(), PhoneCodeForm()
    if request.method == "POST" and request.POST.get("step") == "send":
        phone_form = LinkPhoneForm(request.POST)
        if phone_form.is_valid():
            try:
                code = accountlink.account_link_code_send(
                    shop=shop, phone=phone_form.cleaned_data["phone"]
                )
            except ApplicationError as exc:
                phone_form.add_error("phone", str(exc))
            else:
                request.session[key] = {**state, "code": code.pk}
                return HttpResponseRedirect(_url(shop.slug))
        return _page(request, shop, phone_form=phone_form, code_form=code_form, status=400)
    if request.method == "POST" and request.POST.get("step") == "verify" and state.get("code"):
        code_form = PhoneCodeForm(request.POST)
        if code_form.is_valid():
            try:
                nonce = accountlink.account_link_prove(
                    shop=shop, code_id=state["code"], code=code_form.cleaned_data["code"]
                )
            except ApplicationError as exc:
                code_form.add_error("code" if exc.field == "code" else None, str(exc))
            else:
                del request.session[key]
                return HttpResponseRedirect(
                    accountlink.account_link_dialog_url(
                        link_token=state["token"], nonce=nonce.nonce
                    )
                )
        return _page(
            request, shop, phone_form=phone_form, code_form=code_form, sent=True, status=400
        )
    return _page(
        request, shop, phone_form=phone_form, code_form=code_form, sent=bool(state.get("code"))
    )


def _url(shop_slug: str) -> str:
    return reverse("member:link", kwargs={"shop_slug": shop_slug})


def _page(request, shop, *, status=200, missing=False, sent=False, phone_form=None, code_form=None):
    return render(
        request,
        "members/pages/link.html",
        {
            "shop": shop,
            "missing": missing,
            "sent": sent,
            "phone_form": phone_form,
            "code_form": code_form,
        },
        status=status,
    )
