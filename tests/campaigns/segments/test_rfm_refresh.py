"""The nightly RFM refresh: set-based SQL that scores the shop's buyers 1–5 by rank or by the
shop's fixed cut points over the shop's window, agrees with the same rules written in Python over
generated purchases and settings, leaves refunds, erased members and other shops out, and can run
twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.segments.models import MemberRfm, RfmSettings
from campaigns.segments.rfm import RfmGroup, fixed_score, rfm_group, rfm_window_start
from campaigns.segments.services import (
    rfm_refresh,
    rfm_refresh_all,
    rfm_score,
    rfm_settings_save,
)
from loyalty.errors import InvalidInput
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
    rfm_refresh(shop_id=shop.pk, now=NOW)  # the default window: 12 months
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


MONEY = ["50", "99.99", "100", "375.50", "475.50", "2000"]


def ascending(values):
    return st.lists(values, min_size=4, max_size=4, unique=True).map(sorted)


fixed_st = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "r_days": ascending(st.integers(1, 400)),
            "f_counts": ascending(st.integers(1, 6)),
            # cut points on and between the generated amounts (equal to one: reached)
            "m_thb": ascending(st.sampled_from([Decimal(x) for x in MONEY])),
        }
    ),
)
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
@given(purchases=purchases, window=st.sampled_from([1, 3, 12, 24]), fixed=fixed_st)
def test_the_sql_agrees_with_a_brute_force_python_evaluation(purchases, window, fixed):
    shop = ShopFactory()
    members = [MemberFactory(shop=shop) for _ in range(8)]
    for who, days_ago, amount in purchases:
        buy(members[who], days_ago=days_ago, amount=amount)
    if fixed:
        rfm_settings_save(shop=shop, window_months=window, mode="fixed", **fixed)
    else:
        rfm_settings_save(shop=shop, window_months=window, mode="quintiles")

    rfm_refresh(shop_id=shop.pk, now=NOW)

    since = rfm_window_start(NOW, window)
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
        if fixed:
            r = fixed_score(last, [NOW - dt.timedelta(days=d) for d in fixed["r_days"]])
            f = fixed_score(freq, fixed["f_counts"])
            m = fixed_score(spend, fixed["m_thb"])
        else:
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


@pytest.mark.django_db
def test_fixed_thresholds_score_by_the_shops_cut_points():
    # given cut points: R within 30/90/180/365 days, F 2/3/5/10 purchases, M 500/1000/3000/10000
    shop = ShopFactory()
    rfm_settings_save(
        shop=shop,
        window_months=12,
        mode="fixed",
        r_days=[30, 90, 180, 365],
        f_counts=[2, 3, 5, 10],
        m_thb=["500", "1000", "3000", "10000"],
    )
    regular, once = MemberFactory(shop=shop), MemberFactory(shop=shop)
    for days_ago in (30, 40, 50):  # last bought exactly 30 days ago: still "within 30 days"
        buy(regular, days_ago=days_ago, amount="1000")
    buy(once, days_ago=200, amount="499.99")
    # when
    rfm_refresh(shop_id=shop.pk, now=NOW)
    # then: no ranking against each other, only the cut points
    assert scores(shop) == {regular.pk: (5, 3, 4), once.pk: (2, 1, 1)}


@pytest.mark.django_db
def test_the_window_is_the_shops_months_up_to_today_from_midnight_in_bangkok():
    shop = ShopFactory()
    rfm_settings_save(shop=shop, window_months=3, mode="quintiles")
    member = MemberFactory(shop=shop)
    start = rfm_window_start(NOW, 3)  # 3 September 2026, 00:00 in Bangkok
    assert start == dt.datetime(2026, 9, 2, 17, 0, tzinfo=dt.UTC)
    for at in (start, start - dt.timedelta(seconds=1)):
        Purchase.objects.create(
            shop=shop,
            member=member,
            channel=Channel.STORE,
            amount=Decimal("100"),
            points=0,
            created_at=at,
        )
    rfm_refresh(shop_id=shop.pk, now=NOW)
    assert MemberRfm.objects.get(member=member).frequency == 1
    # the 31st falls back to the shorter month's last day
    assert rfm_window_start(dt.datetime(2026, 5, 31, 5, 0, tzinfo=dt.UTC), 3).day == 28
    # at 00:30 in Bangkok on 1 December (still 30 November in UTC) today is 1 December
    half_past_midnight = dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC)
    assert rfm_window_start(half_past_midnight, 1) == dt.datetime(
        2026, 10, 31, 17, 0, tzinfo=dt.UTC
    )


@pytest.mark.django_db
def test_rfm_settings_refuse_bad_windows_and_cut_points_with_a_message_each():
    shop = ShopFactory()
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        rfm_settings_save(
            shop=shop,
            window_months=37,
            mode="fixed",
            r_days=[30, 90, 90, 365],
            f_counts=[2, 3, None, 10],
            m_thb=["500", "1000.555", "3000", "10000"],
        )
    message = str(caught.value)
    assert "The window is 1 to 36 months." in message
    assert "Recency cut points are whole days from 1 up, each more than the one before" in message
    assert "Give all four frequency cut points (purchases)." in message
    assert "Spend cut points are amounts in THB above 0" in message
    with pytest.raises(InvalidInput):
        rfm_settings_save(shop=shop, window_months=12, mode="fixed")  # fixed needs cut points
    with pytest.raises(InvalidInput):
        rfm_settings_save(shop=shop, window_months=0, mode="quintiles")
    assert not RfmSettings.objects.filter(shop=shop).exists()
    # quintiles may keep (valid) cut points for later; saving again changes the one row
    rfm_settings_save(shop=shop, window_months=6, mode="quintiles", r_days=[7, 14, 30, 60])
    row = rfm_settings_save(shop=shop, window_months=24, mode="quintiles")
    assert RfmSettings.objects.get(shop=shop) == row
    assert (row.window_months, row.r_days) == (24, (None, None, None, None))


@pytest.mark.django_db
def test_the_database_refuses_fixed_thresholds_that_do_not_go_up():
    shop = ShopFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RfmSettings.objects.create(
            shop=shop,
            mode="fixed",
            r_days_1=30,
            r_days_2=20,  # fewer days than the cut point before it
            r_days_3=40,
            r_days_4=50,
            f_count_1=1,
            f_count_2=2,
            f_count_3=3,
            f_count_4=4,
            m_thb_1=1,
            m_thb_2=2,
            m_thb_3=3,
            m_thb_4=4,
        )
