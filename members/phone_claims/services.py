"""Proving a pending member's phone: open a claim, send a one-time code by SMS, check it, or let a
cashier confirm at the counter; then merge the pending member into the proving account.

Rules:
- A claim is opened by sign-up (or a profile edit) with the phone of an unbound *pending* member;
  the account is registered at once, without that phone. One open claim per account.
- Codes: 6 digits, valid ``OTP_CODE_MINUTES``, at most ``OTP_MAX_TRIES`` wrong tries, single use;
  a new code replaces the previous one. Only a keyed hash is stored, compared in constant time.
- Rate limits, per phone number and per LINE account (across shops): one code per
  ``OTP_RESEND_SECONDS``, at most ``OTP_MAX_PER_HOUR`` sent per hour.
- The SMS goes out after the deciding transaction commits (``transaction.on_commit``); a gateway
  failure is recorded on the code and shown on the page, never half-applied.
- The first proof wins: the pending member is merged into that account, and every other open
  claim on it is *lost* (its member is told so). A proof repeated (a second tap, a retry) is a
  replay of the first.

Lock order: Shop → Member (the claimant and the pending member, ascending id) → claim → code.
The shop lock serialises the proofs, sign-ups and code requests of one shop, which are rare.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from loyalty.errors import ApplicationError, NotFound
from loyalty.numbers import THAI_DIGITS
from loyalty.phones import format_phone_local
from loyalty.sms import SmsError, SmsRefused, sms_available, sms_send
from members.ledger.locks import lock_members, lock_shop
from members.models import Member
from members.phone_claims.errors import ClaimLost, CodeNotValid, NoOpenClaim, TooManyCodes
from members.phone_claims.merge import member_merge_pending
from members.phone_claims.models import PhoneClaim, PhoneCode
from shops.models import Branch, User
from shops.staffing.models import StaffAction
from shops.staffing.services import Device, staff_action_record

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
_HASH_SALT = "members.phone_claims.code"


@dataclass(frozen=True)
class PhoneProof:
    claim: PhoneClaim
    member: Member
    points: int
    replayed: bool


def code_lifetime() -> dt.timedelta:
    return dt.timedelta(minutes=settings.OTP_CODE_MINUTES)


def _hash(salt: object, code: str) -> str:
    return salted_hmac(_HASH_SALT, f"{salt}:{code}", algorithm="sha256").hexdigest()


def pending_for_phone(pending: Member | None) -> bool:
    """Whether a member found by phone is a pending record that a claim may take: pending, and
    not bound to a LINE account (one bound to another account is that account's)."""
    return (
        pending is not None and pending.status == Member.Status.PENDING and not pending.line_user_id
    )


# --- claims -----------------------------------------------------------------------------------


def phone_claim_open(*, member: Member, pending: Member, phone: str) -> PhoneClaim:
    """Record that ``member`` says the phone of ``pending`` is theirs. Called inside the caller's
    transaction, with the shop locked (sign-up, profile). An open claim of ``member`` on another
    record is withdrawn; an open claim on this one is returned as it is."""
    current = PhoneClaim.objects.filter(member=member, status=PhoneClaim.Status.OPEN).first()
    if current is not None:
        if current.pending_id == pending.pk and current.phone == phone:
            return current
        _resolve(current, PhoneClaim.Status.WITHDRAWN)
    return PhoneClaim.objects.create(
        shop_id=member.shop_id, member=member, pending=pending, phone=phone
    )


def open_claim(member: Member) -> PhoneClaim | None:
    """The member's phone number waiting for proof, if any."""
    return PhoneClaim.objects.filter(member=member, status=PhoneClaim.Status.OPEN).first()


def _resolve(claim: PhoneClaim, status: str, **fields) -> None:
    claim.status = status
    claim.resolved_at = timezone.now()
    for name, value in fields.items():
        setattr(claim, name, value)
    claim.save()


@transaction.atomic
def phone_claim_withdraw(*, member: Member) -> PhoneClaim | None:
    """ "Not my number": the member's open claim is withdrawn (the pending record is untouched)."""
    lock_shop(member.shop_id)
    claim = open_claim(member)
    if claim is not None:
        _resolve(claim, PhoneClaim.Status.WITHDRAWN)
    return claim


def _lock_claim(claim: PhoneClaim) -> tuple[PhoneClaim, Member, Member]:
    """Lock the two members (ascending id) and the claim, and return them fresh."""
    lock_members([claim.member_id, claim.pending_id])
    claim = PhoneClaim.objects.select_for_update().get(pk=claim.pk)
    member = Member.objects.select_related("shop", "tier", "manual_tier").get(pk=claim.member_id)
    pending = Member.objects.select_related("tier", "manual_tier").get(pk=claim.pending_id)
    return claim, member, pending


def _refusal_of(claim: PhoneClaim) -> ApplicationError | None:
    if claim.status == PhoneClaim.Status.LOST:
        return ClaimLost(
            _(
                "The phone number %(phone)s was confirmed by another member's account, so its "
                "points went there. If the number is yours, please contact the shop."
            )
            % {"phone": claim.phone_local}
        )
    if claim.status == PhoneClaim.Status.WITHDRAWN:
        return NoOpenClaim(_("There is no phone number waiting to be confirmed."))
    return None


def _check_pending(claim: PhoneClaim, pending: Member, member: Member) -> ApplicationError | None:
    """The pending record must still be the phone's, unbound and pending; else the claim is lost
    (the record was taken, merged, blocked or changed in the meantime)."""
    if (
        pending_for_phone(pending)
        and pending.phone == claim.phone
        and member.status == Member.Status.REGISTERED
    ):
        return None
    _resolve(claim, PhoneClaim.Status.LOST)
    return _refusal_of(claim)


def _merge(
    claim: PhoneClaim,
    member: Member,
    pending: Member,
    *,
    method: str,
    user: User | None = None,
    branch: Branch | None = None,
) -> PhoneProof:
    points = member_merge_pending(pending=pending, target=member, phone=claim.phone)
    _resolve(
        claim,
        PhoneClaim.Status.PROVEN,
        method=method,
        points_moved=points,
        confirmed_by=user,
        confirmed_by_name=user.get_username() if user is not None else "",
        branch=branch,
    )
    now = timezone.now()
    PhoneClaim.objects.filter(pending=pending, status=PhoneClaim.Status.OPEN).update(
        status=PhoneClaim.Status.LOST, resolved_at=now
    )
    PhoneCode.objects.filter(claim=claim, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    member.refresh_from_db()
    return PhoneProof(claim, member, points, False)


def _replay(claim: PhoneClaim) -> PhoneProof:
    member = Member.objects.select_related("shop", "tier").get(pk=claim.member_id)
    return PhoneProof(claim, member, claim.points_moved, True)


# --- codes by SMS ---------------------------------------------------------------------------------


def _rate_limit(codes, *, now: dt.datetime, who: str) -> ApplicationError | None:
    """Refuse a new code when one went out less than ``OTP_RESEND_SECONDS`` ago, or when
    ``OTP_MAX_PER_HOUR`` were sent in the last hour (failed sends count only for the first)."""
    latest = codes.order_by("-created_at").values_list("created_at", flat=True).first()
    wait = dt.timedelta(seconds=settings.OTP_RESEND_SECONDS)
    if latest is not None and latest > now - wait:
        seconds = int((latest + wait - now).total_seconds()) + 1
        return TooManyCodes(
            _("A code was sent a moment ago. You can ask for another in %(seconds)s seconds.")
            % {"seconds": seconds},
            extra={"retry_after": seconds, "per": who},
        )
    sent = codes.filter(created_at__gt=now - dt.timedelta(hours=1), send_error="").count()
    if sent >= settings.OTP_MAX_PER_HOUR:
        return TooManyCodes(
            _(
                "Too many codes were sent for this number in the last hour. Try again later, or "
                "show your member card at the counter and the cashier can confirm your phone."
            ),
            extra={"retry_after": 3600, "per": who},
        )
    return None


def sms_text(*, code: str, shop_name: str) -> str:
    return _(
        "%(code)s is your code to confirm your phone number at %(shop)s. It works for "
        "%(minutes)s minutes. Never tell it to anyone, not even the shop's staff."
    ) % {"code": code, "shop": shop_name[:30], "minutes": settings.OTP_CODE_MINUTES}


def phone_code_send(*, member: Member) -> PhoneCode:
    """Send a fresh one-time code to the phone of the member's open claim.

    Refused: SMS off on this system; no open claim (or a lost one); a rate limit per phone or per
    LINE account. The code row is written and the previous code stops working in one transaction;
    the SMS goes out when it commits, and its outcome (``sent_at`` or ``send_error``) is written on
    the row, which the member's page shows.
    """
    if not sms_available():
        raise SmsRefused(
            _(
                "Codes by SMS are not available at this shop. Show your member card at the "
                "counter and the cashier can confirm your phone."
            )
        )
    outcome = _new_code(member)
    if isinstance(outcome, ApplicationError):
        raise outcome
    return outcome


@transaction.atomic
def _new_code(member: Member) -> PhoneCode | ApplicationError:
    # Refusals are returned, not raised, so that a claim found lost is committed as lost.
    lock_shop(member.shop_id)
    claim = (
        PhoneClaim.objects.filter(member=member)
        .select_related("shop")
        .order_by("-created_at", "-id")
        .first()
    )
    if claim is None or claim.status == PhoneClaim.Status.PROVEN:
        return NoOpenClaim(_("There is no phone number waiting to be confirmed."))
    refusal = _refusal_of(claim)
    if refusal is None:
        pending = Member.objects.get(pk=claim.pending_id)
        refusal = _check_pending(claim, pending, Member.objects.get(pk=member.pk))
    if refusal is not None:
        return refusal
    now = timezone.now()
    line_user_id = member.line_user_id or ""
    refusal = _rate_limit(PhoneCode.objects.filter(phone=claim.phone), now=now, who="phone")
    if refusal is None and line_user_id:
        codes = PhoneCode.objects.filter(line_user_id=line_user_id)
        refusal = _rate_limit(codes, now=now, who="line")
    if refusal is not None:
        return refusal
    PhoneCode.objects.filter(claim=claim, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = PhoneCode(
        shop_id=member.shop_id,
        claim=claim,
        phone=claim.phone,
        line_user_id=line_user_id,
        expires_at=now + code_lifetime(),
        created_at=now,
    )
    row.code_hash = _hash(row.salt, code)
    row.save()
    text = sms_text(code=code, shop_name=claim.shop.name)
    transaction.on_commit(lambda: _deliver(row.pk, claim.phone, text))
    return row


def _deliver(code_id: int, phone: str, text: str) -> None:
    """Hand the SMS to the gateway (after commit) and write the outcome on the code's row."""
    try:
        message_id = sms_send(phone, text)
    except SmsError as exc:
        logger.warning("one-time code %s not sent: %s %s", code_id, exc.code, exc.detail)
        PhoneCode.objects.filter(pk=code_id).update(
            send_error=f"{exc.code}: {exc.detail}"[:200] or exc.code
        )
        return
    PhoneCode.objects.filter(pk=code_id).update(sent_at=timezone.now(), message_id=message_id[:64])


def clean_code(raw: object) -> str:
    """The digits of a typed code (Thai digits and spaces allowed), or ``CodeNotValid``."""
    digits = "".join(c for c in str(raw or "").translate(THAI_DIGITS) if not c.isspace())
    if len(digits) != CODE_DIGITS or not digits.isdigit():
        raise CodeNotValid(
            _("Enter the %(digits)s-digit code from the SMS.") % {"digits": CODE_DIGITS},
            field="code",
        )
    return digits


def phone_claim_prove(*, member: Member, code: object) -> PhoneProof:
    """Prove the member's open claim with the code sent by SMS, and merge the pending member.

    Refused, each with its message: a code that is not 6 digits; no code asked for yet; an
    expired, used or replaced code; a wrong code (the wrong try is counted and kept even though
    the request is refused; after ``OTP_MAX_TRIES`` the code stops working); a claim lost to
    another account. The same proof sent again returns the first result.
    """
    typed = clean_code(code)
    outcome = _prove_with_code(member_id=member.pk, typed=typed)
    if isinstance(outcome, ApplicationError):
        raise outcome
    return outcome


@transaction.atomic
def _prove_with_code(*, member_id: int, typed: str) -> PhoneProof | ApplicationError:
    # Refusals are returned, not raised, so that a wrong try is committed with this transaction.
    shop_id = Member.objects.values_list("shop_id", flat=True).get(pk=member_id)
    lock_shop(shop_id)
    claim = PhoneClaim.objects.filter(member_id=member_id).order_by("-created_at", "-id").first()
    if claim is None:
        return NoOpenClaim(_("There is no phone number waiting to be confirmed."))
    if claim.status == PhoneClaim.Status.PROVEN:
        return _replay(claim)
    refusal = _refusal_of(claim)
    if refusal is not None:
        return refusal
    claim, member, pending = _lock_claim(claim)
    refusal = _check_pending(claim, pending, member)
    if refusal is not None:
        return refusal
    now = timezone.now()
    row = (
        PhoneCode.objects.select_for_update()
        .filter(claim=claim, used_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    if row is None:
        return CodeNotValid(_("Ask for a code first."), field="code")
    if row.expires_at <= now:
        return CodeNotValid(_("This code has expired. Ask for a new one."), field="code")
    if row.attempts >= settings.OTP_MAX_TRIES:
        return CodeNotValid(_("Too many wrong tries. Ask for a new code."), field="code")
    if not constant_time_compare(row.code_hash, _hash(row.salt, typed)):
        row.attempts += 1
        row.save(update_fields=["attempts"])
        left = settings.OTP_MAX_TRIES - row.attempts
        if left <= 0:
            return CodeNotValid(_("Too many wrong tries. Ask for a new code."), field="code")
        return CodeNotValid(
            _("That code is not right. %(left)s more tries with this code.") % {"left": left},
            field="code",
            extra={"tries_left": left},
        )
    row.used_at = now
    row.save(update_fields=["used_at"])
    return _merge(claim, member, pending, method=PhoneClaim.Method.SMS)


# --- the cashier's confirmation --------------------------------------------------------------------


def phone_claim_confirm_at_counter(
    *, user: User, branch: Branch, member: Member, device: Device | None = None
) -> PhoneProof:
    """A cashier confirms the phone of ``member``'s open claim at the counter (after checking the
    customer's phone or ID) and the pending member is merged. Who and where are recorded on the
    claim and in the staff activity log. Confirming twice is a replay of the first."""
    from members.staff.services import check_staff_at_branch

    check_staff_at_branch(user=user, branch=branch)
    if member.shop_id != branch.shop_id:
        raise NotFound(_("No such member in this shop."))
    outcome = _confirm(user=user, branch=branch, member_id=member.pk, device=device)
    if isinstance(outcome, ApplicationError):
        raise outcome
    return outcome


@transaction.atomic
def _confirm(
    *, user: User, branch: Branch, member_id: int, device: Device | None
) -> PhoneProof | ApplicationError:
    # Refusals are returned, not raised, so that a claim found lost is committed as lost.
    lock_shop(branch.shop_id)
    claim = PhoneClaim.objects.filter(member_id=member_id).order_by("-created_at", "-id").first()
    if claim is None:
        return NoOpenClaim(_("This member has no phone number waiting to be confirmed."))
    if claim.status == PhoneClaim.Status.PROVEN:
        return _replay(claim)
    refusal = _refusal_of(claim)
    if refusal is not None:
        return refusal
    claim, member, pending = _lock_claim(claim)
    refusal = _check_pending(claim, pending, member)
    if refusal is not None:
        return refusal
    proof = _merge(
        claim, member, pending, method=PhoneClaim.Method.COUNTER, user=user, branch=branch
    )
    staff_action_record(
        user=user,
        kind=StaffAction.Kind.PHONE_CONFIRM,
        branch=branch,
        obj=claim,
        label=f"{member.display_name} {format_phone_local(claim.phone)} +{proof.points}",
        detail={
            "member": str(member.public_id),
            "pending_member": str(pending.public_id),
            "points": proof.points,
        },
        device=device,
    )
    return proof


# --- personal data ---------------------------------------------------------------------------------


def phone_claims_erase(*, member: Member) -> None:
    """The member's account is erased (PDPA): their open claims are withdrawn, and the phone
    numbers and LINE ids on their claims and codes are blanked; claims on them as a pending
    record are lost."""
    now = timezone.now()
    PhoneClaim.objects.filter(member=member, status=PhoneClaim.Status.OPEN).update(
        status=PhoneClaim.Status.WITHDRAWN, resolved_at=now
    )
    PhoneClaim.objects.filter(pending=member, status=PhoneClaim.Status.OPEN).update(
        status=PhoneClaim.Status.LOST, resolved_at=now
    )
    PhoneClaim.objects.filter(member=member).update(phone="")
    PhoneCode.objects.filter(claim__member=member).update(phone="", line_user_id="")


def phone_codes_purge(*, now: dt.datetime | None = None) -> dict:
    """Retention (daily): delete one-time codes older than ``OTP_RETENTION_DAYS``, and blank the
    phone number on claims that were lost or withdrawn before then (a number someone typed that
    may not be theirs). Proven claims keep theirs: it is the member's phone, and the record of who
    confirmed it. Safe to run twice."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.OTP_RETENTION_DAYS)
    codes, _rows = PhoneCode.objects.filter(created_at__lt=cutoff).delete()
    claims = (
        PhoneClaim.objects.filter(
            status__in=[PhoneClaim.Status.LOST, PhoneClaim.Status.WITHDRAWN],
            resolved_at__lt=cutoff,
        )
        .exclude(phone="")
        .update(phone="")
    )
    return {"codes_deleted": codes, "claims_blanked": claims}
