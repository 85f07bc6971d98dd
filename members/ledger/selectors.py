"""Reads of points: a member's balance split by state, open lots by expiry date, tier progress,
history pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, Sum
from django.utils import timezone

from members.ledger import rules
from members.ledger.models import LedgerEntry, PointLot
from members.ledger.tiers import earned_in_window
from members.models import Member
from shops.models import Tier


@dataclass(frozen=True)
class LotView:
    remaining: int
    expires_on: dt.date | None
    available_on: dt.date
    earned_on: dt.date


@dataclass(frozen=True)
class PointsSummary:
    balance: int
    debt: int
    spendable: int
    pending: int
    lots: list[LotView] = field(default_factory=list)

    @property
    def expiring(self) -> list[tuple[dt.date, int]]:
        """Open points grouped by expiry date, soonest first (never-expiring left out)."""
        by_date: dict[dt.date, int] = {}
        for lot in self.lots:
            if lot.expires_on is not None:
                by_date[lot.expires_on] = by_date.get(lot.expires_on, 0) + lot.remaining
        return sorted(by_date.items())


def member_points_summary(member: Member, *, today: dt.date | None = None) -> PointsSummary:
    """Balance, debt, what can be spent today, what is still pending, and each open lot (one query)."""
    today = today or timezone.localdate()
    lots = [
        LotView(lot.remaining, lot.expires_on, lot.available_on, lot.earned_on)
        for lot in PointLot.objects.filter(member=member, remaining__gt=0)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .order_by("expires_on", "id")
        .only("remaining", "expires_on", "available_on", "earned_on")
    ]
    spendable_lots = sum(lot.remaining for lot in lots if lot.available_on <= today)
    pending = sum(lot.remaining for lot in lots if lot.available_on > today)
    return PointsSummary(
        balance=member.balance,
        debt=member.debt,
        spendable=max(spendable_lots - member.debt, 0),
        pending=pending,
        lots=lots,
    )


@dataclass(frozen=True)
class TierProgress:
    enabled: bool
    current: Tier | None
    next: Tier | None
    earned: int
    points_to_next: int | None
    points_to_keep: int | None
    window_start: dt.date | None
    keep_by: dt.date | None
    tiers: list[Tier] = field(default_factory=list)

    @property
    def percent_to_next(self) -> int:
        if self.next is None or self.points_to_next is None:
            return 100
        base = self.current.threshold if self.current else 0
        span = max(self.next.threshold - base, 1)
        return max(0, min(100, int((self.earned - base) * 100 / span)))


def tier_progress(
    member: Member, *, today: dt.date | None = None, tiers=None, earned: int | None = None
) -> TierProgress:
    """Where the member stands: points earned in the current window, points to the next tier, and
    points needed by the next evaluation date to keep the current tier (one or two queries).

    ``tiers`` (the shop's, by threshold) and ``earned`` (the points earned in the current window)
    may be given when the caller read them already, as the member card does with the member's row;
    then this makes no query."""
    shop = member.shop
    today = today or timezone.localdate()
    tiers = list(
        tiers if tiers is not None else Tier.objects.filter(shop=shop).order_by("threshold")
    )
    if not shop.tiers_enabled or not tiers:
        return TierProgress(False, member.tier, None, 0, None, None, None, None, tiers)
    start, end = rules.current_window(today + dt.timedelta(days=1), window=shop.tier_window)
    if earned is None:
        earned = earned_in_window(member, start, end)
    current = member.tier
    higher = [t for t in tiers if current is None or t.threshold > current.threshold]
    nxt = higher[0] if higher else None
    to_next = max(nxt.threshold - earned, 0) if nxt else None
    to_keep = None
    keep_by = None
    if current is not None and current.threshold > 0 and current.pk != member.manual_tier_id:
        to_keep = max(current.threshold - earned, 0)
        keep_by = (
            dt.date(today.year, 12, 31)
            if shop.tier_window == "calendar_year"
            else rules.next_cycle_end(today, cycle=shop.tier_cycle)
        )
    return TierProgress(True, current, nxt, earned, to_next, to_keep, start, keep_by, tiers)


def member_entries(member: Member, *, before_id: int | None = None, limit: int = 20):
    """One page of a member's history, newest first, keyset-paginated by id (stable under
    concurrent writes, unlike offsets)."""
    entries = (
        LedgerEntry.objects.filter(member=member)
        .select_related("branch", "purchase", "reversal_of")
        .order_by("-id")
    )
    if before_id is not None:
        entries = entries.filter(pk__lt=before_id)
    page = list(entries[: limit + 1])
    return page[:limit], (page[limit - 1].pk if len(page) > limit else None)


def entry_is_reversed(entry_id: int) -> bool:
    """Whether an entry has a reversal (an entry is reversed at most once)."""
    return LedgerEntry.objects.filter(reversal_of_id=entry_id).exists()


def shop_points_totals(shop_id: int) -> dict:
    """Per-kind sums of the shop's ledger and the sum of balances (for reports and invariants)."""
    by_kind = dict(
        LedgerEntry.objects.filter(shop_id=shop_id)
        .values_list("kind")
        .annotate(total=Sum("points"))
        .values_list("kind", "total")
    )
    balances = Member.objects.filter(shop_id=shop_id).aggregate(total=Sum("balance"))["total"] or 0
    return {"by_kind": by_kind, "ledger_total": sum(by_kind.values()), "balances": balances}
