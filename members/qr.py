"""The member's QR code for the cashier: a one-time, short-lived 8-digit code.

The member card shows a new code every minute (``CODE_REFRESH``); each code works for a little
longer than that (``CODE_TTL``) so a cashier who scanned or typed it just before the refresh still
succeeds. A code works once: the staff app resolves it to the member with
``member_code_resolve``, which marks it used in the same conditional UPDATE that checks it, so two
cashiers entering the same code at once get one member and one refusal.

Codes are unique per shop among all stored rows (a database constraint); rows are purged a day
after they expire (``member_codes_purge``), so the space of 10⁸ codes per shop never fills up and a
new code colliding with a live one is retried.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import ApplicationError, InvalidInput
from loyalty.numbers import THAI_DIGITS
from members.models import Member
from members.qr_models import CODE_DIGITS, CODE_REFRESH, CODE_TTL, PURGE_AFTER, MemberCode
from shops.models import Shop

_ISSUE_ATTEMPTS = 5


class MemberCodeRefused(ApplicationError):
    """The code is unknown, expired or already used (the message says which)."""

    code = "member_code_refused"


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def member_code_issue(*, member, now: dt.datetime | None = None) -> MemberCode:
    """A fresh one-time code for ``member`` to show the cashier, valid for ``CODE_TTL``.

    Only registered members get codes. One INSERT (retried with another random code in the rare
    case it collides with a stored code of the same shop).
    """
    if member.status != Member.Status.REGISTERED:
        raise MemberCodeRefused(_("Only registered members have a member QR code."))
    now = now or timezone.now()
    fields = {"shop_id": member.shop_id, "member": member, "created_at": now}
    for attempt in range(_ISSUE_ATTEMPTS):
        try:
            return _insert(MemberCode(code=_new_code(), expires_at=now + CODE_TTL, **fields))
        except IntegrityError:
            if attempt == _ISSUE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _insert(row: MemberCode) -> MemberCode:
    """One INSERT. Inside a caller's transaction it gets a savepoint, so a colliding code does not
    break that transaction; in autocommit (the card page) the statement is atomic by itself and a
    BEGIN/COMMIT around it would only cost round trips on the page members open most."""
    if connection.in_atomic_block:
        with transaction.atomic():
            row.save(force_insert=True)
    else:
        row.save(force_insert=True)
    return row


def member_code_for_card(*, member, now: dt.datetime | None = None) -> MemberCode:
    """The code the member card shows: the member's unused code issued less than
    ``CODE_REFRESH`` ago, so that reloading the card within the minute shows the same code (and
    costs no write), else a new one from ``member_code_issue``.

    ``members.pages.selectors.for_card`` annotates the member with its latest code
    (``card_code``, ``card_code_at``); without the annotation this looks the code up itself.
    """
    now = now or timezone.now()
    if hasattr(member, "card_code"):
        code, created_at = member.card_code, member.card_code_at
    else:
        latest = (fresh_codes(member.pk, now=now).values_list("code", "created_at").first()) or (
            None,
            None,
        )
        code, created_at = latest
    if code and created_at and now - created_at < CODE_REFRESH:
        return MemberCode(
            shop_id=member.shop_id,
            member=member,
            code=code,
            created_at=created_at,
            expires_at=created_at + CODE_TTL,
        )
    return member_code_issue(member=member, now=now)


def fresh_codes(member_id, *, now: dt.datetime):
    """The member's unused codes issued less than ``CODE_REFRESH`` ago, newest first
    (``member_id`` may be an ``OuterRef``)."""
    return MemberCode.objects.filter(
        member_id=member_id, used_at__isnull=True, created_at__gt=now - CODE_REFRESH
    ).order_by("-created_at", "-id")


def clean_member_code(raw: object) -> str:
    """The 8 digits of a typed or scanned code ("1234 5678", "1234-5678", Thai digits) or a clear
    ``InvalidInput``."""
    text = str(raw or "").translate(THAI_DIGITS)
    digits = "".join(c for c in text if not c.isspace() and c != "-")
    if not (len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit()):
        raise InvalidInput(
            _("A member code has %(digits)s digits, e.g. 1234 5678.") % {"digits": CODE_DIGITS},
            code="invalid_member_code",
            field="code",
        )
    return digits


@transaction.atomic
def member_code_resolve(*, shop: Shop, code: str, actor=None, now: dt.datetime | None = None):
    """The member whose card shows ``code`` in ``shop``; the code is used up by this call.

    Refused, with a message a cashier can act on: a code that is not one of this shop's (another
    shop's code looks the same as an unknown one), an expired code, a code already used, a member
    who is no longer registered. The check and the marking are one conditional UPDATE, so a code
    is never resolved twice.
    """
    digits = clean_member_code(code)
    now = now or timezone.now()
    used = MemberCode.objects.filter(
        shop=shop, code=digits, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now, used_by=actor)
    row = (
        MemberCode.objects.select_related("member", "member__tier")
        .filter(shop=shop, code=digits)
        .first()
    )
    if row is None:
        raise MemberCodeRefused(
            _("No member has this code. Ask the member to show the QR code again."),
            code="member_code_unknown",
        )
    if not used:
        if row.used_at is not None:
            raise MemberCodeRefused(
                _("This code has already been used. Ask the member for the new one on their card."),
                code="member_code_used",
            )
        raise MemberCodeRefused(
            _("This code has expired. Ask the member to open their card again for a new one."),
            code="member_code_expired",
        )
    member = row.member
    if member.status != Member.Status.REGISTERED:
        raise MemberCodeRefused(
            _("This member's account is blocked or deleted."), code="member_not_active"
        )
    return member


def member_codes_purge(*, now: dt.datetime | None = None) -> int:
    """Delete codes that expired more than a day ago (safe to run twice). Returns how many."""
    cutoff = (now or timezone.now()) - PURGE_AFTER
    deleted, _detail = MemberCode.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
