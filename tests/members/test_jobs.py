"""The daily jobs: expiry (set-based, idempotent, catching up) and tier evaluation."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from members.ledger import jobs, services
from members.ledger.models import EntryKind, JobRun, LedgerEntry
from members.ledger.selectors import tier_progress
from tests.factories import MemberFactory, ShopFactory, TierFactory
from tests.members.conftest import assert_invariants, key

pytestmark = pytest.mark.django_db
BKK = dt.timezone(dt.timedelta(hours=7))


def credit(member, points, expires_on, system):
    return services.points_credit(
        member=member,
        kind="activity",
        points=points,
        idempotency_key=key(),
        actor=system,
        expires_on=expires_on,
    )[0]


@time_machine.travel(dt.datetime(2026, 11, 20, 12, 0, tzinfo=BKK), tick=False)
def test_lots_expire_after_their_last_day_not_on_it(member, system):
    credit(member, 10, dt.date(2026, 11, 30), system)
    jobs.points_expire_due(today=dt.date(2026, 11, 30))
    member.refresh_from_db()
    assert member.balance == 10
    jobs.points_expire_due(today=dt.date(2026, 12, 1))
    member.refresh_from_db()
    assert member.balance == 0
    entry = LedgerEntry.objects.get(kind=EntryKind.EXPIRE)
    assert (entry.points, entry.balance_after) == (-10, 0)
    assert_invariants(member.shop_id)


@time_machine.travel(dt.datetime(2026, 11, 20, 12, 0, tzinfo=BKK), tick=False)
def test_expiry_takes_only_what_is_left_of_a_partly_spent_lot(member, system):
    credit(member, 10, dt.date(2026, 11, 30), system)
    credit(member, 5, None, system)
    services.points_spend(member=member, points=7, idempotency_key=key(), actor=system)
    jobs.points_expire_due(today=dt.date(2026, 12, 1))
    member.refresh_from_db()
    assert member.balance == 5
    assert_invariants(member.shop_id)


def test_expiry_run_twice_equals_once(member, system):
    credit(member, 10, dt.date(2026, 1, 31), system)
    first = jobs.points_expire_due(today=dt.date(2026, 2, 1))
    second = jobs.points_expire_due(today=dt.date(2026, 2, 1))
    assert (first["entries"], second["entries"]) == (1, 0)
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 1
    assert JobRun.objects.filter(name="expire").count() == 1


def test_expiry_catches_up_missed_days_with_one_entry_per_date(member, system):
    credit(member, 3, dt.date(2026, 1, 29), system)
    credit(member, 4, dt.date(2026, 1, 30), system)
    credit(member, 5, dt.date(2026, 1, 31), system)
    credit(member, 6, dt.date(2026, 2, 10), system)
    jobs.points_expire_due(today=dt.date(2026, 2, 5))  # the job did not run for a week
    member.refresh_from_db()
    assert member.balance == 6
    expiries = LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).order_by("id")
    assert [e.points for e in expiries] == [-3, -4, -5]
    assert [e.balance_after for e in expiries] == [15, 11, 6]
    assert_invariants(member.shop_id)


def test_expiry_handles_many_members_across_batches(points_shop, system):
    members = [MemberFactory(shop=points_shop) for _ in range(7)]
    for m in members:
        credit(m, 2, dt.date(2026, 3, 31), system)
        credit(m, 1, None, system)
    result = jobs.points_expire_due(today=dt.date(2026, 4, 1), batch_size=3)
    assert result["entries"] == 7 and result["points"] == 14
    assert_invariants(points_shop.pk)


def test_earn_at_0030_bangkok_is_dated_that_day_not_the_utc_day(system):
    shop = ShopFactory(expiry_mode="months_after", expiry_months=1, tiers_enabled=False)
    m = MemberFactory(shop=shop)
    # 00:30 on 1 Dec in Bangkok is still 30 Nov in UTC.
    with time_machine.travel(dt.datetime(2026, 12, 1, 0, 30, tzinfo=BKK)):
        entry = credit(m, 5, True, system)
    assert entry.lot.earned_on == dt.date(2026, 12, 1)
    assert entry.lot.expires_on == dt.date(2027, 1, 31)


def test_restored_points_of_an_expired_lot_expire_again_at_once(member, system):
    with time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=BKK)):
        credit(member, 10, dt.date(2026, 11, 30), system)
        spend, _ = services.points_spend(
            member=member, points=10, idempotency_key=key(), actor=system
        )
    with time_machine.travel(dt.datetime(2026, 12, 5, 12, tzinfo=BKK)):
        services.entry_reverse(entry=spend, note="cancel", idempotency_key=key(), actor=system)
    member.refresh_from_db()
    assert member.balance == 0
    assert_invariants(member.shop_id)


# --- tiers ----------------------------------------------------------------------------------------


@pytest.fixture
def tier_shop(db):
    shop = ShopFactory(
        thb_per_point=Decimal("1.00"),
        tiers_enabled=True,
        tier_window="calendar_year",
        tier_cycle="monthly",
        expiry_mode="never",
    )
    silver = TierFactory(shop=shop, name="Silver", threshold=0)
    gold = TierFactory(shop=shop, name="Gold", threshold=1000, earn_multiplier=Decimal("1.5"))
    platinum = TierFactory(shop=shop, name="Platinum", threshold=5000)
    return shop, silver, gold, platinum


def test_crossing_a_threshold_upgrades_at_once(tier_shop, system):
    shop, silver, gold, _ = tier_shop
    m = MemberFactory(shop=shop, tier=silver)
    services.points_earn(shop=shop, member=m, amount="999", idempotency_key=key(), actor=system)
    m.refresh_from_db()
    assert m.tier == silver
    services.points_earn(shop=shop, member=m, amount="1", idempotency_key=key(), actor=system)
    m.refresh_from_db()
    assert m.tier == gold


def test_spending_does_not_lower_earned_points_for_tiers(tier_shop, system):
    shop, silver, gold, _ = tier_shop
    m = MemberFactory(shop=shop, tier=silver)
    services.points_earn(shop=shop, member=m, amount="1200", idempotency_key=key(), actor=system)
    services.points_spend(member=m, points=1200, idempotency_key=key(), actor=system)
    m.refresh_from_db()
    assert m.tier == gold
    assert tier_progress(m).earned == 1200


def test_reversing_the_purchase_that_upgraded_takes_the_upgrade_back(tier_shop, system):
    shop, silver, _gold, _ = tier_shop
    m = MemberFactory(shop=shop, tier=silver)
    result = services.points_earn(
        shop=shop, member=m, amount="1500", idempotency_key=key(), actor=system
    )
    services.purchase_reverse(
        purchase=result.purchase, note="refund", idempotency_key=key(), actor=system
    )
    m.refresh_from_db()
    assert m.tier == silver


def test_evaluation_downgrades_at_the_cycle_end_and_keeps_the_manual_floor(tier_shop, system):
    shop, silver, gold, platinum = tier_shop
    with time_machine.travel(dt.datetime(2025, 6, 15, 12, tzinfo=BKK)):
        earned = MemberFactory(shop=shop, tier=silver)
        services.points_earn(
            shop=shop, member=earned, amount="1200", idempotency_key=key(), actor=system
        )
        floor = MemberFactory(shop=shop, tier=platinum, manual_tier=gold)
        idle = MemberFactory(shop=shop, tier=platinum)
    # During 2026 the 2025 points still count (a tier is kept through the next year).
    jobs.tiers_evaluate_shop(shop=shop, evaluation_date=dt.date(2026, 6, 30))
    for m in (earned, floor, idle):
        m.refresh_from_db()
    assert (earned.tier, floor.tier, idle.tier) == (gold, gold, silver)
    # At the end of 2026 nothing was earned in 2026: down to the entry tier, or the floor.
    jobs.tiers_evaluate_shop(shop=shop, evaluation_date=dt.date(2026, 12, 31))
    for m in (earned, floor):
        m.refresh_from_db()
    assert (earned.tier, floor.tier) == (silver, gold)


def test_rolling_window_counts_twelve_months(system):
    shop = ShopFactory(
        thb_per_point=Decimal("1.00"),
        tiers_enabled=True,
        tier_window="rolling_12",
        expiry_mode="never",
    )
    base = TierFactory(shop=shop, threshold=0)
    gold = TierFactory(shop=shop, threshold=100)
    m = MemberFactory(shop=shop, tier=base)
    with time_machine.travel(dt.datetime(2026, 3, 15, 12, tzinfo=BKK)):
        services.points_earn(shop=shop, member=m, amount="150", idempotency_key=key(), actor=system)
    jobs.tiers_evaluate_shop(shop=shop, evaluation_date=dt.date(2027, 2, 28))
    m.refresh_from_db()
    assert m.tier == gold
    jobs.tiers_evaluate_shop(shop=shop, evaluation_date=dt.date(2027, 3, 31))
    m.refresh_from_db()
    assert m.tier == base


def test_tier_job_runs_once_per_evaluation_date_and_catches_up(tier_shop, system):
    shop, silver, _gold, platinum = tier_shop
    idle = MemberFactory(shop=shop, tier=platinum)
    first = jobs.tiers_evaluate_due(today=dt.date(2027, 3, 5))  # missed 31 Jan and 28 Feb
    assert first[shop.slug] == {"date": "2027-02-28", "changed": 1}
    second = jobs.tiers_evaluate_due(today=dt.date(2027, 3, 5))
    assert shop.slug not in second
    idle.refresh_from_db()
    assert idle.tier == silver


def test_tier_progress_says_points_to_next_and_to_keep(tier_shop, system):
    shop, silver, gold, platinum = tier_shop
    m = MemberFactory(shop=shop, tier=silver)
    with time_machine.travel(dt.datetime(2026, 5, 1, 12, tzinfo=BKK)):
        services.points_earn(
            shop=shop, member=m, amount="1200", idempotency_key=key(), actor=system
        )
        m.refresh_from_db()
        progress = tier_progress(m)
    assert progress.current == gold
    assert progress.next == platinum
    assert progress.points_to_next == 3800
    assert progress.points_to_keep == 0
    assert progress.keep_by == dt.date(2026, 12, 31)
