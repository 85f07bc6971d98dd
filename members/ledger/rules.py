"""Pure rules of earning, expiry and tiers. No database access here: each function is a rule with a
name that says which, tested on its own (tests/members/test_rules.py)."""

from __future__ import annotations

import calendar
import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction

from shops.models import ExpiryMode, TierCycle, TierWindow

# Amounts above this are refused as typing mistakes (10 million baht in one purchase).
MAX_SPEND = Decimal("9999999.99")
# The highest a shop may set its own "most points in one entry" (``Shop.max_points_per_entry``).
MAX_POINTS_PER_ENTRY = 100_000_000


def points_cap(max_points_per_entry: int | None) -> int:
    """The most points one entry may carry in a shop: its own setting, never above the global
    ceiling (a row written before the setting existed, or by hand, cannot lift it)."""
    return min(max_points_per_entry or MAX_POINTS_PER_ENTRY, MAX_POINTS_PER_ENTRY)


def points_for_spend(
    amount: Decimal,
    *,
    thb_per_point: Decimal,
    min_spend: Decimal = Decimal("0"),
    multiplier: Decimal = Decimal("1"),
) -> int:
    """Points for a spend: ``floor(amount / thb_per_point × multiplier)``, 0 below the minimum.

    The one place where baht become points; rounding is always down, on the final product, so
    149 THB at 25 THB/point with ×1.5 gives floor(8.94) = 8, not floor(5) × 1.5.
    """
    if amount <= 0 or amount < min_spend:
        return 0
    # Exact rational arithmetic: Decimal division rounds to 28 digits, so 0.07 THB at 0.03
    # THB/point with ×3 came out as 6.99… and gave 6 points instead of 7.
    raw = (
        Fraction(Decimal(amount)) * Fraction(Decimal(multiplier)) / Fraction(Decimal(thb_per_point))
    )
    return math.floor(raw)


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def expiry_date_for(earned_on: dt.date, *, mode: str, months: int = 12) -> dt.date | None:
    """The last day (inclusive, Asia/Bangkok) on which points earned on ``earned_on`` can be used.

    - never: None
    - months_after: the end of the month N months after the month of earning
      (earned any day of January with N=3 → 30 April; N ≤ 24, as MyCustomer allows)
    - year_end: 31 December of the year of earning
    - next_year_end: 31 December of the following year
    """
    if mode == ExpiryMode.NEVER:
        return None
    if mode == ExpiryMode.MONTHS_AFTER:
        if not 1 <= months <= 24:
            raise ValueError("months must be between 1 and 24")
        year, month = add_months(earned_on.year, earned_on.month, months)
        return month_end(year, month)
    if mode == ExpiryMode.YEAR_END:
        return dt.date(earned_on.year, 12, 31)
    if mode == ExpiryMode.NEXT_YEAR_END:
        return dt.date(earned_on.year + 1, 12, 31)
    raise ValueError(f"unknown expiry mode {mode!r}")


def available_date_for(earned_on: dt.date, *, pending_days: int) -> dt.date:
    """The first day purchase points can be spent (the shop's return window)."""
    return earned_on + dt.timedelta(days=pending_days)


def is_cycle_end(day: dt.date, *, cycle: str) -> bool:
    """Whether ``day`` is a tier evaluation date (the last day of a month, quarter or year)."""
    if day != month_end(day.year, day.month):
        return False
    if cycle == TierCycle.MONTHLY:
        return True
    if cycle == TierCycle.QUARTERLY:
        return day.month in (3, 6, 9, 12)
    if cycle == TierCycle.YEARLY:
        return day.month == 12
    raise ValueError(f"unknown tier cycle {cycle!r}")


def next_cycle_end(day: dt.date, *, cycle: str) -> dt.date:
    """The next evaluation date on or after ``day``."""
    year, month = day.year, day.month
    while True:
        end = month_end(year, month)
        if end >= day and is_cycle_end(end, cycle=cycle):
            return end
        year, month = add_months(year, month, 1)


def qualifying_windows(until: dt.date, *, window: str) -> list[tuple[dt.date | None, dt.date]]:
    """The date ranges ``[start, end)`` whose earned points decide a tier in effect from ``until``.

    A member's tier is the highest one reached in *any* of the ranges:
    - lifetime: everything before ``until``
    - calendar_year: the previous calendar year in full, and the current one so far, so a tier
      reached in one year is kept through the next
    - rolling_12: the 12 months before ``until``

    For an upgrade when points arrive on day D, ``until`` is D + 1; for an evaluation at the end of
    a cycle on day E, ``until`` is E + 1 (the first day the result applies).
    """
    if window == TierWindow.LIFETIME:
        return [(None, until)]
    if window == TierWindow.CALENDAR_YEAR:
        this_year = dt.date(until.year, 1, 1)
        return [(dt.date(until.year - 1, 1, 1), this_year), (this_year, until)]
    if window == TierWindow.ROLLING_12:
        year, month = add_months(until.year, until.month, -12)
        day = min(until.day, calendar.monthrange(year, month)[1])
        return [(dt.date(year, month, day), until)]
    raise ValueError(f"unknown tier window {window!r}")


def current_window(until: dt.date, *, window: str) -> tuple[dt.date | None, dt.date]:
    """The range whose points count towards the *next* tier and towards keeping the current one
    at the next evaluation: the last of ``qualifying_windows``."""
    return qualifying_windows(until, window=window)[-1]


def tier_for_points(earned: int, thresholds: list[tuple[int, int]]) -> int | None:
    """The id of the highest tier whose threshold ``earned`` reaches, from (threshold, id) pairs."""
    best = None
    for threshold, tier_id in sorted(thresholds):
        if earned >= threshold:
            best = tier_id
    return best


def tier_with_floor(
    earned: int, thresholds: list[tuple[int, int]], floor: int | None = None
) -> int | None:
    """THE tier-floor rule: the id of the tier a member holds with ``earned`` qualifying points
    and the hand-set floor ``floor`` (a tier id, or None), from the shop's (threshold, id) pairs.

    The highest-ranked tier among those whose threshold ``earned`` reaches and the floor itself
    (rank = threshold, unique per shop); None when there is neither. A floor that is not one of the
    shop's tiers is ignored. Every caller uses it: an upgrade on a credit and the tier at creation
    (``members.ledger.tiers``), the bulk credits and the import (``members.ledger.bulk``); the
    nightly SQL evaluation (``members.ledger.jobs._TierTargets``) writes the same rule as
    ``… WHERE t.threshold <= earned OR t.id = m.manual_tier_id ORDER BY t.threshold DESC`` and a
    property test (tests/members/test_tier_floor_rule.py) checks that the two agree."""
    held = [pair for pair in thresholds if earned >= pair[0] or pair[1] == floor]
    return max(held)[1] if held else None
