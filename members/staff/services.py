"""Every write of the staff app: add points at the counter, make / cancel / collect a points QR
code, void one of today's transactions. Points move only through ``members.ledger.services``.

Each staff write is checked here, not only in the view: the person must be active staff of the
shop and allowed at the branch (a cashier at their own branches; owners and managers anywhere in
their shop), and every action is recorded in the shop's staff audit log in the same transaction.

Lock order: Shop → Member → points claim. Collecting a claim locks the member first (as every
ledger write does), then the claim row; nothing locks a claim and then a member, so two phones
racing for one claim queue on the claim and the second finds it used.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import ApplicationError, InvalidInput, NotFound
from members.ledger.actors import Actor
from members.ledger.errors import (
    CannotReverse,
    IdempotencyMismatch,
    InvalidBranch,
)
from members.ledger.locks import lock_member
from members.ledger.models import Channel, EntryKind, LedgerEntry
from members.ledger.services import (
    EarnResult,
    clean_amount,
    entry_reverse,
    points_earn,
    points_quote,
    purchase_reverse,
)
from members.models import Member
from members.staff.approvals import Purpose, approval_check, approval_needed
from members.staff.errors import (
    ClaimCancelled,
    ClaimExpired,
    ClaimNotFound,
    ClaimUsed,
    StaffNotAllowed,
)
from members.staff.models import PointsClaim
from members.staff.selectors import STAFF_ROLES, VOIDING_ROLES
from shops.models import Branch, Shop, User
from shops.staffing.models import StaffAction
from shops.staffing.services import Device, staff_action_record

# How long a points QR code can be collected: long enough to open LINE and scan, short enough that
# a photo of the screen is useless by the time it is shared.
CLAIM_LIFETIME = dt.timedelta(minutes=getattr(settings, "LOYALTY_CLAIM_MINUTES", 5))
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def staff_key(form_key: uuid.UUID | str) -> str:
    """The ledger idempotency key of a staff form: ``staff:<uuid rendered into the form>``."""
    return f"staff:{uuid.UUID(str(form_key))}"


def check_staff_at_branch(*, user: User, branch: Branch) -> None:
    """Refuse unless ``user`` is active staff of the branch's shop and may work at ``branch``."""
    if not (user.is_active and user.shop_id == branch.shop_id and user.role in STAFF_ROLES):
        raise StaffNotAllowed(_("This account cannot work for this shop."))
    if not branch.is_active:
        raise InvalidBranch(_("This branch is closed. Choose another branch."), field="branch")
    if user.role == User.Role.CASHIER and not user.branches.filter(pk=branch.pk).exists():
        raise StaffNotAllowed(_("You are not a cashier at this branch."))


# --- points at the counter ----------------------------------------------------------------------


@dataclass(frozen=True)
class PointsPreview:
    amount: Decimal
    points: int
    multiplier: Decimal
    tier_name: str


def points_preview(*, shop: Shop, amount: object, member: Member | None = None) -> PointsPreview:
    """What a spend would earn this member now (``ledger.points_quote``: the shop's rate and minimum
    spend with the member's tier multiplier), or the refusal ``points_earn`` would give (not an
    amount, 0 or less, too large, earns no points, more points than one entry may give)."""
    quote = points_quote(shop=shop, amount=clean_amount(amount), member=member)
    return PointsPreview(
        quote.amount, quote.points, quote.multiplier, quote.tier.name if quote.tier else ""
    )


@transaction.atomic
def staff_points_add(
    *,
    user: User,
    branch: Branch,
    amount: object,
    form_key: uuid.UUID | str,
    member: Member | None = None,
    phone: str | None = None,
    receipt_no: str = "",
    device: Device | None = None,
    approval: str | None = None,
) -> EarnResult:
    """Add points for a spend at the counter, to ``member`` or to the member with ``phone`` (a new
    pending member when nobody has it), at ``branch``, by ``user``.

    The form's hidden UUID is the idempotency key, so a double tap, a resubmit or a retry after a
    lost answer returns the first entry instead of adding again; the same form reused for another
    amount is refused (``IdempotencyMismatch``).

    A cashier's spend above the shop's cashier amount limit needs ``approval``, a manager's token
    for exactly this spend (``approvals.approval_check``); the entry records the manager.
    """
    check_staff_at_branch(user=user, branch=branch)
    shop = branch.shop
    amount = clean_amount(amount)
    key = staff_key(form_key)
    approver = None
    if (
        approval_needed(user=user, shop=shop, amount=amount)
        # A replay writes nothing: it needs no approval (and may come after the token expired).
        and not LedgerEntry.objects.filter(shop=shop, idempotency_key=key).exists()
    ):
        approver = approval_check(
            token=approval,
            cashier=user,
            branch=branch,
            purpose=Purpose.POINTS,
            amount=amount,
            form_key=form_key,
            member=member,
            phone=phone or "",
        )
    result = points_earn(
        shop=shop,
        amount=amount,
        idempotency_key=key,
        actor=Actor.staff(user, approved_by=approver),
        member=member,
        phone=None if member is not None else phone,
        branch=branch,
        receipt_no=(receipt_no or "").strip(),
    )
    if not result.replayed:
        staff_action_record(
            user=user,
            kind=StaffAction.Kind.POINTS_ADD,
            branch=branch,
            obj=result.entry,
            label=f"{result.member.display_name} +{result.points}"
            + (f" ({_('approved by')} {approver.get_username()})" if approver else ""),
            detail={
                "member": str(result.member.public_id),
                "amount": str(result.purchase.amount),
                "points": result.points,
                "receipt_no": result.purchase.receipt_no,
                "new_member": result.member_created,
                **({"approved_by": approver.get_username()} if approver else {}),
            },
            device=device,
        )
    return result


