"""Every change of points goes through this module.

Each service:
- locks the member row first (``locks.lock_member``; lock order Shop → Member → Reward),
- returns the first result when its idempotency key was seen before with the same request, and
  raises ``IdempotencyMismatch`` when the key was used for a different one,
- writes one immutable ``LedgerEntry``, the lots or allocations it implies, and the member's cached
  balance and debt, in one transaction.

Credits create a lot that first pays off debt; debits draw on spendable lots nearest to expiry first
(never-expiring last, ties oldest first) and record the allocation, so a reversal restores exactly
those lots.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.numbers import BadNumber, parse_decimal
from loyalty.phones import InvalidPhone, normalise_phone
from members.ledger import owners, rules
from members.ledger.actors import Actor
from members.ledger.errors import (
    CannotReverse,
    DuplicateOrder,
    EntryOwned,
    IdempotencyMismatch,
    InvalidAmount,
    InvalidBranch,
    InvalidPhoneNumber,
    MemberHasDebt,
    MemberNotActive,
    NoPointsForSpend,
    NotEnoughPoints,
    TooManyPoints,
)
from members.ledger.locks import lock_member, lock_shop
from members.ledger.models import (
    TIER_QUALIFYING_KINDS,
    Channel,
    EntryKind,
    LedgerEntry,
    LotAllocation,
    PointLot,
    Product,
    Purchase,
    PurchaseItem,
)
from members.models import Member
from shops.models import Branch, Shop, Tier

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class EarnResult:
    entry: LedgerEntry
    purchase: Purchase
    member: Member
    points: int
    member_created: bool
    replayed: bool


@dataclass(frozen=True)
class LineItem:
    name: str
    quantity: Decimal
    price: Decimal
    sku: str = ""


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


def clean_key(key: str) -> str:
    key = (key or "").strip()
    if not key:
        raise IdempotencyMismatch(_("An idempotency key is required."))
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyMismatch(
            _("The idempotency key is too long (at most %(max)s characters).")
            % {"max": MAX_KEY_LENGTH}
        )
    return key


def fingerprint(**fields) -> str:
    """A stable hash of a request's content, to tell a replay from a reused key."""
    payload = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _replay(shop_id: int, key: str, print_: str) -> LedgerEntry | None:
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


def _require_active(member: Member) -> None:
    if member.status in (Member.Status.BLOCKED, Member.Status.ERASED):
        raise MemberNotActive(_("This member is blocked or deleted; points cannot change."))
    if member.status == Member.Status.MERGED:
        raise MemberNotActive(
            _(
                "This record's points have moved to the member who proved its phone number. "
                "Find the member again."
            )
        )


def _today() -> dt.date:
    return timezone.localdate()


# --- core credit and debit ----------------------------------------------------------------------


def _credit(
    member: Member,
    *,
    kind: str,
    points: int,
    key: str,
    print_: str,
    actor: Actor,
    note: str = "",
    branch: Branch | None = None,
    purchase: Purchase | None = None,
    reference: str = "",
    earned_on: dt.date | None = None,
    expires_on: dt.date | bool | None = True,
    available_on: dt.date | None = None,
    channel: str | None = None,
) -> LedgerEntry:
    """Write a credit on a locked member: entry + lot; the lot pays existing debt first.

    ``expires_on=True`` means "by the shop's expiry policy from the earning date".
    """
    if points <= 0:
        raise ValueError("a credit needs positive points")
    shop = member.shop
    earned_on = earned_on or _today()
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
        branch=branch,
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
    member.save(update_fields=["balance", "debt", "updated_at"])
    return entry


def _open_lots(member: Member, *, today: dt.date, spendable_only: bool):
    lots = PointLot.objects.filter(member=member, remaining__gt=0).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )
    if spendable_only:
        lots = lots.filter(available_on__lte=today)
    return lots.order_by(F("expires_on").asc(nulls_last=True), "id")


