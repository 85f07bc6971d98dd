"""RFM: recency, frequency and monetary scores (1–5 each) and the named group of every score code.

Published RFM tables name groups by ranges of R and F ("champions: R 4–5, F 4–5", "loyal: R 2–5,
F 3–5", ...) that overlap and leave codes out. Here the 125 codes are mapped in two steps that cannot
leave a gap:

1. F and M are folded into one "FM" score, their mean rounded half up (F 4 and M 5 are FM 5): both say
   how much the member is worth, and a member with many small baskets and one with few large ones are
   treated alike.
2. ``GRID`` names the group of every (R, FM) pair: 5 × 5 cells, each written out below.

``rfm_group(r, f, m)`` is the one place that maps scores to groups; the SQL refresh uses
``group_case_sql()`` built from the same grid, and a test checks that all 125 codes have a group and
that every group is reachable.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from decimal import Decimal, InvalidOperation

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty.dates import local_midnight

SCORES = (1, 2, 3, 4, 5)


class RfmGroup(models.TextChoices):
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALIST = "potential_loyalist", _("Potential loyalist")
    NEW = "new", _("New customers")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    AT_RISK = "at_risk", _("At risk")
    CANT_LOSE = "cant_lose", _("Can't lose them")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")


G = RfmGroup


def _row(*groups: RfmGroup) -> dict[int, RfmGroup]:
    return dict(zip(SCORES, groups, strict=True))


# GRID[r][fm]: rows are recency 5 (bought most recently) to 1, columns FM 1 (little) to 5 (most).
GRID: dict[int, dict[int, RfmGroup]] = {
    5: _row(G.NEW, G.PROMISING, G.POTENTIAL_LOYALIST, G.CHAMPIONS, G.CHAMPIONS),
    4: _row(G.PROMISING, G.POTENTIAL_LOYALIST, G.POTENTIAL_LOYALIST, G.LOYAL, G.CHAMPIONS),
    3: _row(G.ABOUT_TO_SLEEP, G.ABOUT_TO_SLEEP, G.NEED_ATTENTION, G.LOYAL, G.LOYAL),
    2: _row(G.HIBERNATING, G.HIBERNATING, G.AT_RISK, G.AT_RISK, G.CANT_LOSE),
    1: _row(G.LOST, G.LOST, G.AT_RISK, G.AT_RISK, G.CANT_LOSE),
}


def fm_score(frequency: int, monetary: int) -> int:
    """F and M folded into one score: their mean, rounded half up."""
    return (frequency + monetary + 1) // 2


def rfm_group(recency: int, frequency: int, monetary: int) -> RfmGroup:
    """The named group of an R-F-M code (each score 1–5)."""
    for score in (recency, frequency, monetary):
        if score not in SCORES:
            raise ValueError(f"an RFM score is 1 to 5, not {score!r}")
    return GRID[recency][fm_score(frequency, monetary)]


def rfm_code(recency: int, frequency: int, monetary: int) -> str:
    """The code as shops read it, e.g. "545"."""
    return f"{recency}{frequency}{monetary}"


def group_case_sql(r: str = "r", f: str = "f", m: str = "m") -> str:
    """A SQL CASE giving the group of the score columns ``r``, ``f``, ``m``, built from ``GRID`` so
    that SQL and Python cannot disagree (FM = (f + m + 1) / 2 in integer division)."""
    whens = [
        f"WHEN {r} = {recency} AND ({f} + {m} + 1) / 2 = {fm} THEN '{group.value}'"
        for recency, row in GRID.items()
        for fm, group in row.items()
    ]
    return "CASE " + " ".join(whens) + " END"


# --- the shop's settings: the window and fixed cut points ------------------------------------------


def rfm_window_start(now: dt.datetime, months: int) -> dt.datetime:
    """Where the window of ``months`` months up to ``now`` starts: midnight in Bangkok of the same
    day ``months`` months before today (the 31st falls back to the month's last day)."""
    today = timezone.localdate(now)
    years, month0 = divmod(today.month - 1 - months, 12)
    year, month = today.year + years, month0 + 1
    day = min(today.day, calendar.monthrange(year, month)[1])
    return local_midnight(dt.date(year, month, day))


def fixed_score(value, cut_points) -> int:
    """A score from fixed cut points: 1 + how many of the (ascending) cut points ``value``
    reaches. For recency pass the points in time (now − days) and the last purchase: bought
    within the fewest days reaches all four."""
    return 1 + sum(1 for cut in cut_points if value >= cut)


CUT_POINT_LIMIT = Decimal(10**9)  # fits the columns (whole days, counts; THB with 2 decimals)


def _given(value) -> bool:
    return value not in (None, "")


def _cuts_wrong(values: list, *, fixed: bool, whole: bool, missing: str, wrong: str) -> str | None:
    """The problem with one score's four cut points, or None."""
    if not any(_given(v) for v in values):
        return missing if fixed else None
    if len(values) != 4 or not all(_given(v) for v in values):
        return missing
    if any(isinstance(v, bool) for v in values):
        return wrong
    try:
        numbers = [Decimal(str(v).strip()) for v in values]
    except (InvalidOperation, ValueError):
        return wrong
    if not all(n.is_finite() and 0 < n < CUT_POINT_LIMIT for n in numbers):
        return wrong
    step = Decimal(1) if whole else Decimal("0.01")
    if any(n != n.quantize(step) for n in numbers):
        return wrong
    if any(b <= a for a, b in itertools.pairwise(numbers)):
        return wrong
    return None


def rfm_settings_problems(
    *, window_months, mode: str, r_days, f_counts, m_thb, max_window: int
) -> dict[str, str]:
    """What is wrong with RFM settings, by field (empty when nothing): the window 1 to
    ``max_window`` months; for each score, four cut points above 0, ascending, whole numbers for
    days and purchases. Cut points are checked whenever any of a score's four is given (a shop may
    keep them while it uses quintiles) and all four are required for fixed thresholds."""
    problems: dict[str, str] = {}
    if (
        isinstance(window_months, bool)
        or not isinstance(window_months, int)
        or not 1 <= window_months <= max_window
    ):
        problems["window_months"] = gettext("The window is 1 to %(max)s months.") % {
            "max": max_window
        }
    if mode not in ("quintiles", "fixed"):
        problems["mode"] = gettext("Choose quintiles or fixed thresholds.")
    checks = (
        (
            "r_days",
            r_days,
            True,
            gettext("Give all four recency cut points (days)."),
            gettext(
                "Recency cut points are whole days from 1 up, each more than the one before "
                "(e.g. 30, 90, 180, 365)."
            ),
        ),
        (
            "f_counts",
            f_counts,
            True,
            gettext("Give all four frequency cut points (purchases)."),
            gettext(
                "Frequency cut points are purchase counts from 1 up, each more than the one "
                "before (e.g. 2, 3, 5, 10)."
            ),
        ),
        (
            "m_thb",
            m_thb,
            False,
            gettext("Give all four spend cut points (THB)."),
            gettext(
                "Spend cut points are amounts in THB above 0, each more than the one before "
                "(e.g. 500, 1000, 3000, 10000)."
            ),
        ),
    )
    for field, values, whole, missing, wrong in checks:
        problem = _cuts_wrong(
            list(values or []), fixed=mode == "fixed", whole=whole, missing=missing, wrong=wrong
        )
        if problem:
            problems[field] = problem
    return problems
