"""The nightly tier evaluation is SQL (``members.ledger.jobs._TierTargets``) and repeats the
tier-floor rule written once in Python (``rules.tier_with_floor``): the highest tier whose threshold
the points earned in any window reach, or the member's manual floor when that ranks higher. Random
shops, tiers, floors and earnings check that the two agree (run on SQLite and on PostgreSQL)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from members.ledger import jobs, rules, services
from members.ledger.actors import Actor
from members.ledger.models import TIER_QUALIFYING_KINDS, EntryKind, LedgerEntry
from members.models import Member
from shops.models import Tier
from tests.factories import MemberFactory, ShopFactory, TierFactory

ACTOR = Actor.system(channel="store")
BKK = dt.timezone(dt.timedelta(hours=7))
EVALUATION = dt.date(2026, 12, 31)
FIRST_DAY = dt.date(2025, 1, 1)

# A member: its manual floor (an index into the tiers, or None), and its spends as (day after
# FIRST_DAY, baht, reversed later?) — some after the evaluation date, which must not count.
member_plan = st.tuples(
    st.one_of(st.none(), st.integers(0, 3)),
    st.lists(st.tuples(st.integers(0, 760), st.integers(1, 400), st.booleans()), max_size=6),
)


def _earned_by_rule(member: Member, windows) -> int:
    """The points that count for tiers, from the entries in Python (not through the SQL)."""
    entries = list(LedgerEntry.objects.filter(member=member).select_related("reversal_of"))
    totals = []
    for start, end in windows:
        total = 0
        for e in entries:
            kind = e.reversal_of.kind if e.kind == EntryKind.REVERSAL else e.kind
            day = timezone.localdate(e.created_at)
            if kind in TIER_QUALIFYING_KINDS and day < end and (start is None or day >= start):
                total += e.points
        totals.append(total)
    return max(totals)


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    thresholds=st.lists(st.integers(0, 900), min_size=1, max_size=4, unique=True),
    window=st.sampled_from(["lifetime", "calendar_year", "rolling_12"]),
    plans=st.lists(member_plan, min_size=1, max_size=4),
)
# A spend at 00:30 Bangkok on the day after the evaluation (17:30 UTC the evaluation day): on
# SQLite the window's bound once went to raw SQL as local text and counted it.
@example(thresholds=[1], window="lifetime", plans=[(None, [(730, 1, False)])])
def test_the_sql_tier_evaluation_gives_the_python_tier_floor_rule(thresholds, window, plans):
    # given a shop with tiers, members with hand-set floors and spends over two years
    shop = ShopFactory(
        thb_per_point=Decimal("1.00"),
        expiry_mode="never",
        tiers_enabled=True,
        tier_window=window,
        welcome_points=0,
    )
    tiers = [TierFactory(shop=shop, threshold=t) for t in thresholds]
    members = []
    for n, (floor, spends) in enumerate(plans):
        floor_tier = tiers[floor] if floor is not None and floor < len(tiers) else None
        member = MemberFactory(shop=shop, manual_tier=floor_tier, tier=floor_tier)
        for i, (day, baht, reverse) in enumerate(spends):
            when = dt.datetime.combine(FIRST_DAY + dt.timedelta(days=day), dt.time(0, 30), BKK)
            with time_machine.travel(when, tick=False):
                result = services.points_earn(
                    shop=shop,
                    member=member,
                    amount=str(baht),
                    idempotency_key=f"m{n}-e{i}",
                    actor=ACTOR,
                )
            if reverse:
                with time_machine.travel(when + dt.timedelta(days=20), tick=False):
                    services.entry_reverse(
                        entry=result.entry, note="refund", idempotency_key=f"m{n}-r{i}", actor=ACTOR
                    )
        members.append(member)

    # when the nightly SQL evaluates the shop
    jobs.tiers_evaluate_shop(shop=shop, evaluation_date=EVALUATION)

    # then every member holds the tier the Python rule gives
    windows = rules.qualifying_windows(EVALUATION + dt.timedelta(days=1), window=window)
    pairs = [(t.threshold, t.pk) for t in Tier.objects.filter(shop=shop)]
    for member in members:
        member.refresh_from_db()
        expected = rules.tier_with_floor(
            _earned_by_rule(member, windows), pairs, member.manual_tier_id
        )
        assert member.tier_id == expected, (member.pk, window, thresholds)


def test_the_rule_picks_the_floor_only_when_it_ranks_higher():
    pairs = [(0, 1), (100, 2), (500, 3)]
    assert rules.tier_with_floor(150, pairs) == 2
    assert rules.tier_with_floor(150, pairs, floor=3) == 3
    assert rules.tier_with_floor(600, pairs, floor=2) == 3
    assert rules.tier_with_floor(50, [(100, 2)]) is None
    assert rules.tier_with_floor(50, [(100, 2)], floor=2) == 2
    assert rules.tier_with_floor(50, [(100, 2)], floor=99) is None  # not one of the shop's tiers