def _debit(
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
    today = _today()
    lots = list(_open_lots(member, today=today, spendable_only=spendable_only))
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


# --- tiers ----------------------------------------------------------------------------------------


def _qualifying_entries(member: Member):
    qualifying = Q(kind__in=TIER_QUALIFYING_KINDS) | Q(
        kind=EntryKind.REVERSAL, reversal_of__kind__in=TIER_QUALIFYING_KINDS
    )
    return LedgerEntry.objects.filter(qualifying, member=member)


def _window_filter(start: dt.date | None, end: dt.date) -> Q:
    window = Q(created_at__lt=_local_midnight(end))
    if start is not None:
        window &= Q(created_at__gte=_local_midnight(start))
    return window


def earned_in_window(member: Member, start: dt.date | None, end: dt.date) -> int:
    """Points that count for tiers, earned by ``member`` in ``[start, end)`` (Bangkok dates)."""
    entries = _qualifying_entries(member).filter(_window_filter(start, end))
    return entries.aggregate(total=Sum("points"))["total"] or 0


def earned_in_windows(member: Member, windows: list[tuple[dt.date | None, dt.date]]) -> list[int]:
    """``earned_in_window`` for each of ``windows``, in one query (a conditional sum each)."""
    sums = {
        f"w{i}": Sum("points", filter=_window_filter(start, end))
        for i, (start, end) in enumerate(windows)
    }
    totals = _qualifying_entries(member).aggregate(**sums)
    return [totals[f"w{i}"] or 0 for i in range(len(windows))]


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def tier_target(member: Member, *, until: dt.date, tiers: list[Tier]) -> Tier | None:
    """The tier ``member``'s earned points reach for the period starting ``until`` (before the
    manual floor)."""
    windows = rules.qualifying_windows(until, window=member.shop.tier_window)
    earned = max(earned_in_windows(member, windows))
    target_id = rules.tier_for_points(earned, [(t.threshold, t.pk) for t in tiers])
    return next((t for t in tiers if t.pk == target_id), None)


def _rank(tier: Tier | None) -> int:
    return -1 if tier is None else tier.threshold


def _apply_floor(member: Member, tier: Tier | None) -> Tier | None:
    floor = member.manual_tier
    if floor is not None and _rank(floor) > _rank(tier):
        return floor
    return tier


def tier_start(member: Member) -> None:
    """Give a member being created (not saved yet) the tier it reaches with no points earned —
    usually the base tier, threshold 0 — or its manual floor when higher, so that it is written
    with its tier in the same statement instead of having none until its first credit.

    The same rule as ``_maybe_upgrade`` (``rules.tier_for_points`` and the manual floor), with
    nothing earned yet; a tier already set on the row (e.g. given by hand) is kept when higher.
    """
    shop = member.shop
    if not shop.tiers_enabled:
        return
    tiers = list(Tier.objects.filter(shop=shop))
    target_id = rules.tier_for_points(0, [(t.threshold, t.pk) for t in tiers])
    target = _apply_floor(member, next((t for t in tiers if t.pk == target_id), None))
    if _rank(target) > _rank(member.tier):
        member.tier = target
        member.tier_changed_at = timezone.now()


def _maybe_upgrade(member: Member) -> None:
    """Upgrade at once when a credit crosses a threshold (downgrades wait for the evaluation)."""
    shop = member.shop
    if not shop.tiers_enabled:
        return
    tiers = list(Tier.objects.filter(shop=shop).order_by("threshold"))
    if not tiers or _rank(member.tier) >= tiers[-1].threshold:
        return  # no tier, or already in the top one: nothing to sum
    target = _apply_floor(
        member, tier_target(member, until=_today() + dt.timedelta(days=1), tiers=tiers)
    )
    if _rank(target) > _rank(member.tier):
        member.tier = target
        member.tier_changed_at = timezone.now()
        member.save(update_fields=["tier", "tier_changed_at", "updated_at"])


def _undo_upgrade_after_reversal(member: Member, reversed_entry: LedgerEntry) -> None:
    """A tier reached after the reversed credit is taken back if the points no longer reach it."""
    shop = member.shop
    if not shop.tiers_enabled or member.tier is None:
        return
    if member.tier_changed_at is None or member.tier_changed_at < reversed_entry.created_at:
        return
    tiers = list(Tier.objects.filter(shop=shop).order_by("threshold"))
    target = _apply_floor(
        member, tier_target(member, until=_today() + dt.timedelta(days=1), tiers=tiers)
    )
    if _rank(target) < _rank(member.tier):
        member.tier = target
        member.tier_changed_at = timezone.now()
        member.save(update_fields=["tier", "tier_changed_at", "updated_at"])


# --- members without an account -------------------------------------------------------------------


def clean_phone(phone: object) -> str:
    """A phone in E.164 or a clear ``InvalidPhoneNumber``."""
    try:
        return normalise_phone(phone)
    except InvalidPhone as exc:
        raise InvalidPhoneNumber(exc.messages[0], field="phone") from None


def _member_for_phone(shop: Shop, e164: str) -> tuple[Member, bool]:
    """The shop's member with this phone, or a new *pending* member (a phone alone can earn)."""
    member = Member.objects.filter(shop=shop, phone=e164).first()
    if member is not None:
        return member, False
    # Lock order: Shop first. Two cashiers typing the same new phone at once create one member.
    lock_shop(shop.pk)
    member = Member.objects.filter(shop=shop, phone=e164).first()
    if member is not None:
        return member, False
    try:
        with transaction.atomic():
            member = Member(shop=shop, phone=e164, status=Member.Status.PENDING)
            tier_start(member)
            member.save(force_insert=True)
    except IntegrityError:
        member = Member.objects.get(shop=shop, phone=e164)
        return member, False
    return member, True


def _check_branch(shop: Shop, branch: Branch | None) -> None:
    if branch is not None and (branch.shop_id != shop.pk or not branch.is_active):
        raise InvalidBranch(_("This branch is not an active branch of the shop."), field="branch")


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


@dataclass(frozen=True)
class EarnQuote:
    amount: Decimal
    points: int
    multiplier: Decimal
    tier: Tier | None


def earn_quote(*, shop: Shop, amount: Decimal, member: Member | None = None) -> EarnQuote:
    """What a spend of ``amount`` (clean, see ``clean_amount``) earns ``member`` now: the shop's
    rate and minimum spend with the member's tier multiplier (``rules.points_for_spend``). Refuses
    a spend that earns no points (``NoPointsForSpend``) and one that earns more than the shop's
    most points per entry (``TooManyPoints``). The one quote that ``points_earn``, the staff
    preview and the points QR codes use."""
    tier = member.tier if (member is not None and shop.tiers_enabled) else None
    multiplier = tier.earn_multiplier if tier is not None else Decimal("1")
    points = rules.points_for_spend(
        amount, thb_per_point=shop.thb_per_point, min_spend=shop.min_spend, multiplier=multiplier
    )
    if points <= 0:
        raise NoPointsForSpend(
            _(
                "A spend of %(amount)s baht earns no points (minimum spend %(min)s baht, "
                "%(rate)s baht per point)."
            )
            % {"amount": amount, "min": shop.min_spend, "rate": shop.thb_per_point},
            field="amount",
        )
    cap = rules.points_cap(shop.max_points_per_entry)
    if points > cap:
        raise TooManyPoints(
            _(
                "A spend of %(amount)s baht would earn %(points)s points, more than one entry may "
                "give in this shop (at most %(max)s). Check the amount."
            )
            % {"amount": f"{amount:,}", "points": f"{points:,}", "max": f"{cap:,}"},
            field="amount",
            extra={"points": points, "max": cap},
        )
    return EarnQuote(amount, points, multiplier, tier)


# --- services -----------------------------------------------------------------------------------


@transaction.atomic
def points_earn(
    *,
    shop: Shop,
    amount: object,
    idempotency_key: str,
    actor: Actor,
    member: Member | None = None,
    phone: str | None = None,
    branch: Branch | None = None,
    channel: str | None = None,
    order_id: str | None = None,
    receipt_no: str = "",
    items: list[LineItem] | tuple = (),
    note: str = "",
) -> EarnResult:
    """Credit points for a spend: ``floor(amount / THB per point × tier multiplier)``.

    Refuses amounts that are not positive baht with ≤ 2 decimals, spends that earn 0 points or more
    than the shop's most points per entry (``earn_quote``), blocked members, and branches of
    another shop. An unknown phone creates a pending member. Records the
    purchase (order id unique per shop and channel) and its line items; purchase points become
    spendable after the shop's pending days. Upgrades the tier at once when a threshold is crossed.
    """
    key = clean_key(idempotency_key)
    amount = clean_amount(amount)
    channel = channel or actor.channel
    order_id = (order_id or "").strip() or None
    _check_branch(shop, branch)
    if member is None and not phone:
        raise InvalidAmount(_("Choose a member or enter a phone number."), field="phone")
    e164 = clean_phone(phone) if member is None else None
    print_ = fingerprint(
        op="earn",
        member=member.pk if member else None,
        phone=e164,
        amount=str(amount),
        branch=branch.pk if branch else None,
        order=order_id,
        channel=channel,
    )
    replay = _replay(shop.pk, key, print_)
    if replay is not None:
        return EarnResult(replay, replay.purchase, replay.member, replay.points, False, True)

    created = False
    if member is None:
        member, created = _member_for_phone(shop, e164)
    elif member.shop_id != shop.pk:
        raise MemberNotActive(_("This member belongs to another shop."))
    member = lock_member(member.pk)
    if e164 and member.status == Member.Status.MERGED:
        # The phone's pending member was merged while we waited for its lock: the phone (and
        # its points) now belong to the member who proved it.
        member, created = _member_for_phone(shop, e164)
        member = lock_member(member.pk)
    _require_active(member)
    replay = _replay(shop.pk, key, print_)  # a concurrent twin may have committed meanwhile
    if replay is not None:
        return EarnResult(replay, replay.purchase, replay.member, replay.points, False, True)
    shop = member.shop

    points = earn_quote(shop=shop, amount=amount, member=member).points
    if (
        order_id
        and Purchase.objects.filter(shop=shop, channel=channel, external_order_id=order_id).exists()
    ):
        raise DuplicateOrder(
            _("Order %(order)s has already earned points.") % {"order": order_id},
            field="order_id",
        )
    today = _today()
    try:
        with transaction.atomic():
            purchase = Purchase.objects.create(
                shop=shop,
                member=member,
                branch=branch,
                channel=channel,
                external_order_id=order_id,
                receipt_no=(receipt_no or "")[:64],
                amount=amount,
                points=points,
            )
    except IntegrityError:
        raise DuplicateOrder(
            _("Order %(order)s has already earned points.") % {"order": order_id},
            field="order_id",
        ) from None
    if items:
        _save_items(shop, purchase, items)
    kind = (
        EntryKind.ORDER if channel in (Channel.ONLINE, Channel.API) and order_id else EntryKind.EARN
    )
    entry = _credit(
        member,
        kind=kind,
        points=points,
        key=key,
        print_=print_,
        actor=actor,
        note=note,
        branch=branch,
        purchase=purchase,
        reference=order_id or receipt_no or "",
        earned_on=today,
        available_on=rules.available_date_for(today, pending_days=shop.pending_days),
        channel=channel,
    )
    _maybe_upgrade(member)
    return EarnResult(entry, purchase, member, points, created, False)


def _save_items(shop: Shop, purchase: Purchase, items) -> None:
    skus = {i.sku for i in items if i.sku}
    products = {p.sku: p for p in Product.objects.filter(shop=shop, sku__in=skus)}
    missing = [
        Product(shop=shop, sku=i.sku, name=i.name[:200], price=i.price)
        for i in {i.sku: i for i in items if i.sku and i.sku not in products}.values()
    ]
    if missing:
        Product.objects.bulk_create(missing, ignore_conflicts=True)
        products = {p.sku: p for p in Product.objects.filter(shop=shop, sku__in=skus)}
    PurchaseItem.objects.bulk_create(
        PurchaseItem(
            shop=shop,
            purchase=purchase,
            product=products.get(i.sku),
            sku=i.sku,
            name=i.name[:200],
            quantity=i.quantity,
            price=i.price,
        )
        for i in items
    )


@transaction.atomic
def points_credit(
    *,
    member: Member,
    kind: str,
    points: int,
    idempotency_key: str,
    actor: Actor,
    note: str = "",
    reference: str = "",
    branch: Branch | None = None,
    expires_on: dt.date | bool | None = True,
) -> tuple[LedgerEntry, bool]:
    """Credit points that do not come from a spend (welcome, activity, import). Returns the entry
    and whether it was a replay. ``expires_on=True`` applies the shop's expiry policy. More points
    than the shop's most per entry are refused (``TooManyPoints``)."""
    key = clean_key(idempotency_key)
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise InvalidAmount(_("Points must be a whole number above 0."), field="points")
    print_ = fingerprint(op="credit", kind=kind, member=member.pk, points=points)
    replay = _replay(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    check_points_cap(member.shop, points)
    member = lock_member(member.pk)
    _require_active(member)
    replay = _replay(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    entry = _credit(
        member,
        kind=kind,
        points=points,
        key=key,
        print_=print_,
        actor=actor,
        note=note,
        reference=reference,
        branch=branch,
        expires_on=expires_on,
    )
    _maybe_upgrade(member)
    return entry, False


def points_welcome(*, member: Member, actor: Actor) -> LedgerEntry | None:
    """The shop's welcome points, once per member (the key is the member's id)."""
    points = member.shop.welcome_points
    if points <= 0:
        return None
    entry, _replayed = points_credit(
        member=member,
        kind=EntryKind.WELCOME,
        points=points,
        idempotency_key=f"welcome:{member.public_id}",
        actor=actor,
        note=_("Welcome points"),
    )
    return entry


@transaction.atomic
def points_adjust(
    *, member: Member, points: int, note: str, idempotency_key: str, actor: Actor
) -> tuple[LedgerEntry, bool]:
    """Add or remove points by hand, with a reason. A removal draws on the member's lots (pending
    ones too, since it corrects a mistake) and is refused beyond what the member has; either way
    no more than the shop's most points per entry (``TooManyPoints``)."""
    key = clean_key(idempotency_key)
    note = (note or "").strip()
    if not note:
        raise InvalidAmount(_("Write why the points are adjusted."), field="note")
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidAmount(_("Enter a whole number of points other than 0."), field="points")
    print_ = fingerprint(op="adjust", member=member.pk, points=points, note=note)
    replay = _replay(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    check_points_cap(member.shop, points)
    member = lock_member(member.pk)
    _require_active(member)
    replay = _replay(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    if points > 0:
        entry = _credit(
            member,
            kind=EntryKind.ADJUST,
            points=points,
            key=key,
            print_=print_,
            actor=actor,
            note=note,
        )
    else:
        entry = _debit(
            member,
            kind=EntryKind.ADJUST,
            points=-points,
            key=key,
            print_=print_,
            actor=actor,
            note=note,
            spendable_only=False,
        )
    return entry, False


@transaction.atomic
def points_spend(
    *,
    member: Member,
    points: int,
    idempotency_key: str,
    actor: Actor,
    note: str = "",
    reference: str = "",
    branch: Branch | None = None,
) -> tuple[LedgerEntry, bool]:
    """Spend points (a reward). Only spendable lots count (not pending, not expired); a member
    with debt cannot spend until it is paid off. Callers that also lock a reward must call this
    inside their own transaction after locking the member (lock order Member → Reward)."""
    key = clean_key(idempotency_key)
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise InvalidAmount(_("Points must be a whole number above 0."), field="points")
    print_ = fingerprint(op="spend", member=member.pk, points=points, reference=reference)
    replay = _replay(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    member = lock_member(member.pk)
    _require_active(member)
    replay = _replay(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    if member.debt > 0:
        raise MemberHasDebt(
            _("This member owes %(debt)s points from a refund; new points pay it off first.")
            % {"debt": member.debt}
        )
    entry = _debit(
        member,
        kind=EntryKind.REDEEM,
        points=points,
        key=key,
        print_=print_,
        actor=actor,
        note=note,
        reference=reference,
        branch=branch,
    )
    return entry, False


def reverse_refusal(entry: LedgerEntry, *, as_owner: str | None = None) -> CannotReverse | None:
    """Why ``entry`` cannot be reversed, or None: a reversal or an expiry; an entry already
    reversed; an entry that belongs to a higher layer's record (a redemption: see
    ``members.ledger.owners``), unless the caller is that owner (``as_owner`` its kind), whose
    service undoes the rest of it too. ``entry_reverse`` asks again under the member's lock; the
    back office asks before it shows the form."""
    if entry.kind == EntryKind.REVERSAL:
        return CannotReverse(_("A reversal cannot be reversed; make an adjustment instead."))
    if entry.kind == EntryKind.EXPIRE:
        return CannotReverse(_("Expired points cannot be reversed; make an adjustment instead."))
    owner = owners.entry_owner(entry.pk)
    if as_owner is not None and (owner is None or owner.kind != as_owner):
        raise ValueError(f"entry {entry.pk} does not belong to a {as_owner}")
    if LedgerEntry.objects.filter(reversal_of=entry).exists():
        if owner is not None:
            return CannotReverse(
                _("This entry has already been reversed (it belongs to %(owner)s).")
                % {"owner": owner.label}
            )
        return CannotReverse(_("This entry has already been reversed."))
    if owner is not None and owner.kind != as_owner:
        return EntryOwned(
            _("These points belong to %(owner)s and cannot be reversed on their own. %(undo)s")
            % {"owner": owner.label, "undo": owner.undo},
            owner=owner,
        )
    return None


@transaction.atomic
def entry_reverse(
    *,
    entry: LedgerEntry,
    note: str,
    idempotency_key: str,
    actor: Actor,
    as_owner: str | None = None,
) -> tuple[LedgerEntry, bool]:
    """Reverse one entry with a new, opposite entry.

    - a credit: its lot loses what is left of it; what was already spent becomes debt, paid first
      by the next credits. A tier reached thanks to it is re-evaluated. Its purchase is marked
      reversed.
    - a debit (reward, adjustment): the points go back to exactly the lots they came from; points
      whose lot has expired meanwhile expire again at once.
    A reversal, an expiry, or an entry already reversed cannot be reversed. Neither can an entry
    that belongs to a higher layer (a redemption's debit): only its owner's service reverses it,
    passing ``as_owner`` (``rewards.services.redemption_cancel``, which also cancels the coupon or
    delivery and returns the stock), so the points never come back while the reward stays taken.
    """
    key = clean_key(idempotency_key)
    note = (note or "").strip()
    print_ = fingerprint(op="reverse", entry=entry.pk)
    replay = _replay(entry.shop_id, key, print_)
    if replay is not None:
        return replay, True
    member = lock_member(entry.member_id)
    replay = _replay(entry.shop_id, key, print_)
    if replay is not None:
        return replay, True
    entry = LedgerEntry.objects.select_related("purchase").get(pk=entry.pk)
    refusal = reverse_refusal(entry, as_owner=as_owner)
    if refusal is not None:
        raise refusal
    if member.status == Member.Status.ERASED:
        raise MemberNotActive(_("This member is deleted; points cannot change."))

    if entry.points > 0:
        reversal = _reverse_credit(member, entry, key=key, print_=print_, actor=actor, note=note)
        if entry.purchase_id:
            Purchase.objects.filter(pk=entry.purchase_id).update(status=Purchase.Status.REVERSED)
        _undo_upgrade_after_reversal(member, entry)
    else:
        reversal = _reverse_debit(member, entry, key=key, print_=print_, actor=actor, note=note)
    return reversal, False


def _reverse_credit(member, entry, *, key, print_, actor, note) -> LedgerEntry:
    lot = PointLot.objects.get(entry=entry)
    # Points of this lot that expired are gone already; the reversal takes back the rest: what is
    # left of the lot, and as debt what was spent or paid to earlier debt.
    expired = (
        LotAllocation.objects.filter(lot=lot, debit__kind=EntryKind.EXPIRE).aggregate(
            total=Sum("points")
        )["total"]
        or 0
    )
    amount = entry.points - expired
    if amount <= 0:
        raise CannotReverse(
            _("All points of this entry have expired; there is nothing to reverse.")
        )
    take = lot.remaining
    shortfall = amount - take
    member.balance -= amount
    member.debt += shortfall
    reversal = LedgerEntry.objects.create(
        shop=member.shop,
        member=member,
        kind=EntryKind.REVERSAL,
        points=-amount,
        balance_after=member.balance,
        idempotency_key=key,
        fingerprint=print_,
        branch=entry.branch,
        channel=actor.channel,
        note=note[:500],
        reversal_of=entry,
        purchase=entry.purchase,
        reference=entry.reference,
        **actor.entry_fields(),
    )
    if take:
        LotAllocation.objects.create(debit=reversal, lot=lot, points=take)
        lot.remaining = 0
        lot.save(update_fields=["remaining"])
    member.save(update_fields=["balance", "debt", "updated_at"])
    return reversal


def _reverse_debit(member, entry, *, key, print_, actor, note) -> LedgerEntry:
    allocations = list(entry.allocations.select_related("lot"))
    restored = sum(a.points for a in allocations)
    # An adjustment's allocations cover all of it; a reversal-of-credit is refused above.
    member.balance += restored
    reversal = LedgerEntry.objects.create(
        shop=member.shop,
        member=member,
        kind=EntryKind.REVERSAL,
        points=restored,
        balance_after=member.balance,
        idempotency_key=key,
        fingerprint=print_,
        branch=entry.branch,
        channel=actor.channel,
        note=note[:500],
        reversal_of=entry,
        reference=entry.reference,
        **actor.entry_fields(),
    )
    lots = []
    for allocation in allocations:
        lot = allocation.lot
        lot.remaining += allocation.points
        lots.append(lot)
    PointLot.objects.bulk_update(lots, ["remaining"])
    member.save(update_fields=["balance", "updated_at"])
    today = _today()
    expired = [lot for lot in lots if lot.expires_on is not None and lot.expires_on < today]
    if expired:
        expire_lots_now(member, expired, key=f"{key}:expired")
    return reversal


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


def purchase_reverse(
    *, purchase: Purchase, note: str, idempotency_key: str, actor: Actor
) -> tuple[LedgerEntry, bool]:
    """Reverse a purchase (refund or void): reverses the credit it earned."""
    entry = (
        LedgerEntry.objects.filter(purchase=purchase, points__gt=0, reversal_of__isnull=True)
        .order_by("id")
        .first()
    )
    if entry is None:
        raise CannotReverse(_("This purchase earned no points."))
    return entry_reverse(entry=entry, note=note, idempotency_key=idempotency_key, actor=actor)
