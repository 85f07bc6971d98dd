"""Big numbers: points columns are 64-bit where sums grow, one entry carries at most the shop's
``max_points_per_entry``, and an earn at the extremes of rate, multiplier and amount is either a
clean refusal or the exact entry, never a database error (the overflow only shows on PostgreSQL:
run this file with DATABASE_URL too)."""

import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from fractions import Fraction

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members.imports.headers import ColumnMap
from members.imports.planning import Planner, parse_row
from members.ledger import jobs, services
from members.ledger.actors import Actor
from members.ledger.errors import TooManyPoints
from members.ledger.models import EntryKind, LedgerEntry, Purchase
from shops.apikeys import api_key_create
from tests.factories import MemberFactory, ShopFactory, TierFactory
from tests.members.conftest import assert_invariants, key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
SYSTEM = Actor.system()
BKK = dt.timezone(dt.timedelta(hours=7))


def api_earn(shop, member, amount):
    _key, raw = api_key_create(shop=shop, name="pos")
    return Client().post(
        "/api/v1/points/earn",
        json.dumps({"member_id": str(member.public_id), "amount": amount}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )


def tiered_member(shop, multiplier):
    shop.tiers_enabled = True
    shop.save()
    tier = TierFactory(shop=shop, threshold=0, earn_multiplier=Decimal(multiplier))
    return MemberFactory(shop=shop, tier=tier)


# --- the example ------------------------------------------------------------------------


def test_ten_million_baht_at_a_satang_a_point_times_two_is_a_clean_422():
    # given 0.01 THB per point and a ×2 tier: 9,999,999.99 THB is 1,999,999,998 points
    shop = ShopFactory(thb_per_point=Decimal("0.01"), expiry_mode="never")
    member = tiered_member(shop, "2.00")

    # when an integrator pushes it
    response = api_earn(shop, member, "9999999.99")

    # then it is refused with a code and a sentence, and nothing is written
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "too_many_points"
    assert "1,999,999,998 points" in error["message"]
    assert "at most 1,000,000" in error["message"]
    assert not LedgerEntry.objects.exists() and not Purchase.objects.exists()


# --- the shop's cap on every path that credits points -------------------------------------------


@pytest.fixture
def capped_shop(db):
    """1 THB per point, at most 1,000 points in one entry."""
    return ShopFactory(
        thb_per_point=Decimal("1.00"),
        max_points_per_entry=1_000,
        expiry_mode="never",
        tiers_enabled=False,
        welcome_points=0,
    )


def test_an_earn_up_to_the_cap_is_written_and_one_point_more_is_refused(capped_shop):
    member = MemberFactory(shop=capped_shop)

    at_cap = services.points_earn(
        shop=capped_shop, member=member, amount="1000", idempotency_key=key(), actor=SYSTEM
    )
    with pytest.raises(TooManyPoints) as refused:
        services.points_earn(
            shop=capped_shop, member=member, amount="1001", idempotency_key=key(), actor=SYSTEM
        )

    assert at_cap.points == 1_000
    assert refused.value.code == "too_many_points" and refused.value.http_status == 422
    assert LedgerEntry.objects.count() == 1 and Purchase.objects.count() == 1
    assert_invariants(capped_shop.pk)


def test_credits_and_adjustments_either_way_respect_the_cap(capped_shop):
    member = MemberFactory(shop=capped_shop)
    services.points_credit(
        member=member, kind=EntryKind.ACTIVITY, points=1_000, idempotency_key=key(), actor=SYSTEM
    )

    with pytest.raises(TooManyPoints):
        services.points_credit(
            member=member, kind=EntryKind.IMPORT, points=1_001, idempotency_key=key(), actor=SYSTEM
        )
    with pytest.raises(TooManyPoints):
        services.points_adjust(
            member=member, points=1_001, note="typo", idempotency_key=key(), actor=SYSTEM
        )
    with pytest.raises(TooManyPoints):
        services.points_adjust(
            member=member, points=-1_001, note="typo", idempotency_key=key(), actor=SYSTEM
        )

    member.refresh_from_db()
    assert member.balance == 1_000
    assert LedgerEntry.objects.count() == 1


def test_the_api_adjustment_above_the_cap_is_422(capped_shop):
    member = MemberFactory(shop=capped_shop)
    _key, raw = api_key_create(shop=capped_shop, name="crm")

    response = Client().post(
        "/api/v1/points/adjust",
        json.dumps({"member_id": str(member.public_id), "points": 5_000, "note": "gift"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_IDEMPOTENCY_KEY="adj-1",
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_points"


def test_welcome_points_above_the_cap_cannot_be_set(capped_shop):
    capped_shop.welcome_points = 1_001
    with pytest.raises(ValidationError) as refused:
        capped_shop.full_clean()
    assert "welcome_points" in refused.value.message_dict


def test_an_import_row_above_the_shops_cap_is_an_error_in_the_preview(capped_shop):
    columns = ColumnMap(header_row=1, index={"phone": 0, "points": 1})
    planner = Planner(shop=capped_shop, policy="add-points", key_prefix="import:x:")
    rows = [
        parse_row(("0812345678", "1,000"), columns, row=2, today=dt.date(2026, 1, 1)),
        parse_row(("0812345679", "1,001"), columns, row=3, today=dt.date(2026, 1, 1)),
    ]

    for parsed in rows:
        planner.check_in_file(parsed)

    assert rows[0].errors == []
    assert [(e.column, e.code, e.params) for e in rows[1].errors] == [
        ("points", "points_too_many", {"max": "1,000"})
    ]


# --- 64-bit sums --------------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 11, 20, 12, 0, tzinfo=BKK), tick=False)
def test_balances_expiry_and_tiers_go_past_32_bits():
    # given a shop that allows the most points per entry and a tier at two billion points
    shop = ShopFactory(
        thb_per_point=Decimal("1.00"),
        max_points_per_entry=100_000_000,
        expiry_mode="never",
        tiers_enabled=True,
        tier_window="lifetime",
    )
    TierFactory(shop=shop, name="Base", threshold=0)
    top = TierFactory(shop=shop, name="Top", threshold=2_000_000_000)
    member = MemberFactory(shop=shop)

    # when 25 credits of 100 million points (2.5 billion, above 2^31) arrive, expiring together
    for _ in range(25):
        services.points_credit(
            member=member,
            kind=EntryKind.ACTIVITY,
            points=100_000_000,
            idempotency_key=key(),
            actor=SYSTEM,
            expires_on=dt.date(2026, 11, 30),
        )
    member.refresh_from_db()
    assert member.balance == 2_500_000_000
    assert member.tier == top  # upgraded at once from the 64-bit sum
    assert jobs.tiers_evaluate_shop(shop=shop, evaluation_date=dt.date(2026, 11, 30)) == 0

    # then the expiry job writes one entry of -2.5 billion
    jobs.points_expire_due(today=dt.date(2026, 12, 1))
    member.refresh_from_db()
    assert member.balance == 0
    assert LedgerEntry.objects.get(kind=EntryKind.EXPIRE).points == -2_500_000_000
    assert_invariants(shop.pk)


# --- every extreme: a clean refusal or the exact entry ------------------------------------------

rates = st.one_of(
    st.sampled_from([Decimal("0.01"), Decimal("0.03"), Decimal("3.00"), Decimal("9999999999.99")]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2),
)
multipliers = st.one_of(
    st.sampled_from([Decimal("0.10"), Decimal("1.50"), Decimal("10.00")]),
    st.decimals(min_value=Decimal("0.10"), max_value=Decimal("10.00"), places=2),
)
amounts = st.one_of(
    st.sampled_from([Decimal("0.01"), Decimal("100.00"), Decimal("9999999.99")]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2),
)
caps = st.one_of(st.sampled_from([1, 1_000_000, 100_000_000]), st.integers(1, 100_000_000))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rate=rates, multiplier=multipliers, amount=amounts, cap=caps)
def test_an_earn_at_any_rate_multiplier_amount_and_cap_is_refused_cleanly_or_exact(
    rate, multiplier, amount, cap
):
    shop = ShopFactory(thb_per_point=rate, max_points_per_entry=cap, expiry_mode="never")
    member = tiered_member(shop, multiplier)
    exact = math.floor(Fraction(amount) * Fraction(multiplier) / Fraction(rate))

    first = api_earn(shop, member, f"{amount:,}")
    second = api_earn(shop, member, str(amount))

    for response in (first, second):
        if exact == 0:
            assert response.status_code == 422, response.content
            assert response.json()["error"]["code"] == "no_points"
        elif exact > cap:
            assert response.status_code == 422, response.content
            assert response.json()["error"]["code"] == "too_many_points"
        else:
            assert response.status_code == 201, response.content
            assert response.json()["points"] == exact
    member.refresh_from_db()
    assert member.balance == (2 * exact if 0 < exact <= cap else 0)