@transaction.atomic
def staff_entry_void(
    *,
    user: User,
    branch: Branch,
    entry: LedgerEntry,
    reason: str,
    device: Device | None = None,
) -> LedgerEntry:
    """Void one of today's purchase points at ``branch``: a manager or owner only (not a cashier),
    this branch's entries only, today's (Bangkok) only, with a reason. Reverses the purchase
    through the ledger (what the member already spent becomes debt). Voiding twice is a replay."""
    check_staff_at_branch(user=user, branch=branch)
    if user.role not in VOIDING_ROLES:
        raise StaffNotAllowed(_("Only a manager can void a transaction."))
    if entry.shop_id != branch.shop_id or entry.branch_id != branch.pk:
        raise NotFound(_("This transaction is not one of this branch's."))
    if entry.kind != EntryKind.EARN:
        raise CannotReverse(_("Only points from a purchase can be voided here."))
    if timezone.localdate(entry.created_at) != timezone.localdate():
        raise CannotReverse(
            _("Only today's transactions can be voided here. Ask the back office for older ones.")
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Write why this transaction is voided."), field="reason")
    key = f"staff-void:{entry.public_id}"
    actor = Actor.staff(user)
    note = _("Voided at the counter: %(reason)s") % {"reason": reason}
    if entry.purchase_id:
        reversal, replayed = purchase_reverse(
            purchase=entry.purchase, note=note, idempotency_key=key, actor=actor
        )
    else:
        reversal, replayed = entry_reverse(entry=entry, note=note, idempotency_key=key, actor=actor)
    if not replayed:
        staff_action_record(
            user=user,
            kind=StaffAction.Kind.VOID,
            branch=branch,
            obj=entry,
            label=f"{entry.member.display_name} {entry.points:+d}",
            detail={"reason": reason, "reversal": str(reversal.public_id)},
            device=device,
        )
    return reversal


# --- points QR codes ----------------------------------------------------------------------------


@transaction.atomic
def points_claim_create(
    *,
    user: User,
    branch: Branch,
    amount: object,
    form_key: uuid.UUID | str,
    receipt_no: str = "",
    device: Device | None = None,
    approval: str | None = None,
) -> tuple[PointsClaim, bool]:
    """Make a one-time points QR code for a spend at ``branch``; the member who opens it first
    within ``CLAIM_LIFETIME`` gets the points. The spend must earn points at the shop's base rate.
    The form's hidden UUID makes a double tap return the first code (and whether it was a
    replay); the same form reused for another amount is refused. A cashier's spend above the
    shop's cashier amount limit needs a manager's ``approval`` for exactly this code."""
    check_staff_at_branch(user=user, branch=branch)
    shop = branch.shop
    amount = points_preview(shop=shop, amount=amount).amount
    key = staff_key(form_key)
    receipt_no = (receipt_no or "").strip()[:64]
    approver = None
    if (
        approval_needed(user=user, shop=shop, amount=amount)
        and not PointsClaim.objects.filter(shop=shop, create_key=key).exists()
    ):
        approver = approval_check(
            token=approval,
            cashier=user,
            branch=branch,
            purpose=Purpose.CLAIM,
            amount=amount,
            form_key=form_key,
        )

    def replay(existing: PointsClaim) -> tuple[PointsClaim, bool]:
        if existing.amount != amount or existing.branch_id != branch.pk:
            raise IdempotencyMismatch(
                _("This form was already used for another amount. Start again.")
            )
        return existing, True

    existing = PointsClaim.objects.filter(shop=shop, create_key=key).first()
    if existing is not None:
        return replay(existing)
    try:
        with transaction.atomic():
            claim = PointsClaim.objects.create(
                shop=shop,
                branch=branch,
                cashier=user,
                amount=amount,
                approved_by=approver,
                receipt_no=receipt_no,
                token=secrets.token_urlsafe(16),
                create_key=key,
                expires_at=timezone.now() + CLAIM_LIFETIME,
            )
    except IntegrityError:
        # A concurrent twin of this form committed first.
        return replay(PointsClaim.objects.get(shop=shop, create_key=key))
    staff_action_record(
        user=user,
        kind=StaffAction.Kind.CLAIM_CREATE,
        branch=branch,
        obj=claim,
        detail={
            "amount": str(amount),
            "receipt_no": receipt_no,
            **({"approved_by": approver.get_username()} if approver else {}),
        },
        device=device,
    )
    return claim, False


@transaction.atomic
def points_claim_cancel(
    *, user: User, claim: PointsClaim, device: Device | None = None
) -> PointsClaim:
    """Cancel a points QR code nobody has collected yet (wrong amount, customer left)."""
    check_staff_at_branch(user=user, branch=claim.branch)
    claim = PointsClaim.objects.select_for_update().get(pk=claim.pk)
    if claim.claimed_by_id is not None:
        raise ApplicationError(
            _("These points were already collected. A manager can void them in Today."),
            code="claim_used",
        )
    if claim.cancelled_at is None:
        claim.cancelled_at = timezone.now()
        claim.save(update_fields=["cancelled_at"])
        staff_action_record(
            user=user,
            kind=StaffAction.Kind.CLAIM_CANCEL,
            branch=claim.branch,
            obj=claim,
            device=device,
        )
    return claim


@dataclass(frozen=True)
class ClaimResult:
    claim: PointsClaim
    entry: LedgerEntry
    points: int
    balance: int
    already: bool


def claim_peek(*, shop: Shop, token: str) -> PointsClaim:
    """The claim for ``token`` in ``shop`` (any state), or ``ClaimNotFound``."""
    claim = None
    if _TOKEN.fullmatch(token or ""):
        claim = (
            PointsClaim.objects.select_related("branch", "entry")
            .filter(shop=shop, token=token)
            .first()
        )
    if claim is None:
        raise ClaimNotFound(
            _("This points QR code is not valid. Ask the cashier to show it again.")
        )
    return claim


@transaction.atomic
def points_claim_redeem(*, shop: Shop, token: str, member: Member) -> ClaimResult:
    """Give the points of a points QR code to ``member``, who opened it.

    Single use: the claim row is locked, and a claim collected by someone else, cancelled or past
    its expiry gives a clear refusal and changes nothing. The same member opening it again gets
    the first result. The ledger key ``claim:<id>`` backs this: one entry per claim, whatever
    happens.
    """
    if member.shop_id != shop.pk:
        raise ClaimNotFound(_("This points QR code is not valid for your membership."))
    claim_peek(shop=shop, token=token)
    lock_member(member.pk)  # lock order: Member, then the claim
    claim = (
        # Not the entry: a twin request that claimed it first sets it while this one waits, and
        # PostgreSQL would hand back the new row with the entry as joined before the wait.
        PointsClaim.objects.select_for_update(of=("self",))
        .select_related("branch", "cashier", "approved_by")
        .get(shop=shop, token=token)
    )
    if claim.claimed_by_id == member.pk:
        member.refresh_from_db(fields=["balance"])
        return ClaimResult(claim, claim.entry, claim.entry.points, member.balance, True)
    if claim.claimed_by_id is not None:
        raise ClaimUsed(
            _("These points have already been collected. Each points QR code works only once.")
        )
    if claim.cancelled_at is not None:
        raise ClaimCancelled(_("The cashier cancelled this points QR code."))
    if claim.expires_at <= timezone.now():
        raise ClaimExpired(_("This points QR code has expired. Ask the cashier to make a new one."))
    actor = (
        Actor.staff(claim.cashier, approved_by=claim.approved_by)
        if claim.cashier is not None
        else Actor.system(channel=Channel.STORE)
    )
    result = points_earn(
        shop=shop,
        member=member,
        amount=claim.amount,
        idempotency_key=f"claim:{claim.public_id}",
        actor=actor,
        branch=claim.branch,
        receipt_no=claim.receipt_no,
        note=_("Collected with a points QR code"),
    )
    claim.claimed_by = member
    claim.claimed_at = timezone.now()
    claim.entry = result.entry
    claim.save(update_fields=["claimed_by", "claimed_at", "entry"])
    return ClaimResult(claim, result.entry, result.points, result.member.balance, False)
