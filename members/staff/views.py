"""The staff app's counter pages: find a member, add points (spend → review → confirm → done, with a
manager's approval above the cashier's limit), today at this branch, void. Views are thin: parse a
form, call a selector or a service, render or redirect. Sign-in and the other account pages are in
``account_views``; the page shell is ``shell.render_staff``."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loyalty.errors import ApplicationError
from loyalty.phones import format_phone_local
from members.ledger.errors import IdempotencyMismatch
from members.models import Member
from members.qr import member_code_resolve
from members.selectors import member_by_phone
from members.staff import approvals, services
from members.staff.approvals import approval_needed
from members.staff.auth import device, staff_required
from members.staff.errors import ApprovalInvalid, ApprovalRequired
from members.staff.forms import ApprovalForm, FindForm, SpendForm, VoidForm
from members.staff.selectors import entry_for_staff, member_for_staff, today_at_branch
from members.staff.shell import render_staff
from shops.staffing.models import StaffAction
from shops.staffing.services import staff_action_record

# --- find a member --------------------------------------------------------------------------------


@never_cache
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    return render_staff(request, "members/staff/find.html", {"form": FindForm()}, nav="home")


def _resolve_code(request: HttpRequest, code: str) -> Member:
    return member_code_resolve(shop=request.staff.shop, code=code, actor=request.user)


@never_cache
@staff_required
@require_POST
def find(request: HttpRequest) -> HttpResponse:
    """Find by phone (any form) or by the member QR's code; an unknown phone offers to add points
    to a new pending member with that phone."""
    staff = request.staff
    form = FindForm(request.POST)
    if not form.is_valid():
        return render_staff(request, "members/staff/find.html", {"form": form}, nav="home")
    phone, code = form.cleaned_data["phone"], form.cleaned_data["code"]
    member = None
    if code:
        try:
            member = _resolve_code(request, code)
        except ApplicationError as exc:
            form.add_error("code", str(exc))
            _record_find(request, None, by="code")
            return render_staff(
                request, "members/staff/find.html", {"form": form}, nav="home", status=404
            )
    else:
        member = member_by_phone(shop=staff.shop, phone=phone)
    _record_find(request, member, by="code" if code else "phone")
    if member is None:
        return _spend_page(request, SpendForm(initial={"phone": phone}), None, phone)
    return redirect("staff:member", member_id=member.public_id)


def _record_find(request: HttpRequest, member: Member | None, *, by: str) -> None:
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


def _member_or_404(request: HttpRequest, member_id: uuid.UUID) -> Member:
    member = member_for_staff(shop=request.staff.shop, public_id=member_id)
    if member is None:
        raise Http404(_("No such member in this shop."))
    return member


# --- add points: spend → review → confirm → done ---------------------------------------------------


@never_cache
@staff_required
@require_GET
def member_page(request: HttpRequest, member_id: uuid.UUID) -> HttpResponse:
    member = _member_or_404(request, member_id)
    form = SpendForm(initial={"member": member.public_id})
    return _spend_page(request, form, member, "")


def _spend_target(request: HttpRequest, form: SpendForm) -> tuple[Member | None, str]:
    """The member the form is about, or (None, phone) for a phone nobody has yet."""
    if form.cleaned_data.get("member"):
        return _member_or_404(request, form.cleaned_data["member"]), ""
    phone = form.cleaned_data["phone"]
    return member_by_phone(shop=request.staff.shop, phone=phone), phone


def _spend_page(request, form, member, phone, *, status=200) -> HttpResponse:
    return render_staff(
        request,
        "members/staff/spend.html",
        {"form": form, "member": member, "phone_display": _phone_display(phone)},
        nav="home",
        status=status,
    )


def _phone_display(phone: str) -> str:
    # A new member's number in full (the cashier checks what they typed); members' are masked.
    return format_phone_local(phone) if phone else ""


@never_cache
@staff_required
@require_POST
def review(request: HttpRequest) -> HttpResponse:
    """Show the points a spend earns (tier multiplier included) before confirming. "Edit" comes
    back here and shows the spend form again with the same hidden key."""
    form = SpendForm(request.POST)
    if "edit" in request.POST:
        form = SpendForm(initial={k: request.POST.get(k, "") for k in form.fields})
        member = None
        if request.POST.get("member"):
            try:
                member = _member_or_404(request, uuid.UUID(request.POST["member"]))
            except ValueError:
                raise Http404 from None
        return _spend_page(request, form, member, request.POST.get("phone", ""))
    if not form.is_valid():
        if form.has_error("member") or form.has_error("phone") or form.has_error("key"):
            return redirect("staff:home")
        member = None
        if form.cleaned_data.get("member"):
            member = _member_or_404(request, form.cleaned_data["member"])
        return _spend_page(request, form, member, request.POST.get("phone", ""), status=422)
    member, phone = _spend_target(request, form)
    try:
        preview = services.points_preview(
            shop=request.staff.shop, amount=form.cleaned_data["amount"], member=member
        )
    except ApplicationError as exc:
        form.add_error("amount", str(exc))
        return _spend_page(request, form, member, phone, status=422)
    return _confirm_page(request, form, member, phone, preview)


def _confirm_page(
    request,
    form,
    member,
    phone,
    preview,
    *,
    approval_form=None,
    approval=None,
    approval_error="",
    status=200,
) -> HttpResponse:
    """The points to add, with the manager-approval step when a cashier's spend is above the
    shop's cashier amount limit (the approval form, or who approved)."""
    staff = request.staff
    needs_approval = approval_needed(user=staff.user, shop=staff.shop, amount=preview.amount)
    return render_staff(
        request,
        "members/staff/confirm.html",
        {
            "form": form,
            "member": member,
            "phone_display": _phone_display(phone),
            "preview": preview,
            "needs_approval": needs_approval,
            "approval_form": approval_form or (ApprovalForm() if needs_approval else None),
            "approval": approval,
            "approval_error": approval_error,
            "cashier_limit": staff.shop.cashier_amount_limit,
        },
        nav="home",
        status=status,
    )


