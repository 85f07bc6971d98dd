"""Points for a spend and credits without one: ``points_earn`` (priced by ``points_quote``, the
one quote the staff preview shows too), ``points_credit`` and ``points_welcome``.

Each service locks the member row first (``locks.lock_member``; lock order Shop → Member →
Reward), answers a replay of its idempotency key with the first result and refuses the key used for
another request (``IdempotencyMismatch``), and writes one immutable entry with its lot and the
member's cached balance and debt in one transaction. The Open API's earn takes the short way
(``_earn_by_public_id``): see docs/_arch/ledger.md for its statement budget.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from loyalty.errors import InvalidInput, NotFound
from loyalty.idempotency import clean_key, fingerprint, in_request_transaction, write_atomic
from members.ledger import rules
from members.ledger.actors import Actor
from members.ledger.core import (
    check_points_cap,
    clean_amount,
    clean_phone,
    credit,
    local_today,
    replay_entry,
    require_active,
)
from members.ledger.errors import (
    DuplicateOrder,
    InvalidAmount,
    InvalidBranch,
    MemberNotActive,
    NoPointsForSpend,
    TooManyPoints,
)
from members.ledger.locks import lock_member, lock_member_by_public_id, lock_shop
from members.ledger.models import (
    Channel,
    EntryKind,
    LedgerEntry,
    Product,
    Purchase,
    PurchaseItem,
)
from members.ledger.tiers import tier_announce, tier_start, tier_upgrade
from members.ledger.visits import bought_record, visit_note
from members.models import Member
from members.notifications.models import NoticeKind
from members.notifications.services import notify
from shops.models import Branch, Shop, Tier
from shops.selectors import branch_by_code


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


def member_for_phone(shop: Shop, e164: str) -> tuple[Member, bool]:
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


def check_branch(shop: Shop, branch: Branch | None) -> None:
    if branch is not None and (branch.shop_id != shop.pk or not branch.is_active):
        raise InvalidBranch(_("This branch is not an active branch of the shop."), field="branch")


@dataclass(frozen=True)
class EarnQuote:
    amount: Decimal
    points: int
    multiplier: Decimal
    tier: Tier | None


def points_quote(*, shop: Shop, amount: Decimal, member: Member | None = None) -> EarnQuote:
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


@write_atomic
def points_earn(
    *,
    shop: Shop,
    amount: object,
    idempotency_key: str,
    actor: Actor,
    member: Member | None = None,
    member_public_id: uuid.UUID | None = None,
    phone: str | None = None,
    branch: Branch | None = None,
    branch_code: str | None = None,
    channel: str | None = None,
    order_id: str | None = None,
    receipt_no: str = "",
    items: list[LineItem] | tuple = (),
    note: str = "",
) -> EarnResult:
    """Credit points for a spend: ``floor(amount / THB per point × tier multiplier)``.

    Refuses amounts that are not positive baht with ≤ 2 decimals, spends that earn 0 points or more
    than the shop's most points per entry (``points_quote``), blocked members, and branches of
    another shop. An unknown phone creates a pending member. Records the
    purchase (order id unique per shop and channel) and its line items; purchase points become
    spendable after the shop's pending days. Upgrades the tier at once when a threshold is crossed.

    The member is ``member``, the shop's member ``member_public_id`` (``NotFound`` if none: the
    Open API's path, which finds and locks it in one statement, see ``_earn_by_public_id``) or the
    one with ``phone``; the branch is ``branch`` or the shop's active branch ``branch_code``.
    """
    key = clean_key(idempotency_key)
    channel = channel or actor.channel
    order_id = (order_id or "").strip() or None
    if member_public_id is not None:
        return _earn_by_public_id(
            shop=shop,
            public_id=member_public_id,
            amount=amount,
            key=key,
            actor=actor,
            branch_code=branch_code,
            channel=channel,
            order_id=order_id,
            receipt_no=receipt_no,
            items=items,
            note=note,
        )
    amount = clean_amount(amount)
    if branch_code:
        branch = _branch_by_code(shop, branch_code)
    check_branch(shop, branch)
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
    replay = replay_entry(shop.pk, key, print_)
    if replay is not None:
        return EarnResult(replay, replay.purchase, replay.member, replay.points, False, True)

    created = False
    if member is None:
        member, created = member_for_phone(shop, e164)
    elif member.shop_id != shop.pk:
        raise MemberNotActive(_("This member belongs to another shop."))
    member = lock_member(member.pk)
    if e164 and member.status == Member.Status.MERGED:
        # The phone's pending member was merged while we waited for its lock: the phone (and
        # its points) now belong to the member who proved it.
        member, created = member_for_phone(shop, e164)
        member = lock_member(member.pk)
    require_active(member)
    replay = replay_entry(shop.pk, key, print_)  # a concurrent twin may have committed meanwhile
    if replay is not None:
        return EarnResult(replay, replay.purchase, replay.member, replay.points, False, True)
    entry, purchase, points = _earn_write(
        member,
        amount=amount,
        key=key,
        print_=print_,
        actor=actor,
        branch_id=branch.pk if branch else None,
        channel=channel,
        order_id=order_id,
        receipt_no=receipt_no,
        items=items,
        note=note,
    )
    return EarnResult(entry, purchase, member, points, created, False)


def _branch_by_code(shop: Shop, code: str) -> Branch:
    branch = branch_by_code(shop=shop, code=code)
    if branch is None:
        raise _unknown_branch(code)
    return branch


def _unknown_branch(code: str) -> InvalidInput:
    return InvalidInput(
        _("Unknown branch code “%(code)s”.") % {"code": code},
        code="unknown_branch",
        field="branch_code",
    )


def _earn_by_public_id(*, shop: Shop, public_id, amount, key: str, branch_code, **write):
    """``points_earn`` for a member given by its public id (the Open API), in as few statements
    as the rules allow: the member is found and locked by one statement that also reads the branch
    by its code and, inside the API's ``request_transaction``, whether the key has an entry
    already. That read is as of the statement's start: when the lock waited for another writer
    of the member (a twin with the same key, say) it is made again by its own query, as it is
    outside the request transaction, where the key is always checked after the lock."""
    in_request = in_request_transaction()
    member = lock_member_by_public_id(
        shop_id=shop.pk,
        public_id=public_id,
        branch_code=branch_code.strip().upper() if branch_code else None,
        entry_key=key if in_request else None,
    )
    if member is None:
        raise NotFound(_("Not found in this shop."))
    branch_id = member.branch_pk if branch_code else None
    if branch_code and branch_id is None:
        raise _unknown_branch(branch_code)
    amount = clean_amount(amount)
    print_ = fingerprint(
        op="earn",
        member=member.pk,
        phone=None,
        amount=str(amount),
        branch=branch_id,
        order=write["order_id"],
        channel=write["channel"],
    )
    if not in_request or member.keyed_entry_pk is not None or member.lock_waited:
        replay = replay_entry(shop.pk, key, print_)
        if replay is not None:
            return EarnResult(replay, replay.purchase, replay.member, replay.points, False, True)
    require_active(member)
    entry, purchase, points = _earn_write(
        member, amount=amount, key=key, print_=print_, branch_id=branch_id, **write
    )
    return EarnResult(entry, purchase, member, points, False, False)


def _earn_write(
    member: Member,
    *,
    amount: Decimal,
    key: str,
    print_: str,
    actor: Actor,
    branch_id: int | None,
    channel: str,
    order_id: str | None,
    receipt_no: str,
    items,
    note: str,
) -> tuple[LedgerEntry, Purchase, int]:
    """The writes of an earn on a locked, active member whose key is fresh: the purchase, its
    items, the entry and lot (``core.credit``), the tier (``tiers.tier_upgrade``), then the member
    row once (balance, debt and tier in one UPDATE). Nothing written is read back."""
    shop = member.shop
    points = points_quote(shop=shop, amount=amount, member=member).points
    purchase = Purchase(
        shop=shop,
        member=member,
        branch_id=branch_id,
        channel=channel,
        external_order_id=order_id,
        receipt_no=(receipt_no or "")[:64],
        amount=amount,
        points=points,
    )
    if order_id:
        duplicate = DuplicateOrder(
            _("Order %(order)s has already earned points.") % {"order": order_id},
            field="order_id",
        )
        if Purchase.objects.filter(shop=shop, channel=channel, external_order_id=order_id).exists():
            raise duplicate
        try:
            with transaction.atomic():  # a savepoint: the order may be taken meanwhile
                purchase.save(force_insert=True)
        except IntegrityError:
            raise duplicate from None
    else:
        purchase.save(force_insert=True)  # nothing unique to clash with: no savepoint
    if items:
        _save_items(shop, purchase, items)
        bought_record(purchase_id=purchase.pk)
    kind = (
        EntryKind.ORDER if channel in (Channel.ONLINE, Channel.API) and order_id else EntryKind.EARN
    )
    today = local_today()
    entry = credit(
        member,
        kind=kind,
        points=points,
        key=key,
        print_=print_,
        actor=actor,
        note=note,
        branch_id=branch_id,
        purchase=purchase,
        reference=order_id or receipt_no or "",
        earned_on=today,
        available_on=rules.available_date_for(today, pending_days=shop.pending_days),
        channel=channel,
        save=False,
    )
    upgraded = tier_upgrade(member, save=False, announce=False)
    # The tier columns only when they moved: a save naming "tier" tells listeners (the rich
    # menus' re-link) that the tier may have changed.
    tier_fields = ["tier", "tier_changed_at"] if upgraded else []
    visit_fields = visit_note(member, purchase)
    member.save(update_fields=["balance", "debt", *tier_fields, *visit_fields, "updated_at"])
    # Every spend that earns (staff app, points QR, Open API) tells the member, in this
    # transaction; imports and bulk credits do not (members.ledger.bulk).
    notify(member, NoticeKind.EARNED, {"points": points}, cause_key=str(entry.pk))
    if upgraded:
        tier_announce(member)
    return entry, purchase, points


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
    replay = replay_entry(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    check_points_cap(member.shop, points)
    member = lock_member(member.pk)
    require_active(member)
    replay = replay_entry(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    entry = credit(
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
    tier_upgrade(member)
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
