"""The member's reward pages: catalogue, a reward, redeem (with a confirmation step), redeem at the
counter, my coupons, a coupon, my deliveries, a delivery.

Thin: parse → service or selector → render or redirect (post/redirect/get). Every view is
``member_required``: the member comes from the session of the URL's shop, and every object is
looked up among that member's own (another shop's or member's id is a 404). URLs carry public
UUIDs (``Reward.public_id``, ``Redemption.public_id``), never sequential ids.

A redemption form carries a hidden UUID rendered with the page: the idempotency key of the one
redemption it may create (``member:<uuid>``), so a double tap, a resubmit or a retry after a lost
answer shows the first coupon instead of redeeming twice.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from loyalty.errors import ApplicationError
from members.ledger.actors import Actor
from members.ledger.errors import IdempotencyMismatch
from members.member_auth import member_required
from members.models import Member
from members.pages.selectors import qr_svg
from rewards import selectors, services
from rewards.barcodes import code128_svg
from rewards.models import Redemption, Reward
from rewards.pages.forms import NEW_ADDRESS, DeliveryRedeemForm, RedeemForm
from rewards.rules import SPOT_CODE_LIFETIME

# --- helpers --------------------------------------------------------------------------------------


def _url(name: str, shop_slug: str, **kwargs) -> str:
    return reverse(f"rewards:{name}", kwargs={"shop_slug": shop_slug, **kwargs})


def _context(request: HttpRequest, **extra) -> dict:
    shop = request.member.shop
    return {
        "shop": shop,
        "member": request.member,
        "nav": "rewards",
        "rewards_url": _url("catalogue", shop.slug),
        **extra,
    }


def _offer_or_404(member: Member, reward_id: uuid.UUID) -> selectors.Offer:
    offer = selectors.member_offer(member, reward_id)
    if offer is None:
        raise Http404(_("No such reward."))
    return offer


def redemption_url(redemption: Redemption, shop_slug: str) -> str:
    """Where a redemption is followed: its delivery, or its coupon."""
    name = "delivery" if redemption.reward_kind == Reward.Kind.DELIVERY else "coupon"
    return _url(name, shop_slug, redemption_id=redemption.public_id)


def member_message(exc: ApplicationError) -> str:
    """A service's refusal in the member's words (the ledger speaks to staff about debt)."""
    if exc.code == "member_has_debt":
        return _(
            "Your points are below zero after a refund; new points pay that back first, "
            "then you can redeem."
        )
    if exc.code == "member_not_active":
        return _("This account cannot redeem rewards.")
    return str(exc)


# --- catalogue and one reward ---------------------------------------------------------------------


@never_cache
@require_GET
@member_required
def catalogue(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The rewards the member can see: what they can redeem now first, then the rest with why not."""
    member = request.member
    return render(
        request,
        "rewards/member/catalogue.html",
        _context(
            request,
            catalogue=selectors.member_catalogue(member),
            section="catalogue",
        ),
    )


@never_cache
@require_GET
@member_required
def detail(request: HttpRequest, shop_slug: str, reward_id: uuid.UUID) -> HttpResponse:
    offer = _offer_or_404(request.member, reward_id)
    return render(
        request,
        "rewards/member/detail.html",
        _context(request, offer=offer, reward=offer.reward, section="catalogue"),
    )


# --- redeem ---------------------------------------------------------------------------------------


def _redeem_form(member: Member, reward: Reward, data=None) -> RedeemForm:
    """The confirmation form, with a new key (a bound form keeps the key it was posted with)."""
    initial = {"key": uuid.uuid4()}
    if reward.kind != Reward.Kind.DELIVERY:
        return RedeemForm(data, initial=initial)
    addresses = selectors.member_addresses(member)
    if addresses:
        initial["saved"] = str(addresses[0].pk)
    else:
        initial.update(
            saved=NEW_ADDRESS,
            recipient=member.full_name,
            phone=member.phone_local,
        )
    return DeliveryRedeemForm(data, initial=initial, addresses=addresses)


