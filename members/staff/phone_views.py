"""The cashier confirms a member's phone number at the counter (``members.phone_claims``): the
member's screen (found by QR or phone) shows the number waiting for proof; this page shows it in
full with what it holds, and the cashier confirms after checking the customer's phone or ID."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from loyalty.errors import ApplicationError
from members.phone_claims.services import open_claim, phone_claim_confirm_at_counter
from members.staff.auth import device, staff_required
from members.staff.forms import PhoneConfirmForm
from members.staff.selectors import member_for_staff, pending_balance
from members.staff.shell import render_staff


@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def phone_confirm(request: HttpRequest, member_id: uuid.UUID) -> HttpResponse:
    staff = request.staff
    member = member_for_staff(shop=staff.shop, public_id=member_id)
    if member is None:
        raise Http404(_("No such member in this shop."))
    claim = open_claim(member)
    if claim is None:
        messages.info(request, _("This member has no phone number waiting to be confirmed."))
        return redirect("staff:member", member_id=member.public_id)
    form = PhoneConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            result = phone_claim_confirm_at_counter(
                user=staff.user, branch=staff.branch, member=member, device=device(request)
            )
        except ApplicationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Phone number confirmed: %(points)s points moved to %(name)s.")
                % {"points": f"{result.points:,}", "name": result.member.display_name},
            )
            return redirect("staff:member", member_id=member.public_id)
    return render_staff(
        request,
        "members/staff/phone_confirm.html",
        {
            "form": form,
            "member": member,
            "claim": claim,
            "pending_balance": pending_balance(member_id=claim.pending_id),
        },
        nav="home",
        status=400 if form.errors else 200,
    )
