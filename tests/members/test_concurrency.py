"""Races on one member: the ledger's invariants hold whatever runs at the same time.

These run on PostgreSQL (row locks; ``make test`` with DATABASE_URL, and CI). On SQLite every write
transaction is IMMEDIATE, which serialises writers; the same tests run there too as a check of that.
"""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection

from members.ledger import jobs, services
from members.ledger.actors import Actor
from members.ledger.errors import CannotReverse, MemberHasDebt, NotEnoughPoints
from members.ledger.models import EntryKind, LedgerEntry
from members.models import Member
from tests.concurrency import run_concurrently
from tests.factories import MemberFactory, ShopFactory
from tests.members.conftest import assert_invariants

pytestmark = pytest.mark.django_db(transaction=True)
ACTOR = Actor.system(channel="store")


@pytest.fixture
def shop(db):
    return ShopFactory(thb_per_point=Decimal("1.00"), expiry_mode="never", tiers_enabled=False)


def threads_for(n: int) -> int:
    # SQLite serialises writers; keep its thread count modest so the busy timeout is never hit.
    return n if connection.vendor == "postgresql" else min(n, 10)


def test_fifty_concurrent_earns_with_distinct_keys_give_fifty_entries(shop):
    member = MemberFactory(shop=shop)
    n = threads_for(50)
    results = run_concurrently(
        lambda i: services.points_earn(
            shop=shop, member=member, amount="10", idempotency_key=f"earn-{i}", actor=ACTOR
        ),
        n,
    )
    assert all(not isinstance(r, Exception) for r in results), results
    member.refresh_from_db()
    assert LedgerEntry.objects.filter(member=member).count() == n
    assert member.balance == 10 * n
    assert_invariants(shop.pk)


def test_the_same_key_sent_twenty_times_at_once_gives_one_entry(shop):
    member = MemberFactory(shop=shop)
    results = run_concurrently(
        lambda i: services.points_earn(
            shop=shop, member=member, amount="10", idempotency_key="same", actor=ACTOR
        ),
        threads_for(20),
    )
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.entry.pk for r in results}) == 1
    assert sum(1 for r in results if not r.replayed) == 1
    member.refresh_from_db()
    assert member.balance == 10
    assert_invariants(shop.pk)


def test_a_new_phone_typed_at_two_counters_at_once_makes_one_pending_member(shop):
    results = run_concurrently(
        lambda i: services.points_earn(
            shop=shop, phone="0899999999", amount="10", idempotency_key=f"p-{i}", actor=ACTOR
        ),
        threads_for(10),
    )
    assert all(not isinstance(r, Exception) for r in results), results
    assert Member.objects.filter(shop=shop).count() == 1
    assert Member.objects.get(shop=shop).balance == 10 * len(results)


def test_earn_spend_adjust_reverse_and_expiry_racing_on_one_member_keep_the_invariants(shop):
    member = MemberFactory(shop=shop)
    # Some points to spend, some that are due to expire, and purchases to reverse.
    for i in range(10):
        services.points_credit(
            member=member,
            kind="activity",
            points=5,
            idempotency_key=f"seed-{i}",
            actor=ACTOR,
            expires_on=dt.date(2020, 1, 1) if i % 3 == 0 else None,
        )
    earned = [
        services.points_earn(
            shop=shop, member=member, amount="20", idempotency_key=f"e-{i}", actor=ACTOR
        )
        for i in range(6)
    ]

    def op(i: int):
        kind = i % 5
        if kind == 0:
            return services.points_earn(
                shop=shop, member=member, amount="7", idempotency_key=f"r-earn-{i}", actor=ACTOR
            )
        if kind == 1:
            return services.points_spend(
                member=member, points=9, idempotency_key=f"r-spend-{i}", actor=ACTOR
            )
        if kind == 2:
            return services.points_adjust(
                member=member,
                points=random.choice([-3, 4]),
                note="race",
                idempotency_key=f"r-adj-{i}",
                actor=ACTOR,
            )
        if kind == 3:
            target = earned[i % len(earned)]
            return services.purchase_reverse(
                purchase=target.purchase, note="race", idempotency_key=f"r-rev-{i}", actor=ACTOR
            )
        return jobs.points_expire_due(today=dt.date(2026, 1, 1))

    results = run_concurrently(op, threads_for(40))
    allowed = (NotEnoughPoints, MemberHasDebt, CannotReverse)
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, allowed)]
    assert unexpected == []
    assert_invariants(shop.pk)
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE, member=member).count() == 1
    # Each purchase was reversed at most once.
    for e in earned:
        assert LedgerEntry.objects.filter(reversal_of=e.entry).count() <= 1


def test_earns_waiting_behind_an_upgrade_earn_with_the_new_tiers_multiplier(db):
    # given Silver (×1) and Gold from 100 points (×2), and a member 1 point short of Gold
    from tests.factories import TierFactory

    shop = ShopFactory(thb_per_point=Decimal("25.00"), expiry_mode="never", tiers_enabled=True)
    silver = TierFactory(shop=shop, name="Silver", threshold=0, earn_multiplier=Decimal("1.00"))
    TierFactory(shop=shop, name="Gold", threshold=100, earn_multiplier=Decimal("2.00"))
    member = MemberFactory(shop=shop, tier=silver)
    services.points_earn(
        shop=shop, member=member, amount="2475", idempotency_key="start", actor=ACTOR
    )  # 99 points

    # when ten spends of 250 baht arrive at once
    n = threads_for(10)
    results = run_concurrently(
        lambda i: services.points_earn(
            shop=shop, member=member, amount="250", idempotency_key=f"e{i}", actor=ACTOR
        ),
        n,
    )

    # then the first (in lock order) earns 10 at Silver and takes the member to Gold; every one
    # that waited for it reads the member after the upgrade and earns 20
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(r.points for r in results) == [10] + [20] * (n - 1)
    member.refresh_from_db()
    assert member.tier.name == "Gold"
    assert member.balance == 99 + 10 + 20 * (n - 1)
    assert_invariants(shop.pk)