def approval_from(request: HttpRequest, *, purpose: str, amount, form_key, member=None, phone=""):
    """Check the manager's credentials of the approval form in ``request.POST`` and grant the
    approval of this write: ``(approval, form)``, approval None when refused (the form says why,
    the refusal is in the staff audit log)."""
    staff = request.staff
    form = ApprovalForm(request.POST, request=request)
    if not form.is_valid():
        if form.has_error(NON_FIELD_ERRORS):  # credentials were given and failed
            approvals.staff_approval_refused_record(
                cashier=staff.user,
                branch=staff.branch,
                username=form.cleaned_data.get("username", ""),
                reason="locked_out" if form.locked_out else "wrong_secret",
                device=device(request),
            )
        return None, form
    try:
        approval = approvals.staff_approval_grant(
            approver=form.approver,
            cashier=staff.user,
            branch=staff.branch,
            purpose=purpose,
            amount=amount,
            form_key=form_key,
            member=member,
            phone=phone,
            device=device(request),
        )
    except ApplicationError as exc:
        form.add_error(None, str(exc))
        return None, form
    return approval, form


def approval_status(form: ApprovalForm) -> int:
    return 429 if form.locked_out else 403


@never_cache
@staff_required
@require_POST
def approve(request: HttpRequest) -> HttpResponse:
    """A manager approves a cashier's spend above the limit on the cashier's phone; the confirm
    page then carries the approval (a signed token for exactly this spend) to ``confirm``."""
    form = SpendForm(request.POST)
    if not form.is_valid():
        return redirect("staff:home")
    member, phone = _spend_target(request, form)
    try:
        preview = services.points_preview(
            shop=request.staff.shop, amount=form.cleaned_data["amount"], member=member
        )
    except ApplicationError as exc:
        form.add_error("amount", str(exc))
        return _spend_page(request, form, member, phone, status=422)
    approval, approval_form = approval_from(
        request,
        purpose=approvals.Purpose.POINTS,
        amount=preview.amount,
        form_key=form.cleaned_data["key"],
        member=member,
        phone=phone,
    )
    if approval is None:
        return _confirm_page(
            request,
            form,
            member,
            phone,
            preview,
            approval_form=approval_form,
            status=approval_status(approval_form),
        )
    return _confirm_page(request, form, member, phone, preview, approval=approval)


