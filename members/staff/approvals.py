"""A manager's approval of a cashier's purchase above the shop's cashier amount limit
(``Shop.cashier_amount_limit``), given on the cashier's phone.

The manager proves who they are with their password or their approval PIN (``ApprovalForm``,
through ``authenticate`` so that django-axes counts failures and locks the username out as it does
at sign-in). ``staff_approval_grant`` then checks that they may approve here and returns a signed
token bound to exactly one write: its purpose (points or a points QR code), shop, branch, cashier,
amount, member or phone, and the form's idempotency key. The token lives a few minutes
(``APPROVAL_LIFETIME``); the page cannot forge or widen it, and it can make at most one entry,
because the entry's ledger key is the form's key (a second use is a replay of the first).
``approval_check`` verifies it when the write happens and names the manager, whom the ledger
entry records (``LedgerEntry.approved_by``).

The Open API and imports are not limited: they are not a cashier at a counter.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from members.models import Member
from members.staff.errors import ApprovalInvalid, ApprovalRefused, ApprovalRequired
from shops.models import Branch, Shop, User
from shops.staffing.models import StaffAction
from shops.staffing.services import Device, staff_action_record

APPROVAL_LIFETIME = dt.timedelta(minutes=getattr(settings, "LOYALTY_APPROVAL_MINUTES", 5))
APPROVER_ROLES = (User.Role.OWNER, User.Role.MANAGER)
_SALT = "members.staff.approval"


class Purpose:
    POINTS = "points"  # add points to a member or a phone
    CLAIM = "claim"  # a points QR code


@dataclass(frozen=True)
class Approval:
    token: str
    approver: User


def approval_needed(*, user: User, shop: Shop, amount: Decimal) -> bool:
    """Whether ``user`` needs a manager's approval for a purchase of ``amount``: a cashier above
    the shop's cashier amount limit (owners and managers never do)."""
    return user.role == User.Role.CASHIER and amount > shop.cashier_amount_limit


def approval_required_error(shop: Shop) -> ApprovalRequired:
    return ApprovalRequired(
        _(
            "Purchases above %(limit)s baht need a manager's approval: ask a manager to approve "
            "on this phone."
        )
        % {"limit": f"{shop.cashier_amount_limit:,}"}
    )


def _subject(
    *,
    purpose: str,
    cashier: User,
    branch: Branch,
    amount: Decimal,
    form_key: uuid.UUID | str,
    member: Member | None,
    phone: str,
) -> dict:
    return {
        "purpose": purpose,
        "shop": branch.shop_id,
        "branch": branch.pk,
        "cashier": cashier.pk,
        "amount": str(amount),
        "member": str(member.public_id) if member is not None else "",
        "phone": "" if member is not None else (phone or ""),
        "key": str(uuid.UUID(str(form_key))),
    }


def _may_approve(approver: User, *, cashier: User, branch: Branch) -> bool:
    return (
        approver.is_active
        and approver.pk != cashier.pk
        and approver.shop_id == branch.shop_id
        and approver.role in APPROVER_ROLES
    )


def staff_approval_refused_record(
    *, cashier: User, branch: Branch, username: str, reason: str, device: Device | None = None
) -> None:
    """Record in the staff audit log that an approval failed (``reason``: "wrong_secret",
    "locked_out" or "not_allowed"), with the username that was tried."""
    staff_action_record(
        user=cashier,
        kind=StaffAction.Kind.APPROVE_REFUSED,
        branch=branch,
        label=username[:150],
        detail={"username": username[:150], "reason": reason},
        device=device,
    )


def staff_approval_grant(
    *,
    approver: User,
    cashier: User,
    branch: Branch,
    purpose: str,
    amount: Decimal,
    form_key: uuid.UUID | str,
    member: Member | None = None,
    phone: str = "",
    device: Device | None = None,
) -> Approval:
    """``approver`` (already authenticated) approves ``cashier``'s write of ``amount`` at
    ``branch``: refused unless they are an active owner or manager of the same shop (not the
    cashier). Records the approval in the staff audit log under the approver's name and returns
    the token that ``approval_check`` accepts for this write only, for ``APPROVAL_LIFETIME``."""
    if not _may_approve(approver, cashier=cashier, branch=branch):
        staff_approval_refused_record(
            cashier=cashier,
            branch=branch,
            username=approver.get_username(),
            reason="not_allowed",
            device=device,
        )
        raise ApprovalRefused(_("Only a manager or the owner of this shop can approve."))
    subject = _subject(
        purpose=purpose,
        cashier=cashier,
        branch=branch,
        amount=amount,
        form_key=form_key,
        member=member,
        phone=phone,
    )
    staff_action_record(
        user=approver,
        kind=StaffAction.Kind.APPROVE,
        branch=branch,
        obj=member,
        label=f"{cashier.get_username()} {amount:,} ฿",
        detail={
            "cashier": cashier.get_username(),
            "amount": str(amount),
            "purpose": purpose,
            "member": subject["member"],
            "phone": subject["phone"],
        },
        device=device,
    )
    token = signing.dumps({**subject, "approver": approver.pk}, salt=_SALT)
    return Approval(token, approver)


def approval_check(
    *,
    token: str | None,
    cashier: User,
    branch: Branch,
    purpose: str,
    amount: Decimal,
    form_key: uuid.UUID | str,
    member: Member | None = None,
    phone: str = "",
) -> User:
    """The manager who approved exactly this write, or a refusal: ``ApprovalRequired`` without a
    token, ``ApprovalInvalid`` for a token that has expired, was made for another write (another
    amount, member, form, cashier, branch) or whose manager may no longer approve."""
    if not token:
        raise approval_required_error(branch.shop)
    try:
        signed = signing.loads(token, salt=_SALT, max_age=APPROVAL_LIFETIME)
    except signing.SignatureExpired:
        raise ApprovalInvalid(
            _("The manager's approval has expired. Ask them to approve again.")
        ) from None
    except signing.BadSignature:
        signed = None
    expected = _subject(
        purpose=purpose,
        cashier=cashier,
        branch=branch,
        amount=amount,
        form_key=form_key,
        member=member,
        phone=phone,
    )
    if not isinstance(signed, dict) or {k: signed.get(k) for k in expected} != expected:
        raise ApprovalInvalid(
            _("This approval was for another purchase. Ask the manager to approve this one.")
        )
    approver = User.objects.filter(pk=signed.get("approver")).first()
    if approver is None or not _may_approve(approver, cashier=cashier, branch=branch):
        raise ApprovalInvalid(
            _("The manager who approved can no longer approve. Ask another manager.")
        )
    return approver
