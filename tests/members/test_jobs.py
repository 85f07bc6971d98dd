"""The daily jobs: expiry (set-based, idempotent, catching up) and tier evaluation."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from members.ledger import jobs, services
from members.ledger.actors import Actor
from members.ledger.models import EntryKind, JobRun, LedgerEntry, LotAllocation, PointLot
from members.ledger.selectors import tier_progress
from members.models import Member
from tests.concurrency import run_concurrently
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
    entry = LedgerEntry.objects.get(kind=EntryKind.EXPIRE)
    assert (entry.points, entry.balance_after) == (-3, 5)
    assert list(LotAllocation.objects.filter(debit=entry).values_list("points", flat=True)) == [3]
    assert_invariants(member.shop_id)


def test_lots_of_one_date_expire_in_one_entry_with_an_allocation_each(member, system):
    first = credit(member, 10, dt.date(2026, 1, 31), system)
    second = credit(member, 5, dt.date(2026, 1, 31), system)
    credit(member, 2, None, system)
    result = jobs.points_expire_due(today=dt.date(2026, 2, 1))
    assert (result["entries"], result["lots"], result["points"]) == (1, 2, 15)
    entry = LedgerEntry.objects.get(kind=EntryKind.EXPIRE)
    assert (entry.points, entry.balance_after) == (-15, 2)
    assert entry.idempotency_key == f"expire:2026-01-31:{member.pk}"
    assert dict(LotAllocation.objects.filter(debit=entry).values_list("lot_id", "points")) == {
        first.lot.pk: 10,
        second.lot.pk: 5,
    }
    assert_invariants(member.shop_id)


def test_expiry_of_a_member_in_debt_takes_the_lot_and_leaves_the_debt(member, system):
    # given: 20 points (expiring first) of which 15 were spent, then reversed: 15 of debt, while
    # a lot of 10 that expires later is still open (balance 10 - 15 = -5)
    with time_machine.travel(dt.datetime(2026, 1, 10, 12, tzinfo=BKK), tick=False):
        reversed_credit = credit(member, 20, dt.date(2026, 1, 20), system)
        credit(member, 10, dt.date(2026, 1, 31), system)
        services.points_spend(member=member, points=15, idempotency_key=key(), actor=system)
        services.entry_reverse(
            entry=reversed_credit, note="refund", idempotency_key=key(), actor=system
        )
    member.refresh_from_db()
    assert (member.balance, member.debt) == (-5, 15)
    # when
    result = jobs.points_expire_due(today=dt.date(2026, 2, 1))
    # then: the open lot expires in full; expired points pay no debt
    assert (result["entries"], result["points"]) == (1, 10)
    member.refresh_from_db()
    assert (member.balance, member.debt) == (-15, 15)
    entry = LedgerEntry.objects.get(kind=EntryKind.EXPIRE)
    assert (entry.points, entry.balance_after) == (-10, -15)
    assert_invariants(member.shop_id)


def test_expiry_leaves_alone_a_member_whose_lots_of_that_date_expired_before(points_shop, system):
    # given: the middle member's lots of 31 Jan expired in an earlier run
    low, middle, high = (MemberFactory(shop=points_shop) for _ in range(3))
    day = dt.date(2026, 1, 31)
    credit(middle, 10, day, system)
    credit(middle, 5, None, system)
    jobs.points_expire_due(today=dt.date(2026, 2, 1))
    middle.refresh_from_db()
    assert middle.balance == 5
    # and later lots with the same last day for the members either side of it (a late import)
    credit(low, 7, day, system)
    credit(high, 9, day, system)
    credit(high, 1, None, system)
    # when the job runs again over a batch whose id range holds the middle member
    result = jobs.points_expire_due(today=dt.date(2026, 2, 2))
    # then only the new lots expire; the middle member's earlier entry is not counted again
    assert (result["entries"], result["lots"], result["points"]) == (2, 2, 16)
    for m in (low, middle, high):
        m.refresh_from_db()
    assert (low.balance, middle.balance, high.balance) == (0, 5, 1)
    expiries = LedgerEntry.objects.filter(kind=EntryKind.EXPIRE)
    assert sorted(expiries.values_list("member_id", "points", "balance_after")) == sorted(
        [(middle.pk, -10, 5), (low.pk, -7, 0), (high.pk, -9, 1)]
    )
    assert_invariants(points_shop.pk)


def test_a_late_lot_of_an_expired_date_expires_with_a_second_entry(points_shop, system):
    # given: a member whose lots of 31 Jan expired in that date's run, and a neighbour
    late, neighbour = (MemberFactory(shop=points_shop) for _ in range(2))
    day = dt.date(2026, 1, 31)
    credit(late, 10, day, system)
    credit(late, 5, None, system)
    jobs.points_expire_due(today=dt.date(2026, 2, 1))
    # and then lots with that same past last day, for both (a credit given a past expiry date)
    credit(late, 7, day, system)
    credit(late, 2, day, system)
    credit(neighbour, 4, day, system)
    # when the job runs again
    result = jobs.points_expire_due(today=dt.date(2026, 2, 2))
    # then both members' late lots expire: the late member gets a second entry for that date
    assert (result["entries"], result["lots"], result["points"]) == (2, 3, 13)
    late.refresh_from_db()
    neighbour.refresh_from_db()
    assert (late.balance, neighbour.balance) == (5, 0)
    entries = LedgerEntry.objects.filter(member=late, kind=EntryKind.EXPIRE).order_by("id")
    assert [(e.points, e.balance_after) for e in entries] == [(-10, 5), (-9, 5)]
    assert entries[1].idempotency_key.startswith(jobs.expire_key_prefix(day) + f"{late.pk}:")
    assert not PointLot.objects.filter(expires_on=day, remaining__gt=0).exists()
    assert_invariants(points_shop.pk)
    # and a third run finds nothing
    assert jobs.points_expire_due(today=dt.date(2026, 2, 2))["entries"] == 0


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
    for i, m in enumerate(members):
        credit(m, 2, dt.date(2026, 3, 31), system)
        credit(m, 1 + i, None, system)
    result = jobs.points_expire_due(today=dt.date(2026, 4, 1), batch_size=3)
    assert result["entries"] == 7 and result["points"] == 14
    # each entry's balance_after is its own member's new balance
    after = dict(
        LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).values_list("member_id", "balance_after")
    )
    assert after == {m.pk: 1 + i for i, m in enumerate(members)}
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
    told = []

    def receiver(sender, **kwargs):
        told.append(kwargs)

    jobs.tiers_evaluated.connect(receiver)
    try:
        first = jobs.tiers_evaluate_due(today=dt.date(2027, 3, 5))  # missed 31 Jan and 28 Feb
        assert first[shop.slug] == {"date": "2027-02-28", "changed": 1}
        second = jobs.tiers_evaluate_due(today=dt.date(2027, 3, 5))
        assert shop.slug not in second
    finally:
        jobs.tiers_evaluated.disconnect(receiver)
    # the bulk SQL saved no member: the signal tells listeners (rich menus) once
    assert [(t["shop_id"], t["changed"]) for t in told] == [(shop.pk, 1)]
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


def test_evaluation_counts_reversed_credits_against_and_reversed_spends_not_at_all(
    tier_shop, system
):
    shop, silver, gold, platinum = tier_shop
    with time_machine.travel(dt.datetime(2026, 3, 10, 12, tzinfo=BKK)):
        refunded = MemberFactory(shop=shop, tier=platinum)
        services.points_earn(
            shop=shop, member=refunded, amount="800", idempotency_key=key(), actor=system
        )
        result = services.points_earn(
            shop=shop, member=refunded, amount="700", idempotency_key=key(), actor=system
        )
        services.purchase_reverse(
            purchase=result.purchase, note="refund", idempotency_key=key(), actor=system
        )
        cancelled = MemberFactory(shop=shop, tier=platinum)
        services.points_earn(
            shop=shop, member=cancelled, amount="1200", idempotency_key=key(), actor=system
        )
        spend, _ = services.points_spend(
            member=cancelled, points=500, idempotency_key=key(), actor=system
        )
        services.entry_reverse(entry=spend, note="cancel", idempotency_key=key(), actor=system)
    jobs.tiers_evaluate_shop(shop=shop, evaluation_date=dt.date(2026, 3, 31))
    refunded.refresh_from_db()
    cancelled.refresh_from_db()
    # 800 + 700 - 700 earned: below Gold; 1200 earned, the returned 500 is not earned
    assert (refunded.tier, cancelled.tier) == (silver, gold)


def test_evaluation_locks_and_writes_only_the_members_whose_tier_changes(
    tier_shop, system, monkeypatch
):
    shop, silver, gold, platinum = tier_shop
    with time_machine.travel(dt.datetime(2026, 5, 1, 12, tzinfo=BKK)):
        kept = MemberFactory(shop=shop, tier=gold)
        services.points_earn(
            shop=shop, member=kept, amount="1500", idempotency_key=key(), actor=system
        )
    idle = [MemberFactory(shop=shop, tier=platinum) for _ in range(3)]
    already = MemberFactory(shop=shop, tier=silver)
    kept.refresh_from_db()
    before = Member.objects.get(pk=already.pk).updated_at
    locked = []
    real_lock = jobs.lock_members

    def spy(ids):
        locked.append(list(ids))
        return real_lock(ids)

    monkeypatch.setattr(jobs, "lock_members", spy)
    changed = jobs.tiers_evaluate_shop(
        shop=shop, evaluation_date=dt.date(2026, 5, 31), batch_size=2
    )
    assert changed == 3
    assert [pk for batch in locked for pk in batch] == [m.pk for m in idle]
    assert all(batch == sorted(batch) for batch in locked)
    assert Member.objects.get(pk=already.pk).updated_at == before
    assert Member.objects.get(pk=kept.pk).tier_changed_at == kept.tier_changed_at
    # when nothing changes, nothing is locked or written
    locked.clear()
    assert jobs.tiers_evaluate_shop(shop=shop, evaluation_date=dt.date(2026, 5, 31)) == 0
    assert locked == []


def test_evaluation_computes_the_tier_again_under_the_lock(tier_shop, system, monkeypatch):
    # given: a member the evaluation would move down to Silver, and a Platinum floor that the
    # back office sets between the job's first look and its lock
    shop, silver, _gold, platinum = tier_shop
    floored = MemberFactory(shop=shop, tier=platinum)
    idle = MemberFactory(shop=shop, tier=platinum)
    real_lock = jobs.lock_members

    def floor_set_meanwhile(ids):
        Member.objects.filter(pk=floored.pk).update(manual_tier=platinum)
        return real_lock(ids)

    monkeypatch.setattr(jobs, "lock_members", floor_set_meanwhile)
    # when
    changed = jobs.tiers_evaluate_shop(shop=shop, evaluation_date=dt.date(2026, 5, 31))
    # then: the floor holds; only the other member moved
    floored.refresh_from_db()
    idle.refresh_from_db()
    assert (changed, floored.tier, idle.tier) == (1, platinum, silver)


@pytest.mark.django_db(transaction=True)
def test_evaluations_and_upgrading_earns_racing_keep_the_tiers_and_the_ledger_sound():
    # given: members with Gold from before but nothing earned, so the evaluation moves them down
    actor = Actor.system(channel="store")
    shop = ShopFactory(
        thb_per_point=Decimal("1.00"),
        tiers_enabled=True,
        tier_window="calendar_year",
        tier_cycle="monthly",
        expiry_mode="never",
    )
    silver = TierFactory(shop=shop, name="Silver", threshold=0)
    gold = TierFactory(shop=shop, name="Gold", threshold=1000)
    members = [MemberFactory(shop=shop, tier=gold) for _ in range(12)]
    evaluation = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    earners = members[::2]
    threads = 8 if connection.vendor == "postgresql" else 4

    def op(i: int):
        # when: two evaluations in small batches while earns cross Gold's threshold today
        if i < 2:
            return jobs.tiers_evaluate_shop(shop=shop, evaluation_date=evaluation, batch_size=3)
        return [
            services.points_earn(
                shop=shop, member=m, amount="1000", idempotency_key=f"race-{m.pk}", actor=actor
            )
            for m in earners[i - 2 :: threads - 2]
        ]

    results = run_concurrently(op, threads)
    # then: no deadlock or other error; today's earns are outside the evaluated window, so an
    # earner ends Gold (upgraded after the evaluation) or Silver (evaluated after the upgrade)
    assert [r for r in results if isinstance(r, Exception)] == []
    earner_ids = {m.pk for m in earners}
    for m in Member.objects.filter(shop=shop).select_related("tier"):
        assert m.tier in ((silver, gold) if m.pk in earner_ids else (silver,)), m.pk
        assert m.balance == (1000 if m.pk in earner_ids else 0)
    assert_invariants(shop.pk)