def _confirm_page(request, offer, form, *, error: str = "", status: int = 200) -> HttpResponse:
    member = request.member
    return render(
        request,
        "rewards/member/redeem.html",
        _context(
            request,
            offer=offer,
            reward=offer.reward,
            form=form,
            error=error,
            balance_after=member.balance - offer.reward.points_cost,
            section="catalogue",
        ),
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@member_required
def redeem(request: HttpRequest, shop_slug: str, reward_id: uuid.UUID) -> HttpResponse:
    """Confirm and redeem: GET shows what it costs (and asks for the address of a delivered
    reward); POST redeems once per rendered key and goes on to the coupon or the delivery. A
    refusal is shown on the page and nothing changes."""
    member = request.member
    offer = _offer_or_404(member, reward_id)
    reward = offer.reward
    if reward.spot_redemption:
        return HttpResponseRedirect(_url("detail", shop_slug, reward_id=reward.public_id))
    if request.method == "GET":
        if not offer.can_redeem:  # the reward's page says why not
            return HttpResponseRedirect(_url("detail", shop_slug, reward_id=reward.public_id))
        return _confirm_page(request, offer, _redeem_form(member, reward))
    form = _redeem_form(member, reward, request.POST)
    if not form.is_valid():
        if form.has_error("key"):
            # A page without its key (or a forged one): start again rather than guess.
            fresh = _redeem_form(member, reward)
            return _confirm_page(
                request,
                offer,
                fresh,
                error=_("This page has expired. Please check and confirm again."),
                status=400,
            )
        return _confirm_page(request, offer, form, status=400)
    address = form.address_value() if isinstance(form, DeliveryRedeemForm) else None
    try:
        redemption, replayed = services.reward_redeem(
            member=member,
            reward=reward,
            idempotency_key=f"member:{form.cleaned_data['key']}",
            actor=Actor.member(),
            address=address,
        )
    except IdempotencyMismatch:
        fresh = _redeem_form(member, reward)
        return _confirm_page(
            request,
            offer,
            fresh,
            error=_("This form was already used for another reward. Nothing was redeemed now."),
            status=409,
        )
    except ApplicationError as exc:
        message = member_message(exc)
        if exc.field in form.fields and exc.field != "key":
            form.add_error(exc.field, message)
        return _confirm_page(request, offer, form, error=message, status=422)
    if not replayed:
        messages.success(
            request,
            # Translators: Thai: แลกสำเร็จ ใช้ไป %(points)s พอยท์
            _("Redeemed! %(points)s points used.") % {"points": f"{redemption.points:,}"},
        )
    return HttpResponseRedirect(redemption_url(redemption, shop_slug))


# --- redeem at the counter (spot codes) -----------------------------------------------------------


def _spot_state(spot) -> str:
    if spot is None:
        return "none"
    if spot.redemption_id:
        return "confirmed"
    if spot.expires_at <= timezone.now():
        return "lapsed"
    return "open"


@never_cache
@require_http_methods(["GET", "POST"])
@member_required
def counter(request: HttpRequest, shop_slug: str, reward_id: uuid.UUID) -> HttpResponse:
    """Redeem at the counter: POST asks for a 6-digit code (or shows the one still open), GET
    shows it with its 5-minute countdown. Nothing is deducted until the cashier confirms it."""
    member = request.member
    offer = _offer_or_404(member, reward_id)
    reward = offer.reward
    if not reward.spot_redemption:
        raise Http404(_("This reward is not redeemed at the counter."))
    here = _url("counter", shop_slug, reward_id=reward.public_id)
    if request.method == "POST":
        # A second tap shows the code already open instead of issuing another one.
        if selectors.open_spot_code(member, reward) is None:
            try:
                services.spot_code_issue(member=member, reward=reward)
            except ApplicationError as exc:
                messages.error(request, member_message(exc))
                return HttpResponseRedirect(_url("detail", shop_slug, reward_id=reward.public_id))
        return HttpResponseRedirect(here)
    spot = selectors.member_spot_code(member, reward)
    state = _spot_state(spot)
    seconds_left = 0
    if state == "open":
        seconds_left = max(int((spot.expires_at - timezone.now()).total_seconds()), 0)
    return render(
        request,
        "rewards/member/counter.html",
        _context(
            request,
            offer=offer,
            reward=reward,
            spot=spot,
            state=state,
            seconds_left=seconds_left,
            countdown=f"{seconds_left // 60}:{seconds_left % 60:02d}",
            lifetime=int(SPOT_CODE_LIFETIME.total_seconds()),
            status_url=_url("counter_status", shop_slug, reward_id=reward.public_id),
            coupon_url=(redemption_url(spot.redemption, shop_slug) if state == "confirmed" else ""),
            section="catalogue",
        ),
    )


@never_cache
@require_GET
@member_required
def counter_status(request: HttpRequest, shop_slug: str, reward_id: uuid.UUID) -> JsonResponse:
    """``{"state": "open" | "lapsed" | "confirmed" | "none", ...}``: the counter page asks every
    few seconds, to move on to the coupon as soon as the cashier confirms."""
    member = request.member
    reward = selectors.reward_by_public_id(shop_id=member.shop_id, public_id=reward_id)
    if reward is None:
        raise Http404
    spot = selectors.member_spot_code(member, reward)
    state = _spot_state(spot)
    payload = {"state": state}
    if state == "open":
        payload["seconds_left"] = max(int((spot.expires_at - timezone.now()).total_seconds()), 0)
    if state == "confirmed":
        payload["url"] = redemption_url(spot.redemption, shop_slug)
    return JsonResponse(payload)


# --- my coupons -----------------------------------------------------------------------------------


@never_cache
@require_GET
@member_required
def coupons(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """My coupons, by tab: ready to use, used, expired (and cancelled, when there are any)."""
    member = request.member
    tab = request.GET.get("tab", selectors.ACTIVE)
    if tab not in selectors.COUPON_TABS:
        tab = selectors.ACTIVE
    counts = selectors.member_coupon_counts(member)
    tabs = [
        # Translators: Thai: พร้อมใช้
        (selectors.ACTIVE, _("Ready to use")),
        # Translators: Thai: ใช้แล้ว
        (selectors.USED, _("Used")),
        # Translators: Thai: หมดอายุ
        (selectors.EXPIRED, _("Expired")),
    ]
    if counts[selectors.CANCELLED] or tab == selectors.CANCELLED:
        # Translators: Thai: ยกเลิก
        tabs.append((selectors.CANCELLED, _("Cancelled")))
    return render(
        request,
        "rewards/member/coupons.html",
        _context(
            request,
            tab=tab,
            tabs=[(key, label, counts[key]) for key, label in tabs],
            lines=selectors.member_coupons(member, tab=tab),
            section="coupons",
        ),
    )


@never_cache
@require_GET
@member_required
def coupon(request: HttpRequest, shop_slug: str, redemption_id: uuid.UUID) -> HttpResponse:
    """One coupon: the code as text, a QR code and a Code128 barcode for the cashier's scanner,
    the platform code of another platform's reward, until when it is valid, and what was redeemed
    (the redemption's snapshot)."""
    member = request.member
    found = selectors.member_coupon(member, redemption_id)
    if found is None:
        raise Http404(_("No such coupon."))
    redemption = found.redemption
    state = selectors.coupon_state(found)
    in_store = redemption.reward_kind == Reward.Kind.AUTO_CODE
    return render(
        request,
        "rewards/member/coupon.html",
        _context(
            request,
            coupon=found,
            redemption=redemption,
            state=state,
            image_url=selectors.snapshot_image_url(redemption.reward_image),
            in_store=in_store,
            qr_svg=qr_svg(found.code) if in_store and state == selectors.ACTIVE else "",
            barcode_svg=(
                code128_svg(found.code, label=_("Barcode %(code)s") % {"code": found.code})
                if in_store and state == selectors.ACTIVE
                else ""
            ),
            # The snapshot has no platform; the name of the platform is the reward's today.
            platform=redemption.reward.platform,
            section="coupons",
        ),
    )


# --- my deliveries --------------------------------------------------------------------------------


@never_cache
@require_GET
@member_required
def deliveries(request: HttpRequest, shop_slug: str) -> HttpResponse:
    return render(
        request,
        "rewards/member/deliveries.html",
        _context(
            request,
            lines=selectors.member_deliveries(request.member),
            section="deliveries",
        ),
    )


@never_cache
@require_GET
@member_required
def delivery(request: HttpRequest, shop_slug: str, redemption_id: uuid.UUID) -> HttpResponse:
    """A delivered reward's progress (waiting → preparing → shipped with the carrier and tracking
    number → delivered, or cancelled with the points returned) and where it goes."""
    found = selectors.member_delivery(request.member, redemption_id)
    if found is None:
        raise Http404(_("No such delivery."))
    return render(
        request,
        "rewards/member/delivery.html",
        _context(
            request,
            delivery=found,
            redemption=found.redemption,
            steps=selectors.delivery_steps(found),
            image_url=selectors.snapshot_image_url(found.redemption.reward_image),
            section="deliveries",
        ),
    )