@never_cache
@staff_required
@require_POST
def confirm(request: HttpRequest) -> HttpResponse:
    """Add the points. The hidden key makes a second tap, a resubmit or a retry return the first
    entry (and the same "done" page) instead of adding twice."""
    staff = request.staff
    form = SpendForm(request.POST)
    if not form.is_valid():
        if form.has_error("member") or form.has_error("phone") or form.has_error("key"):
            return redirect("staff:home")
        member = None
        if form.cleaned_data.get("member"):
            member = _member_or_404(request, form.cleaned_data["member"])
        return _spend_page(request, form, member, request.POST.get("phone", ""), status=422)
    member, phone = _spend_target(request, form)
    data = form.cleaned_data
    try:
        result = services.staff_points_add(
            user=staff.user,
            branch=staff.branch,
            amount=data["amount"],
            form_key=data["key"],
            member=member,
            phone=phone or None,
            receipt_no=data["receipt_no"],
            device=device(request),
            approval=request.POST.get("approval") or None,
        )
    except (ApprovalRequired, ApprovalInvalid) as exc:
        # Nothing was written: show the approval step (again) for this spend.
        try:
            preview = services.points_preview(shop=staff.shop, amount=data["amount"], member=member)
        except ApplicationError as refused:
            form.add_error("amount", str(refused))
            return _spend_page(request, form, member, phone, status=422)
        error = "" if isinstance(exc, ApprovalRequired) else str(exc)
        return _confirm_page(
            request, form, member, phone, preview, approval_error=error, status=403
        )
    except IdempotencyMismatch:
        messages.warning(
            request,
            _(
                "This form was already used for another amount, so nothing was added now. "
                "Check Today, then start again."
            ),
        )
        fresh = SpendForm(initial={"member": member.public_id if member else "", "phone": phone})
        return _spend_page(request, fresh, member, phone, status=409)
    except ApplicationError as exc:
        form.add_error("amount" if exc.field == "amount" else None, str(exc))
        return _spend_page(request, form, member, phone, status=422)
    return redirect("staff:done", entry_id=result.entry.public_id)


@never_cache
@staff_required
@require_GET
def done(request: HttpRequest, entry_id: uuid.UUID) -> HttpResponse:
    entry = entry_for_staff(shop=request.staff.shop, public_id=entry_id)
    if entry is None or entry.branch_id != request.staff.branch.pk:
        raise Http404(_("No such transaction at this branch."))
    return render_staff(
        request,
        "members/staff/done.html",
        {"entry": entry, "member": entry.member, "next_form": SpendForm()},
        nav="home",
    )


@never_cache
@staff_required
@require_GET
def preview(request: HttpRequest) -> JsonResponse:
    """``{"ok": true, "points": 20, "multiplier": "1.50"}`` for ``?amount=&member=``, or
    ``{"ok": false, "error": "..."}``: the live points shown while the cashier types."""
    member = None
    if request.GET.get("member"):
        try:
            member = _member_or_404(request, uuid.UUID(request.GET["member"]))
        except ValueError:
            raise Http404 from None
    amount = (request.GET.get("amount") or "").strip()
    try:
        form_amount = SpendForm.base_fields["amount"].clean(amount)
        result = services.points_preview(shop=request.staff.shop, amount=form_amount, member=member)
    except ValidationError as exc:
        return JsonResponse({"ok": False, "error": exc.messages[0]})
    except ApplicationError as exc:
        return JsonResponse({"ok": False, "error": str(exc)})
    return JsonResponse(
        {
            "ok": True,
            "amount": str(result.amount),
            "points": result.points,
            "multiplier": str(result.multiplier),
            "tier": result.tier_name,
        }
    )


# --- today at this branch, void ------------------------------------------------------------------


@never_cache
@staff_required
@require_GET
def today(request: HttpRequest) -> HttpResponse:
    staff = request.staff
    return render_staff(
        request,
        "members/staff/today.html",
        {"today": today_at_branch(branch=staff.branch, user=staff.user)},
        nav="today",
    )


@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def void(request: HttpRequest, entry_id: uuid.UUID) -> HttpResponse:
    """A manager voids one of today's transactions at this branch, with a reason."""
    staff = request.staff
    entry = entry_for_staff(shop=staff.shop, public_id=entry_id)
    if entry is None or entry.branch_id != staff.branch.pk:
        raise Http404(_("No such transaction at this branch."))
    if not staff.can_void:
        return render_staff(
            request, "members/staff/not_allowed.html", {"entry": entry}, nav="today", status=403
        )
    form = VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_entry_void(
                user=staff.user,
                branch=staff.branch,
                entry=entry,
                reason=form.cleaned_data["reason"],
                device=device(request),
            )
        except ApplicationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Voided: %(points)s points taken back from %(name)s.")
                % {"points": entry.points, "name": entry.member.display_name},
            )
            return redirect("staff:today")
    return render_staff(
        request, "members/staff/void.html", {"form": form, "entry": entry}, nav="today"
    )
