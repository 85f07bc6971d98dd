"""The ledger's core: input checks, the replay of a key, and the credit and debit every points
service writes through (``earning``, ``reversals``, ``merge``).

- ``credit``: an entry and a lot on a locked member; the lot pays existing debt first.
- ``debit``: an entry drawing on the member's open lots nearest expiry first (never-expiring
  last, ties oldest first: ``open_lots``), with one allocation per lot so a reversal restores
  exactly those lots.
- ``expire_lots_now``: what is left of some lots expires at once (a reversal of a debit whose lot
  has expired meanwhile).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.idempotency import MAX_KEY_LENGTH
from loyalty.numbers import BadNumber, parse_decimal
from loyalty.phones import InvalidPhone, normalise_phone
from members.ledger import rules
from members.ledger.actors import Actor
from members.ledger.errors import (
    IdempotencyMismatch,
    InvalidAmount,
    InvalidPhoneNumber,
    MemberNotActive,
    NotEnoughPoints,
    TooManyPoints,
)
from members.ledger.models import (
    Channel,
    EntryKind,
    LedgerEntry,
    LotAllocation,
    PointLot,
    Purchase,
)
from members.models import Member
from shops.models import Branch, Shop

# --- input checks -------------------------------------------------------------------------------


def clean_amount(value: object) -> Decimal:
    """A spend in baht as a Decimal with at most 2 decimals, > 0 and ≤ 9,999,999.99, or a clear
    ``InvalidAmount``. Text is read by ``loyalty.numbers.parse_decimal``: a comma only separates
    thousands ("1,250.00"), so "12,50" is refused, not read as 1,250. Floats are refused upstream
    (the API reads strings); "1e30", "abc", "-5", "0" and "10.005" are refused here."""
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    else:
        try:
            amount = parse_decimal(repr(value) if isinstance(value, float) else str(value))
        except BadNumber as exc:
            if exc.reason == "empty":
                raise InvalidAmount(_("Enter an amount in baht."), field="amount") from None
            if exc.reason == "comma":
                raise InvalidAmount(
                    _(
                        "A comma only separates thousands, in groups of three (1,250.00). "
                        "For satang use a dot: 12.50, not 12,50."
                    ),
                    field="amount",
                ) from None
            raise InvalidAmount(
                _("“%(value)s” is not an amount in baht.") % {"value": value}, field="amount"
            ) from None
    if not amount.is_finite():
        raise InvalidAmount(_("Enter an amount in baht."), field="amount")
    if amount <= 0:
        raise InvalidAmount(_("The amount must be more than 0 baht."), field="amount")
    if amount > rules.MAX_SPEND:
        raise InvalidAmount(
            _("The amount is too large: at most %(max)s baht.") % {"max": f"{rules.MAX_SPEND:,}"},
            field="amount",
        )
    if amount.as_tuple().exponent < -2:
        raise InvalidAmount(
            _("Use at most 2 decimal places (satang) for the amount."), field="amount"
        )
    return amount.quantize(Decimal("0.01"))


def replay_entry(shop_id: int, key: str, print_: str) -> LedgerEntry | None:
    entry = (
        LedgerEntry.objects.select_related("member", "purchase")
        .filter(shop_id=shop_id, idempotency_key=key)
        .first()
    )
    if entry is None:
        return None
    if entry.fingerprint != print_:
        raise IdempotencyMismatch(
            _("This idempotency key was already used for a different request.")
        )
    return entry


def require_active(member: Member) -> None:
    if member.status in (Member.Status.BLOCKED, Member.Status.ERASED):
        raise MemberNotActive(_("This member is blocked or deleted; points cannot change."))
    if member.status == Member.Status.MERGED:
        raise MemberNotActive(
            _(
                "This record's points have moved to the member who proved its phone number. "
                "Find the member again."
            )
        )


def local_today() -> dt.date:
    return timezone.localdate()


# --- core credit and debit ----------------------------------------------------------------------


def credit(
    member: Member,
    *,
    kind: str,
    points: int,
    key: str,
    print_: str,
    actor: Actor,
    note: str = "",
    branch: Branch | None = None,
    branch_id: int | None = None,
    purchase: Purchase | None = None,
    reference: str = "",
    earned_on: dt.date | None = None,
    expires_on: dt.date | bool | None = True,
    available_on: dt.date | None = None,
    channel: str | None = None,
    save: bool = True,
) -> LedgerEntry:
    """Write a credit on a locked member: entry + lot; the lot pays existing debt first.

    ``expires_on=True`` means "by the shop's expiry policy from the earning date". ``save=False``
    leaves writing the member's balance and debt to the caller (one UPDATE with its tier).
    """
    if points <= 0:
        raise ValueError("a credit needs positive points")
    shop = member.shop
    earned_on = earned_on or local_today()
    if expires_on is True:
        expires_on = rules.expiry_date_for(
            earned_on, mode=shop.expiry_mode, months=shop.expiry_months
        )
    pay = min(points, member.debt)
    member.debt -= pay
    member.balance += points
    entry = LedgerEntry.objects.create(
        shop=shop,
        member=member,
        kind=kind,
        points=points,
        balance_after=member.balance,
        idempotency_key=key,
        fingerprint=print_,
        branch_id=branch.pk if branch is not None else branch_id,
        channel=channel or actor.channel,
        note=note[:500],
        purchase=purchase,
        reference=reference[:100],
        **actor.entry_fields(),
    )
    PointLot.objects.create(
        shop=shop,
        member=member,
        entry=entry,
        points=points,
        remaining=points - pay,
        debt_paid=pay,
        earned_on=earned_on,
        available_on=available_on or earned_on,
        expires_on=expires_on,
    )
    if save:
        member.save(update_fields=["balance", "debt", "updated_at"])
    return entry


def open_lots(member: Member, *, today: dt.date, spendable_only: bool):
    lots = PointLot.objects.filter(member=member, remaining__gt=0).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )
    if spendable_only:
        lots = lots.filter(available_on__lte=today)
    return lots.order_by(F("expires_on").asc(nulls_last=True), "id")


def debit(
    member: Member,
    *,
    kind: str,
    points: int,
    key: str,
    print_: str,
    actor: Actor,
    note: str = "",
    branch: Branch | None = None,
    reference: str = "",
    spendable_only: bool = True,
) -> LedgerEntry:
    """Write a debit on a locked member, drawing on lots nearest expiry first, or refuse."""
    if points <= 0:
        raise ValueError("a debit needs positive points")
    today = local_today()
    lots = list(open_lots(member, today=today, spendable_only=spendable_only))
    available = sum(lot.remaining for lot in lots) - member.debt
    if available < points:
        raise NotEnoughPoints(
            _("Not enough points: %(have)s available, %(need)s needed.")
            % {"have": max(available, 0), "need": points},
            extra={"available": max(available, 0), "needed": points},
        )
    member.balance -= points
    entry = LedgerEntry.objects.create(
        shop=member.shop,
        member=member,
        kind=kind,
        points=-points,
        balance_after=member.balance,
        idempotency_key=key,
        fingerprint=print_,
        branch=branch,
        channel=actor.channel,
        note=note[:500],
        reference=reference[:100],
        **actor.entry_fields(),
    )
    left = points
    allocations, changed = [], []
    for lot in lots:
        if left == 0:
            break
        take = min(left, lot.remaining)
        lot.remaining -= take
        left -= take
        allocations.append(LotAllocation(debit=entry, lot=lot, points=take))
        changed.append(lot)
    LotAllocation.objects.bulk_create(allocations)
    PointLot.objects.bulk_update(changed, ["remaining"])
    member.save(update_fields=["balance", "updated_at"])
    return entry


# --- members without an account -------------------------------------------------------------------


def clean_phone(phone: object) -> str:
    """A phone in E.164 or a clear ``InvalidPhoneNumber``."""
    try:
        return normalise_phone(phone)
    except InvalidPhone as exc:
        raise InvalidPhoneNumber(exc.messages[0], field="phone") from None


def check_points_cap(shop: Shop, points: int) -> None:
    """Refuse an entry of more points (either way) than the shop allows in one go
    (``Shop.max_points_per_entry``, never above ``rules.MAX_POINTS_PER_ENTRY``)."""
    cap = rules.points_cap(shop.max_points_per_entry)
    if abs(points) > cap:
        raise TooManyPoints(
            _(
                "%(points)s points is more than one entry may give or take in this shop "
                "(at most %(max)s)."
            )
            % {"points": f"{abs(points):,}", "max": f"{cap:,}"},
            field="points",
            extra={"points": abs(points), "max": cap},
        )


def expire_lots_now(
    member: Member, lots: list[PointLot], *, key: str, note: str | None = None
) -> None:
    """Expire what is left of ``lots`` (of ``member``, locked by the caller) at once: one
    ``expire`` entry keyed ``key``, an allocation per lot, the lots emptied, the balance lowered."""
    points = sum(lot.remaining for lot in lots)
    if points <= 0:
        return
    member.balance -= points
    entry = LedgerEntry.objects.create(
        shop=member.shop,
        member=member,
        kind=EntryKind.EXPIRE,
        points=-points,
        balance_after=member.balance,
        idempotency_key=key[:MAX_KEY_LENGTH],
        fingerprint="",
        channel=Channel.SYSTEM,
        note=note or _("Returned points whose expiry date had passed"),
        **Actor.system().entry_fields(),
    )
    LotAllocation.objects.bulk_create(
        LotAllocation(debit=entry, lot=lot, points=lot.remaining) for lot in lots if lot.remaining
    )
    for lot in lots:
        lot.remaining = 0
    PointLot.objects.bulk_update(lots, ["remaining"])
    member.save(update_fields=["balance", "updated_at"])
