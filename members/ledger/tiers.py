"""Tiers on the ledger's write path: the tier a new member starts with, the upgrade at once when a
credit crosses a threshold, and the undo of an upgrade whose credit is reversed. Downgrades wait
for the evaluation at the end of each cycle (``members.ledger.jobs``).

Every decision here is ``rules.tier_with_floor`` (the one tier-floor rule) applied to the points
earned in the shop's tier window(s) (``rules.qualifying_windows``): qualifying credits minus their
reversals, summed per window from Bangkok midnight to Bangkok midnight.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import IntegerField, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from loyalty.compiled import compiled
from loyalty.dates import local_midnight
from members.ledger import rules
from members.ledger.core import local_today
from members.ledger.models import TIER_QUALIFYING_KINDS, EntryKind, LedgerEntry
from members.models import Member
from members.notifications.models import NoticeKind
from members.notifications.services import notify
from shops.models import Tier


def _qualifying_entries(member: Member | int):
    qualifying = Q(kind__in=TIER_QUALIFYING_KINDS) | Q(
        kind=EntryKind.REVERSAL, reversal_of__kind__in=TIER_QUALIFYING_KINDS
    )
    return LedgerEntry.objects.filter(qualifying, member=member)


def _window_filter(start: dt.date | None, end: dt.date) -> Q:
    window = Q(created_at__lt=local_midnight(end))
    if start is not None:
        window &= Q(created_at__gte=local_midnight(start))
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


def tier_target(member: Member, *, until: dt.date, tiers: list[Tier]) -> Tier | None:
    """The tier ``member``'s earned points reach for the period starting ``until`` (before the
    manual floor)."""
    windows = rules.qualifying_windows(until, window=member.shop.tier_window)
    earned = max(earned_in_windows(member, windows))
    target_id = rules.tier_for_points(earned, [(t.threshold, t.pk) for t in tiers])
    return next((t for t in tiers if t.pk == target_id), None)


def tier_rank(tier: Tier | None) -> int:
    return -1 if tier is None else tier.threshold


def held_tier(member: Member, earned: int, tiers: list[Tier]) -> Tier | None:
    """The tier ``member`` holds with ``earned`` points: ``rules.tier_with_floor`` over ``tiers``
    with the member's manual floor."""
    held = rules.tier_with_floor(
        earned, [(t.threshold, t.pk) for t in tiers], member.manual_tier_id
    )
    return next((t for t in tiers if t.pk == held), None)


def _tiers_with_earned(member: Member, *, until: dt.date) -> tuple[list[Tier], int]:
    """The shop's tiers and the points ``member`` earned for the period starting ``until`` (the
    highest of its windows), in one statement: each window's sum rides on every tier row as a
    scalar subquery, which the database computes once. The statement is compiled once per
    process and shape of windows (``loyalty.compiled``): the earn path runs it on every credit."""
    windows = rules.qualifying_windows(until, window=member.shop.tier_window)
    values = {"member_id": member.pk, "shop_id": member.shop_id}
    for i, (start, end) in enumerate(windows):
        if start is not None:
            values[f"start{i}"] = local_midnight(start)
        values[f"end{i}"] = local_midnight(end)
    shape = "".join("e" if start is None else "r" for start, _end in windows)
    tiers = compiled(f"ledger.tiers_with_earned:{shape}", _tiers_with_sums, **values)
    earned = max((getattr(t, f"w{i}") for t in tiers[:1] for i in range(len(windows))), default=0)
    return tiers, earned


def _tiers_with_sums(*, member_id, shop_id, **bounds):
    sums = {}
    for i in range(sum(1 for name in bounds if name.startswith("end"))):
        window = Q(created_at__lt=bounds[f"end{i}"])
        if f"start{i}" in bounds:
            window &= Q(created_at__gte=bounds[f"start{i}"])
        sums[f"w{i}"] = Coalesce(
            Subquery(
                _qualifying_entries(member_id)
                .filter(window)
                .order_by()
                .values("member_id")
                .annotate(total=Sum("points"))
                .values("total")[:1],
                output_field=IntegerField(),
            ),
            Value(0),
        )
    return Tier.objects.filter(shop_id=shop_id).annotate(**sums).order_by("threshold")


def tier_start(member: Member) -> None:
    """Give a member being created (not saved yet) the tier it reaches with no points earned —
    usually the base tier, threshold 0 — or its manual floor when higher, so that it is written
    with its tier in the same statement instead of having none until its first credit.

    The same rule as ``tier_upgrade`` (``rules.tier_with_floor``), with nothing earned yet; a
    tier already set on the row (e.g. given by hand) is kept when higher.
    """
    shop = member.shop
    if not shop.tiers_enabled:
        return
    target = held_tier(member, 0, list(Tier.objects.filter(shop=shop)))
    if tier_rank(target) > tier_rank(member.tier):
        member.tier = target
        member.tier_changed_at = timezone.now()


def tier_upgrade(member: Member, *, save: bool = True, announce: bool = True) -> bool:
    """Upgrade at once when a credit crosses a threshold (downgrades wait for the evaluation),
    and tell the member on LINE (``tier_announce``). Returns whether the tier changed;
    ``save=False`` leaves writing the member row to the caller (``points_earn`` writes balance,
    debt and tier in one UPDATE), ``announce=False`` the notice (after its own)."""
    if not member.shop.tiers_enabled:
        return False
    tiers, earned = _tiers_with_earned(member, until=local_today() + dt.timedelta(days=1))
    target = held_tier(member, earned, tiers)
    if tier_rank(target) <= tier_rank(member.tier):
        return False
    member.tier = target
    member.tier_changed_at = timezone.now()
    if save:
        member.save(update_fields=["tier", "tier_changed_at", "updated_at"])
    if announce:
        tier_announce(member)
    return True


def tier_announce(member: Member) -> None:
    """The "new tier" notice for the tier ``member`` has just reached (once per change)."""
    notify(
        member,
        NoticeKind.TIER_UP,
        cause_key=f"{member.pk}:{member.tier_id}:{member.tier_changed_at.isoformat()}",
    )


def tier_undo_upgrade(member: Member, reversed_entry: LedgerEntry) -> None:
    """A tier reached after the reversed credit is taken back if the points no longer reach it."""
    shop = member.shop
    if not shop.tiers_enabled or member.tier is None:
        return
    if member.tier_changed_at is None or member.tier_changed_at < reversed_entry.created_at:
        return
    tiers, earned = _tiers_with_earned(member, until=local_today() + dt.timedelta(days=1))
    target = held_tier(member, earned, tiers)
    if tier_rank(target) < tier_rank(member.tier):
        member.tier = target
        member.tier_changed_at = timezone.now()
        member.save(update_fields=["tier", "tier_changed_at", "updated_at"])
