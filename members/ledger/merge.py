"""Moving one member's whole ledger to another: a pending member (points collected at the store with
a phone alone) merged into the member who proved that phone (``members.phone_claims``).

The entries, lots and purchases move as they are (kind, points, who, where, when, why, expiry
dates, allocations), so the member's history, expiry batches, tier windows and later reversals
of those purchases all work on the merged account as if it had been one from the start. The only
columns that change are the member and each entry's running ``balance_after``, renumbered over the
merged history in entry order so that it stays "the balance after this entry".
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Sum, Window

from members.ledger.core import local_today, open_lots
from members.ledger.models import LedgerEntry, PointLot, Purchase
from members.ledger.tiers import tier_rank, tier_upgrade
from members.ledger.visits import bought_move, visit_refresh
from members.models import Member

# The ledger's relations to Member that ``ledger_merge`` moves (model label, field).
LEDGER_RELATIONS = frozenset(
    {
        ("members.LedgerEntry", "member"),
        ("members.PointLot", "member"),
        ("members.Purchase", "member"),
        ("members.PurchaseProduct", "member"),
    }
)


def ledger_merge(*, source: Member, target: Member, today: dt.date | None = None) -> int:
    """Move ``source``'s ledger to ``target``; both member rows locked by the caller (lock order
    Shop → Member, the two members in ascending id order). Returns the points moved.

    - Balances and debts add up. Debt and open points cannot sit side by side (a member with debt
      has no open points: new credits pay debt first), so the open lots pay the debt at once, as
      a credit would, nearest expiry first; the balance does not change.
    - The target keeps the higher of the two tiers and of the two hand-set floors, and is upgraded
      at once when the merged earned points reach a higher tier.
    - ``source`` is left with no entries, lots or purchases and a zero balance.
    """
    if source.shop_id != target.shop_id or source.pk == target.pk:
        raise ValueError("a merge needs two members of one shop")
    points = source.balance
    LedgerEntry.objects.filter(member=source).update(member=target)
    PointLot.objects.filter(member=source).update(member=target)
    moved = list(Purchase.objects.filter(member=source).values_list("pk", flat=True))
    Purchase.objects.filter(pk__in=moved).update(member=target)
    bought_move(moved, target)

    target.balance += source.balance
    target.debt += source.debt
    source.balance, source.debt = 0, 0
    _pay_debt_from_open_lots(target, today=today or local_today())
    _renumber_balance_after(target)

    if tier_rank(source.tier) > tier_rank(target.tier):
        target.tier = source.tier
        target.tier_changed_at = source.tier_changed_at
    if tier_rank(source.manual_tier) > tier_rank(target.manual_tier):
        target.manual_tier = source.manual_tier
    source.last_visit_at, source.last_visit_branch_id = None, None  # no purchases left
    source.save(
        update_fields=["balance", "debt", "last_visit_at", "last_visit_branch", "updated_at"]
    )
    target.save(
        update_fields=["balance", "debt", "tier", "tier_changed_at", "manual_tier", "updated_at"]
    )
    visit_refresh(target)
    tier_upgrade(target)
    return points


def _pay_debt_from_open_lots(member: Member, *, today: dt.date) -> None:
    if member.debt <= 0:
        return
    changed = []
    for lot in open_lots(member, today=today, spendable_only=False):
        pay = min(lot.remaining, member.debt)
        lot.remaining -= pay
        lot.debt_paid += pay
        member.debt -= pay
        changed.append(lot)
        if member.debt == 0:
            break
    PointLot.objects.bulk_update(changed, ["remaining", "debt_paid"])


def _renumber_balance_after(member: Member) -> None:
    running = (
        LedgerEntry.objects.filter(member=member)
        .annotate(running=Window(Sum("points"), order_by=F("id").asc()))
        .values_list("pk", "running", "balance_after")
    )
    changed = [
        LedgerEntry(pk=pk, balance_after=total) for pk, total, before in running if total != before
    ]
    LedgerEntry.objects.bulk_update(changed, ["balance_after"], batch_size=500)
