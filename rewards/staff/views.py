"""The cashier's side of rewards in the staff app: use a coupon (or confirm a member's spot code)
and hand a delivered reward over in the store. Thin views: parse a form, call a service or a
selector, render or redirect. Each confirmation carries a hidden key, so a double tap or a
resubmit shows the first result instead of acting twice."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loyalty.errors import ApplicationError
from members.ledger.errors import IdempotencyMismatch
from members.models import Member
from members.qr import member_code_resolve
from members.selectors import member_by_phone
from members.staff.auth import device, staff_required
from members.staff.forms import FindForm
from members.staff.selectors import member_for_staff
from members.staff.shell import render_staff
from rewards import services
from rewards.models import Coupon, Delivery
from rewards.selectors import snapshot_image_url
from rewards.staff import services as staff_services
from rewards.staff.forms import CounterCodeForm, CounterConfirmForm, KeyedForm, code_kind
from rewards.staff.selectors import (
    coupon_used_at_branch,
    deliveries_to_hand_over,
    delivery_for_staff,
)
from shops.staffing.models import StaffAction
from shops.staffing.services import staff_action_record

# The answer's status for each refusal: unknown → 404, already done → 409, no longer valid → 410.
REFUSAL_STATUS = {
    "unknown_coupon": 404,
    "unknown_code": 404,
    "unknown_delivery": 404,
    "coupon_used": 409,
    "spot_code_confirmed": 409,
    "delivery_delivered": 409,
    "coupon_expired": 410,
    "coupon_cancelled": 410,
    "code_lapsed": 410,
    "delivery_cancelled": 410,
}


def _status_of(error: ApplicationError) -> int:
    return REFUSAL_STATUS.get(error.code, error.http_status)


def _record_lookup(request: HttpRequest, member: Member | None, *, by: str) -> None:
    staff = request.staff
    staff_action_record(
        user=staff.user,
        kind=StaffAction.Kind.FIND,
        branch=staff.branch,
        obj=member,
        label=member.display_name if member else _("no member found"),
        detail={"by": by, "found": member is not None},
        device=device(request),
    )


# --- use a coupon / confirm a spot code ----------------------------------------------------------


def _scan_page(request: HttpRequest, form: CounterCodeForm, *, status: int = 200) -> HttpResponse:
    return render_staff(
        request, "rewards/staff/coupon.html", {"form": form}, nav="coupon", status=status
    )


def _refused_scan(request: HttpRequest, code: str, error: ApplicationError) -> HttpResponse:
    form = CounterCodeForm(data={"code": code})
    form.is_valid()
    form.add_error("code", str(error))
    return _scan_page(request, form, status=_status_of(error))


def _coupon_status(coupon: Coupon) -> str:
    status = coupon.status
    if status == Coupon.Status.ISSUED and coupon.expires_on < timezone.localdate():
        status = Coupon.Status.EXPIRED
    return status


def _review_coupon(request, code: str, error: ApplicationError | None) -> HttpResponse:
    try:
        coupon = services.coupon_find(shop=request.staff.shop, code=code)
    except ApplicationError as exc:
        if error is None:
            _record_lookup(request, None, by="coupon")
        return _refused_scan(request, code, exc)
    if error is None:
        _record_lookup(request, coupon.member, by="coupon")
    problem = (
        error or services.coupon_state_error(coupon) or staff_services.coupon_counter_error(coupon)
    )
    redemption = coupon.redemption
    status = _coupon_status(coupon)
    context = {
        "kind": "coupon",
        "code": coupon.code,
        "reward_name": redemption.reward_name,
        "image_url": snapshot_image_url(redemption.reward_image),
        "terms": redemption.reward_terms,
        "member": coupon.member,
        "coupon": coupon,
        "status": status,
        "status_label": Coupon.Status(status).label,
        "problem": problem,
        "form": None if problem else CounterConfirmForm(initial={"code": coupon.code}),
    }
    return render_staff(
        request,
        "rewards/staff/coupon_review.html",
        context,
        nav="coupon",
        status=_status_of(problem) if problem else 200,
    )


def _review_spot(request, code: str, error: ApplicationError | None) -> HttpResponse:
    try:
        spot = services.spot_code_find(shop=request.staff.shop, code=code)
    except ApplicationError as exc:
        if error is None:
            _record_lookup(request, None, by="spot_code")
        return _refused_scan(request, code, exc)
    if error is None:
        _record_lookup(request, spot.member, by="spot_code")
    problem = error or services.spot_code_refusal(spot)
    reward = spot.reward
    context = {
        "kind": "spot",
        "code": spot.code,
        "reward_name": reward.name,
        "image_url": reward.image.url if reward.image else "",
        "terms": reward.terms,
        "member": spot.member,
        "spot": spot,
        "points": reward.points_cost,
        "seconds_left": max(int((spot.expires_at - timezone.now()).total_seconds()), 0),
        "problem": problem,
        "form": None if problem else CounterConfirmForm(initial={"code": spot.code}),
    }
    return render_staff(
        request,
        "rewards/staff/coupon_review.html",
        context,
        nav="coupon",
        status=_status_of(problem) if problem else 200,
    )


def _review(request, code: str, error: ApplicationError | None = None) -> HttpResponse:
    if code_kind(code) == "spot":
        return _review_spot(request, code, error)
    return _review_coupon(request, code, error)


@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def coupon(request: HttpRequest) -> HttpResponse:
    """Scan or type a coupon code (or a member's 6-digit spot code) → the review page: reward,
    member, validity, status, and "Use" when it can be used, else why not. Changes nothing."""
    if request.method == "GET":
        return _scan_page(request, CounterCodeForm())
    form = CounterCodeForm(request.POST)
    if not form.is_valid():
        return _scan_page(request, form, status=422)
    return _review(request, form.cleaned_data["code"])


@never_cache
@staff_required
@require_POST
def coupon_confirm(request: HttpRequest) -> HttpResponse:
    """Use the coupon, or confirm the spot code (the points are deducted now), at this branch.
    The hidden key makes a second tap or a resubmit show the first result."""
    staff = request.staff
    form = CounterConfirmForm(request.POST)
    if not form.is_valid():
        return redirect("staff:coupon")
    code, key = form.cleaned_data["code"], form.cleaned_data["key"]
    use = (
        staff_services.spot_code_confirm_at_counter
        if code_kind(code) == "spot"
        else staff_services.coupon_use_at_counter
    )
    try:
        result = use(
            user=staff.user, branch=staff.branch, code=code, form_key=key, device=device(request)
        )
    except IdempotencyMismatch:
        messages.warning(request, _("This form was already used for another code. Start again."))
        return redirect("staff:coupon")
    except ApplicationError as exc:
        return _review(request, code, exc)
    return redirect("staff:coupon_done", redemption_id=result.redemption.public_id)


@never_cache
@staff_required
@require_GET
def coupon_done(request: HttpRequest, redemption_id: uuid.UUID) -> HttpResponse:
    redemption = coupon_used_at_branch(branch=request.staff.branch, redemption_id=redemption_id)
    if redemption is None:
        raise Http404(_("No coupon used at this branch with this ID."))
    return render_staff(
        request,
        "rewards/staff/coupon_done.html",
        {
            "redemption": redemption,
            "coupon": redemption.coupon,
            "member": redemption.member,
            "image_url": snapshot_image_url(redemption.reward_image),
            "is_spot": redemption.is_spot,
        },
        nav="coupon",
    )


# --- hand a delivery over in the store -----------------------------------------------------------


def _find_page(request: HttpRequest, form: FindForm, *, status: int = 200) -> HttpResponse:
    return render_staff(
        request, "rewards/staff/delivery_find.html", {"form": form}, nav="delivery", status=status
    )


@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def delivery(request: HttpRequest) -> HttpResponse:
    """Find the member whose gift is collected: by phone or by their member QR code."""
    if request.method == "GET":
        return _find_page(request, FindForm())
    shop = request.staff.shop
    form = FindForm(request.POST)
    if not form.is_valid():
        return _find_page(request, form, status=422)
    phone, code = form.cleaned_data["phone"], form.cleaned_data["code"]
    by = "code" if code else "phone"
    if code:
        try:
            member = member_code_resolve(shop=shop, code=code, actor=request.user)
        except ApplicationError as exc:
            _record_lookup(request, None, by=by)
            form.add_error("code", str(exc))
            return _find_page(request, form, status=404)
    else:
        member = member_by_phone(shop=shop, phone=phone)
    _record_lookup(request, member, by=by)
    if member is None:
        form.add_error("phone", _("No member of this shop has this phone number."))
        return _find_page(request, form, status=404)
    return redirect("staff:delivery_member", member_id=member.public_id)


def _member_deliveries(
    request: HttpRequest, member: Member, *, error: ApplicationError | None = None
) -> HttpResponse:
    deliveries = list(deliveries_to_hand_over(shop=request.staff.shop, member_id=member.pk))
    for item in deliveries:
        item.image_url = snapshot_image_url(item.redemption.reward_image)
        item.form = KeyedForm()  # its own key: one tap hands over this gift once
    return render_staff(
        request,
        "rewards/staff/delivery_member.html",
        {"member": member, "deliveries": deliveries, "error": error},
        nav="delivery",
        status=_status_of(error) if error else 200,
    )


@never_cache
@staff_required
@require_GET
def delivery_member(request: HttpRequest, member_id: uuid.UUID) -> HttpResponse:
    """The member's deliveries not yet delivered or cancelled, each with "Hand over"."""
    member = member_for_staff(shop=request.staff.shop, public_id=member_id)
    if member is None:
        raise Http404(_("No such member in this shop."))
    return _member_deliveries(request, member)


@never_cache
@staff_required
@require_POST
def delivery_hand_over(request: HttpRequest, redemption_id: uuid.UUID) -> HttpResponse:
    """Mark the delivery delivered at this branch; a second tap shows the first result."""
    staff = request.staff
    found = delivery_for_staff(shop=staff.shop, redemption_id=redemption_id)
    if found is None:
        raise Http404(_("No such delivery in this shop."))
    form = KeyedForm(request.POST)
    if not form.is_valid():
        return redirect("staff:delivery_member", member_id=found.member.public_id)
    try:
        result = staff_services.delivery_hand_over(
            user=staff.user,
            branch=staff.branch,
            delivery=found,
            form_key=form.cleaned_data["key"],
            device=device(request),
        )
    except ApplicationError as exc:
        return _member_deliveries(request, found.member, error=exc)
    return redirect("staff:delivery_done", redemption_id=result.redemption.public_id)


@never_cache
@staff_required
@require_GET
def delivery_done(request: HttpRequest, redemption_id: uuid.UUID) -> HttpResponse:
    staff = request.staff
    found = delivery_for_staff(shop=staff.shop, redemption_id=redemption_id)
    if (
        found is None
        or found.status != Delivery.Status.DELIVERED
        or found.handed_over_branch_id != staff.branch.pk
    ):
        raise Http404(_("No delivery handed over at this branch with this ID."))
    return render_staff(
        request,
        "rewards/staff/delivery_done.html",
        {
            "delivery": found,
            "member": found.member,
            "image_url": snapshot_image_url(found.redemption.reward_image),
        },
        nav="delivery",
    )
