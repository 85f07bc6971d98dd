"""The nightly RFM refresh: set-based SQL that scores the shop's buyers 1–5 by rank, agrees with
the same rule written in Python over generated purchases, leaves refunds, erased members and other
shops out, and can run twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.segments.models import MemberRfm
from campaigns.segments.rfm import RfmGroup, rfm_group
from campaigns.segments.services import rfm_refresh, rfm_refresh_all, rfm_score
from members.ledger.models import Channel, Purchase
from members.models import Member
from tests.concurrency import run_concurrently
from tests.factories import MemberFactory, ShopFactory

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def buy(member, *, days_ago: int, amount: str = "100", status=Purchase.Status.COMPLETED):
    return Purchase.objects.create(
        shop_id=member.shop_id,
        member=member,
        channel=Channel.STORE,
        amount=Decimal(amount),
        points=0,
        status=status,
        created_at=NOW - dt.timedelta(days=days_ago),
    )


def scores(shop) -> dict[int, tuple[int, int, int]]:
    return {row.member_id: (row.r, row.f, row.m) for row in MemberRfm.objects.filter(shop=shop)}


@pytest.mark.django_db
def test_five_buyers_spread_over_the_five_scores():
    # given five members, each more recent, more frequent and bigger spending than the last
    shop = ShopFactory()
    members = [MemberFactory(shop=shop) for _ in range(5)]
    for i, member in enumerate(members):
        for visit in range(i + 1):
            buy(member, days_ago=100 - 20 * i + visit, amount=str(100 * (i + 1)))
    # when
    result = rfm_refresh(shop_id=shop.pk, now=NOW)
    # then
    assert result.scored == 5
    assert [scores(shop)[m.pk] for m in members] == [(s, s, s) for s in range(1, 6)]
    best = MemberRfm.objects.get(member=members[-1])
    assert best.group == RfmGroup.CHAMPIONS
    assert best.frequency == 5
    assert best.monetary == Decimal("2500.00")
    assert MemberRfm.objects.get(member=members[0]).group == RfmGroup.LOST


@pytest.mark.django_db
def test_equal_values_get_equal_scores():
    shop = ShopFactory()
    members = [MemberFactory(shop=shop) for _ in range(4)]
    for member in members:
        buy(member, days_ago=10, amount="250")
    rfm_refresh(shop_id=shop.pk, now=NOW)
    # all at the top: nobody is above them
    assert set(scores(shop).values()) == {(5, 5, 5)}


@pytest.mark.django_db
def test_refunds_erased_members_and_non_buyers_get_no_score_and_other_shops_are_untouched():
    shop, other = ShopFactory(), ShopFactory()
    buyer = MemberFactory(shop=shop)
    buy(buyer, days_ago=3)
    refunded = MemberFactory(shop=shop)
    buy(refunded, days_ago=3, status=Purchase.Status.REVERSED)
    erased = MemberFactory(shop=shop, status=Member.Status.ERASED)
    buy(erased, days_ago=3)
    MemberFactory(shop=shop)  # never bought
    other_buyer = MemberFactory(shop=other)
    buy(other_buyer, days_ago=3)
    rfm_refresh(shop_id=other.pk, now=NOW)
    other_row = MemberRfm.objects.get(member=other_buyer)

    rfm_refresh(shop_id=shop.pk, now=NOW)

    assert set(scores(shop)) == {buyer.pk}
    assert MemberRfm.objects.get(member=other_buyer).computed_at == other_row.computed_at


@pytest.mark.django_db
def test_a_buyer_from_before_the_window_is_scored_with_no_frequency_or_spend():
    shop = ShopFactory()
    old = MemberFactory(shop=shop)
    buy(old, days_ago=500, amount="9999")
    for days_ago in range(5):
        buy(MemberFactory(shop=shop), days_ago=days_ago)
    rfm_refresh(shop_id=shop.pk, now=NOW, window_days=365)
    row = MemberRfm.objects.get(member=old)
    assert (row.frequency, row.monetary) == (0, Decimal("0"))
    assert (row.r, row.f, row.m) == (1, 1, 1)
    assert row.group == RfmGroup.LOST


@pytest.mark.django_db
def test_running_twice_gives_the_same_scores_and_a_changed_member_moves():
    shop = ShopFactory()
    a, b = MemberFactory(shop=shop), MemberFactory(shop=shop)
    buy(a, days_ago=30)
    buy(b, days_ago=1, amount="500")
    rfm_refresh_all(now=NOW)
    first = scores(shop)
    rfm_refresh_all(now=NOW)
    assert scores(shop) == first
    for _ in range(3):
        buy(a, days_ago=0, amount="900")
    rfm_refresh(shop_id=shop.pk, now=NOW)
    assert scores(shop)[a.pk] == (5, 5, 5)


purchases = st.lists(
    st.tuples(
        st.integers(0, 7),  # which member
        st.integers(0, 700),  # days ago
        st.sampled_from(["50", "100", "100", "375.50", "1000"]),
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(purchases=purchases, window=st.sampled_from([30, 90, 365]))
def test_the_sql_agrees_with_a_brute_force_python_evaluation(purchases, window):
    shop = ShopFactory()
    members = [MemberFactory(shop=shop) for _ in range(8)]
    for who, days_ago, amount in purchases:
        buy(members[who], days_ago=days_ago, amount=amount)

    rfm_refresh(shop_id=shop.pk, now=NOW, window_days=window)

    since = NOW - dt.timedelta(days=window)
    stats = {}
    for who, days_ago, amount in purchases:
        at = NOW - dt.timedelta(days=days_ago)
        last, freq, spend = stats.get(who, (at, 0, Decimal(0)))
        inside = at >= since
        stats[who] = (max(last, at), freq + inside, spend + (Decimal(amount) if inside else 0))
    lasts = [s[0] for s in stats.values()]
    freqs = [s[1] for s in stats.values()]
    spends = [s[2] for s in stats.values()]
    expected = {}
    for who, (last, freq, spend) in stats.items():
        r, f, m = rfm_score(last, lasts), rfm_score(freq, freqs), rfm_score(spend, spends)
        expected[members[who].pk] = (r, f, m, rfm_group(r, f, m).value)
    got = {
        row.member_id: (row.r, row.f, row.m, row.group)
        for row in MemberRfm.objects.filter(shop=shop)
    }
    assert got == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_leave_one_row_per_buyer():
    shop = ShopFactory()
    members = [MemberFactory(shop=shop) for _ in range(20)]
    for i, member in enumerate(members):
        buy(member, days_ago=20 - i, amount=str(10 * (i + 1)))

    results = run_concurrently(lambda _i: rfm_refresh(shop_id=shop.pk, now=NOW), 4)

    assert all(r.scored == 20 for r in results)
    assert MemberRfm.objects.filter(shop=shop).count() == 20
    assert sorted(scores(shop).values())[-1] == (5, 5, 5)
