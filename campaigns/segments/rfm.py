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

from django.db import models
from django.utils.translation import gettext_lazy as _

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
