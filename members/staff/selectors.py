"""Reads for the staff app: the branches a person may work at, a member's card at the counter,
today's transactions at a branch, a points QR code's state."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from loyalty.dates import local_midnight
from members.ledger.models import EntryKind, LedgerEntry
from members.models import Member
from members.phone_claims.selectors import with_latest_claim
from members.staff.models import PointsClaim
from shops.models import Branch, Shop, User

STAFF_ROLES = (User.Role.OWNER, User.Role.MANAGER, User.Role.CASHIER)
VOIDING_ROLES = (User.Role.OWNER, User.Role.MANAGER)


def can_use_staff_app(user) -> bool:
    """Whether this signed-in person is staff of an active shop (platform operators are not)."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.shop_id
        and user.role in STAFF_ROLES
        and user.shop.is_active
    )


def can_void(user) -> bool:
    return user.role in VOIDING_ROLES


def staff_branches(user: User) -> QuerySet[Branch]:
    """Active branches where ``user`` may work: a cashier's own branches; every branch of the
    shop for owners and managers."""
    branches = Branch.objects.filter(shop_id=user.shop_id, is_active=True)
    if user.role == User.Role.CASHIER:
        branches = branches.filter(staff=user)
    return branches.order_by("name")


def member_for_staff(*, shop: Shop, public_id: uuid.UUID) -> Member | None:
    """A member of ``shop`` by public id, with the tier the counter shows and a phone number
    waiting for proof (one query); another shop's member is None, exactly like a member that
    does not exist."""
    members = Member.objects.select_related("tier").filter(shop=shop, public_id=public_id)
    return with_latest_claim(members).first()


def pending_balance(*, member_id: int) -> int:
    """The points a pending member (a phone number that earned before it was proven) holds."""
    return Member.objects.values_list("balance", flat=True).get(pk=member_id)


def entry_for_staff(*, shop: Shop, public_id: uuid.UUID) -> LedgerEntry | None:
    return (
        LedgerEntry.objects.select_related("member", "member__tier", "purchase", "branch")
        .filter(shop=shop, public_id=public_id)
        .first()
    )


def claim_for_staff(*, shop: Shop, public_id: uuid.UUID) -> PointsClaim | None:
    return (
        PointsClaim.objects.select_related("branch", "claimed_by", "entry", "cashier")
        .filter(shop=shop, public_id=public_id)
        .first()
    )


@dataclass
class Totals:
    count: int = 0
    amount: Decimal = Decimal("0.00")
    points: int = 0

    def add(self, entry: LedgerEntry) -> None:
        self.count += 1
        self.points += entry.points
        if entry.purchase_id:
            self.amount += entry.purchase.amount


@dataclass
class TodayAtBranch:
    day: dt.date
    entries: list[LedgerEntry]
    mine: Totals = field(default_factory=Totals)
    branch: Totals = field(default_factory=Totals)
    voided: int = 0


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The instants where a Bangkok day starts and the next one starts."""
    return local_midnight(day), local_midnight(day + dt.timedelta(days=1))


def today_at_branch(*, branch: Branch, user: User, day: dt.date | None = None) -> TodayAtBranch:
    """Today's points from purchases at ``branch`` (newest first), each marked voided or not, with
    totals for ``user`` and for the whole branch; voided ones count in neither (two queries)."""
    day = day or timezone.localdate()
    start, end = day_bounds(day)
    entries = list(
        LedgerEntry.objects.filter(
            shop_id=branch.shop_id,
            branch=branch,
            kind=EntryKind.EARN,
            created_at__gte=start,
            created_at__lt=end,
        )
        .select_related("member", "purchase", "created_by", "api_key", "approved_by")
        .annotate(
            is_voided=Exists(LedgerEntry.objects.filter(reversal_of=OuterRef("pk"))),
        )
        .order_by("-created_at", "-id")
    )
    today = TodayAtBranch(day=day, entries=entries)
    for entry in entries:
        if entry.is_voided:
            today.voided += 1
            continue
        today.branch.add(entry)
        if entry.created_by_id == user.pk:
            today.mine.add(entry)
    return today
