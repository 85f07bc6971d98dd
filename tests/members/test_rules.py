"""The pure rules: baht to points, expiry dates, tier windows and cycles."""

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from members.ledger import rules

D = dt.date


@pytest.mark.parametrize(
    ("amount", "rate", "minimum", "mult", "points"),
    [
        ("100.00", "25.00", "0", "1", 4),
        ("124.99", "25.00", "0", "1", 4),
        ("125.00", "25.00", "0", "1", 5),
        ("149.00", "25.00", "0", "1.50", 8),  # floor(5.96 × 1.5 = 8.94), not floor(5) × 1.5
        ("99.99", "100.00", "0", "1", 0),
        ("50.00", "25.00", "100.00", "1", 0),  # below the minimum spend
        ("100.00", "25.00", "100.00", "1", 4),  # exactly the minimum
        ("0.01", "0.01", "0", "1", 1),
        ("9999999.99", "1.00", "0", "10", 99999999),
        # Exact: a Decimal division rounded to 28 digits gave 0.07/0.03×3 = 6.99… → 6.
        ("100.00", "3.00", "0", "1.50", 50),
        ("0.07", "0.03", "0", "3.00", 7),
        ("9999999.99", "0.01", "0", "10.00", 9999999990),
    ],
)
def test_points_for_spend_rounds_down_once(amount, rate, minimum, mult, points):
    assert (
        rules.points_for_spend(
            Decimal(amount),
            thb_per_point=Decimal(rate),
            min_spend=Decimal(minimum),
            multiplier=Decimal(mult),
        )
        == points
    )


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2),
    rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000"), places=2),
)
def test_points_for_spend_never_exceeds_the_exact_value(amount, rate):
    points = rules.points_for_spend(amount, thb_per_point=rate)
    assert points <= amount / rate < points + 1


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=rules.MAX_SPEND, places=2),
    rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2),
    multiplier=st.decimals(min_value=Decimal("0.10"), max_value=Decimal("10.00"), places=2),
)
def test_points_for_spend_is_the_exact_value_rounded_down(amount, rate, multiplier):
    exact = Fraction(amount) * Fraction(multiplier) / Fraction(rate)
    points = rules.points_for_spend(amount, thb_per_point=rate, multiplier=multiplier)
    assert points == math.floor(exact)


def test_the_points_cap_is_the_shops_never_above_the_ceiling():
    assert rules.points_cap(1_000) == 1_000
    assert rules.points_cap(None) == rules.MAX_POINTS_PER_ENTRY
    assert rules.points_cap(10**12) == rules.MAX_POINTS_PER_ENTRY


@pytest.mark.parametrize(
    ("earned", "mode", "months", "expires"),
    [
        (D(2026, 1, 1), "months_after", 3, D(2026, 4, 30)),
        (D(2026, 1, 31), "months_after", 3, D(2026, 4, 30)),
        (D(2026, 11, 15), "months_after", 3, D(2027, 2, 28)),
        (D(2027, 11, 15), "months_after", 3, D(2028, 2, 29)),  # leap year
        (D(2026, 12, 31), "months_after", 1, D(2027, 1, 31)),
        (D(2026, 5, 10), "months_after", 24, D(2028, 5, 31)),
        (D(2026, 5, 10), "months_after", 12, D(2027, 5, 31)),
        (D(2024, 2, 29), "months_after", 12, D(2025, 2, 28)),
        (D(2026, 3, 3), "year_end", 12, D(2026, 12, 31)),
        (D(2026, 12, 31), "year_end", 12, D(2026, 12, 31)),
        (D(2026, 3, 3), "next_year_end", 12, D(2027, 12, 31)),
        (D(2026, 3, 3), "never", 12, None),
    ],
)
def test_expiry_date_for_each_mode(earned, mode, months, expires):
    assert rules.expiry_date_for(earned, mode=mode, months=months) == expires


@pytest.mark.parametrize("months", [0, 25, 30])
def test_expiry_months_outside_1_to_24_are_refused(months):
    with pytest.raises(ValueError):
        rules.expiry_date_for(D(2026, 1, 1), mode="months_after", months=months)


@pytest.mark.parametrize(
    ("day", "cycle", "is_end"),
    [
        (D(2026, 1, 31), "monthly", True),
        (D(2026, 1, 30), "monthly", False),
        (D(2028, 2, 29), "monthly", True),
        (D(2026, 2, 28), "monthly", True),
        (D(2026, 3, 31), "quarterly", True),
        (D(2026, 4, 30), "quarterly", False),
        (D(2026, 12, 31), "yearly", True),
        (D(2026, 6, 30), "yearly", False),
    ],
)
def test_is_cycle_end(day, cycle, is_end):
    assert rules.is_cycle_end(day, cycle=cycle) is is_end


def test_next_cycle_end():
    assert rules.next_cycle_end(D(2026, 11, 24), cycle="monthly") == D(2026, 11, 30)
    assert rules.next_cycle_end(D(2026, 11, 24), cycle="quarterly") == D(2026, 12, 31)
    assert rules.next_cycle_end(D(2027, 1, 1), cycle="yearly") == D(2027, 12, 31)
    assert rules.next_cycle_end(D(2026, 11, 30), cycle="monthly") == D(2026, 11, 30)


def test_qualifying_windows():
    assert rules.qualifying_windows(D(2026, 11, 25), window="lifetime") == [(None, D(2026, 11, 25))]
    # Calendar year: last year in full and this year so far; a tier is kept through the next year.
    assert rules.qualifying_windows(D(2026, 11, 25), window="calendar_year") == [
        (D(2025, 1, 1), D(2026, 1, 1)),
        (D(2026, 1, 1), D(2026, 11, 25)),
    ]
    # Evaluated on 31 Dec 2026 (until = 1 Jan 2027): 2026 decides 2027.
    assert rules.qualifying_windows(D(2027, 1, 1), window="calendar_year")[0] == (
        D(2026, 1, 1),
        D(2027, 1, 1),
    )
    assert rules.qualifying_windows(D(2026, 3, 1), window="rolling_12") == [
        (D(2025, 3, 1), D(2026, 3, 1))
    ]
    # 29 Feb has no twin a year earlier.
    assert rules.qualifying_windows(D(2028, 2, 29), window="rolling_12") == [
        (D(2027, 2, 28), D(2028, 2, 29))
    ]


def test_tier_for_points():
    thresholds = [(0, 1), (1000, 2), (5000, 3)]
    assert rules.tier_for_points(0, thresholds) == 1
    assert rules.tier_for_points(999, thresholds) == 1
    assert rules.tier_for_points(1000, thresholds) == 2
    assert rules.tier_for_points(10_000, thresholds) == 3
    assert rules.tier_for_points(-5, thresholds) is None
