"""Points QR codes, the cashier's side: type a spend, show a one-time QR code, watch it being
collected (or cancel it). The member's side is ``members.staff.member_views``."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loyalty.errors import ApplicationError
from loyalty.links import absolute_url
from members.staff import approvals, services
from members.staff.auth import device, staff_required
from members.staff.errors import ApprovalInvalid, ApprovalRequired
from members.staff.forms import ApprovalForm, ClaimForm
from members.staff.models import PointsClaim
from members.staff.selectors import claim_for_staff
from members.staff.shell import render_staff
from members.staff.views import approval_from, approval_status
from shops.staffing.links import qr_svg


def claim_link(request: HttpRequest, claim: PointsClaim) -> str:
    return absolute_url(
        request,
        reverse("member-claim", kwargs={"shop_slug": claim.shop.slug, "token": claim.token}),
    )


def _claim_or_404(request: HttpRequest, claim_id: uuid.UUID) -> PointsClaim:
    claim = claim_for_staff(shop=request.staff.shop, public_id=claim_id)
    if claim is None or claim.branch_id != request.staff.branch.pk:
        raise Http404(_("No such points QR code at this branch."))
    claim.shop = request.staff.shop
    return claim


@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def claim_new(request: HttpRequest) -> HttpResponse:
    """Type a spend, then show its QR code. A cashier's spend above the shop's cashier amount
    limit first needs a manager's approval on this phone ("approve" in the POST), which the page
    then carries to the QR code's creation."""
    staff = request.staff
    form = ClaimForm(request.POST or None)
    context = {"form": form, "cashier_limit": staff.shop.cashier_amount_limit}
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "approve" in request.POST:
            approval, approval_form = approval_from(
                request,
                purpose=approvals.Purpose.CLAIM,
                amount=data["amount"],
                form_key=data["key"],
            )
            context.update(approval=approval, approval_form=approval_form)
            if approval is None:
                context["needs_approval"] = True
                status = approval_status(approval_form)
            return _claim_new_page(request, context, status)
        try:
            claim, _replayed = services.points_claim_create(
                user=staff.user,
                branch=staff.branch,
                amount=data["amount"],
                form_key=data["key"],
                receipt_no=data["receipt_no"],
                device=device(request),
                approval=request.POST.get("approval") or None,
            )
        except (ApprovalRequired, ApprovalInvalid) as exc:
            context.update(
                needs_approval=True,
                approval_form=ApprovalForm(),
                approval_error="" if isinstance(exc, ApprovalRequired) else str(exc),
            )
            return _claim_new_page(request, context, 403)
        except ApplicationError as exc:
            form.add_error("amount" if exc.field == "amount" else None, str(exc))
        else:
            return redirect("staff:claim", claim_id=claim.public_id)
    return _claim_new_page(request, context, 422 if form.errors else status)


def _claim_new_page(request: HttpRequest, context: dict, status: int) -> HttpResponse:
    return render_staff(
        request, "members/staff/claim_new.html", context, nav="claim", status=status
    )


def _status(claim: PointsClaim) -> dict:
    state = claim.state
    data = {
        "state": state,
        "label": str(PointsClaim.State(state).label),
        "seconds_left": max(int((claim.expires_at - timezone.now()).total_seconds()), 0),
    }
    if state == PointsClaim.State.CLAIMED:
        data.update(
            {
                "member": claim.claimed_by.display_name,
                "points": claim.entry.points,
                "balance": claim.entry.balance_after,
            }
        )
    return data


@never_cache
@staff_required
@require_GET
def claim_detail(request: HttpRequest, claim_id: uuid.UUID) -> HttpResponse:
    claim = _claim_or_404(request, claim_id)
    link = claim_link(request, claim)
    preview = services.points_preview(shop=claim.shop, amount=claim.amount)
    return render_staff(
        request,
        "members/staff/claim.html",
        {
            "claim": claim,
            "status": _status(claim),
            "link": link,
            "qr": qr_svg(link, scale=7) if claim.state == PointsClaim.State.OPEN else "",
            "preview": preview,
        },
        nav="claim",
    )


@never_cache
@staff_required
@require_GET
def claim_status(request: HttpRequest, claim_id: uuid.UUID) -> JsonResponse:
    """The claim's state for the cashier's screen to poll: open, claimed (by whom, how many
    points), expired or cancelled."""
    return JsonResponse(_status(_claim_or_404(request, claim_id)))


@staff_required
@require_POST
def claim_cancel(request: HttpRequest, claim_id: uuid.UUID) -> HttpResponse:
    claim = _claim_or_404(request, claim_id)
    try:
        services.points_claim_cancel(user=request.staff.user, claim=claim, device=device(request))
    except ApplicationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The points QR code is cancelled."))
    return redirect("staff:claim", claim_id=claim.public_id)
