"""Ledger services: earning, spending, adjusting, reversing, debt, idempotency."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from members.ledger import services
from members.ledger.errors import (
    CannotReverse,
    DuplicateOrder,
    IdempotencyMismatch,
    InvalidAmount,
    InvalidBranch,
    InvalidPhoneNumber,
    MemberHasDebt,
    NoPointsForSpend,
    NotEnoughPoints,
)
from members.ledger.models import EntryKind, LedgerEntry, PointLot, Purchase
from members.ledger.selectors import member_points_summary
from members.models import Member
from tests.factories import BranchFactory, MemberFactory, ShopFactory, TierFactory
from tests.members.conftest import assert_invariants, key

# These tests read the English messages; Thai (the default) has its own tests.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def earn(shop, amount, member=None, **kw):
    kw.setdefault("actor", services.Actor.system(channel="store"))
    return services.points_earn(
        shop=shop, member=member, amount=amount, idempotency_key=kw.pop("k", key()), **kw
    )


def test_earn_credits_points_by_rate_and_records_the_purchase(points_shop, member):
    branch = BranchFactory(shop=points_shop)
    result = earn(points_shop, "260.00", member, branch=branch, receipt_no="R-1")
    member.refresh_from_db()
    assert result.points == 10
    assert member.balance == 10
    assert result.purchase.amount == Decimal("260.00")
    assert result.purchase.branch == branch
    assert result.entry.kind == EntryKind.EARN
    assert result.entry.balance_after == 10
    assert result.entry.lot.remaining == 10
    assert_invariants(points_shop.pk)


@pytest.mark.parametrize("bad", ["0", "-5", "abc", "1e30", "10.005", "", "NaN", "Infinity"])
def test_earn_refuses_bad_amounts_and_writes_nothing(points_shop, member, bad):
    with pytest.raises(InvalidAmount):
        earn(points_shop, bad, member)
    assert LedgerEntry.objects.count() == 0
    assert Purchase.objects.count() == 0


@pytest.mark.parametrize(
    ("typed", "amount", "points"),
    [("1,250", "1250.00", 50), ("1,250.00", "1250.00", 50), ("12,345,678.90", None, None)],
)
def test_earn_reads_a_comma_as_a_thousands_separator(points_shop, member, typed, amount, points):
    if amount is None:  # grouped right, but above the largest spend
        with pytest.raises(InvalidAmount, match="too large"):
            earn(points_shop, typed, member)
        return
    result = earn(points_shop, typed, member)
    assert (result.purchase.amount, result.points) == (Decimal(amount), points)


@pytest.mark.parametrize("typed", ["12,50", "1,2345", ",500", "1,,000", "1.250,00"])
def test_earn_refuses_a_decimal_comma_instead_of_reading_it_as_thousands(
    points_shop, member, typed
):
    # "12,50" was read as 1,250 baht: 100 times the points the cashier meant.
    with pytest.raises(InvalidAmount, match="A comma only separates thousands"):
        earn(points_shop, typed, member)
    assert not LedgerEntry.objects.exists()


def test_earn_refuses_ten_million(points_shop, member):
    with pytest.raises(InvalidAmount, match="too large"):
        earn(points_shop, "10000000", member)


def test_earn_below_minimum_or_rate_earns_nothing_and_says_why(points_shop, member):
    points_shop.min_spend = Decimal("100.00")
    points_shop.save()
    with pytest.raises(NoPointsForSpend):
        earn(points_shop, "99.00", member)
    assert LedgerEntry.objects.count() == 0


def test_tier_multiplier_applies_and_rounds_down_once(points_shop):
    points_shop.tiers_enabled = True
    points_shop.save()
    gold = TierFactory(shop=points_shop, threshold=0, earn_multiplier=Decimal("1.50"))
    m = MemberFactory(shop=points_shop, tier=gold)
    assert earn(points_shop, "149.00", m).points == 8


def test_unknown_phone_creates_a_pending_member(points_shop):
    result = earn(points_shop, "100", phone="081-234-5678")
    assert result.member_created
    assert result.member.status == Member.Status.PENDING
    assert result.member.phone == "+66812345678"
    again = earn(points_shop, "100", phone="0812345678")
    assert not again.member_created
    assert again.member == result.member
    assert Member.objects.filter(shop=points_shop).count() == 1


def test_earn_refuses_a_phone_that_is_not_a_phone(points_shop):
    with pytest.raises(InvalidPhoneNumber):
        earn(points_shop, "100", phone="12345")
    assert Member.objects.count() == 0


def test_earn_refuses_another_shops_branch(points_shop, member):
    with pytest.raises(InvalidBranch):
        earn(points_shop, "100", member, branch=BranchFactory())


def test_replayed_key_returns_the_first_result(points_shop, member):
    first = earn(points_shop, "100", member, k="same")
    second = earn(points_shop, "100", member, k="same")
    assert second.replayed and second.entry == first.entry
    assert LedgerEntry.objects.count() == 1


def test_same_key_with_different_content_is_refused(points_shop, member):
    earn(points_shop, "100", member, k="same")
    with pytest.raises(IdempotencyMismatch):
        earn(points_shop, "200", member, k="same")
    assert LedgerEntry.objects.count() == 1


def test_keys_are_per_shop(points_shop, member):
    other = ShopFactory()
    earn(points_shop, "100", member, k="same")
    earn(other, "100", MemberFactory(shop=other), k="same")
    assert LedgerEntry.objects.count() == 2


def test_same_order_id_earns_once_per_channel(points_shop, member):
    earn(points_shop, "100", member, order_id="ORD-1", channel="online")
    with pytest.raises(DuplicateOrder):
        earn(points_shop, "100", member, order_id="ORD-1", channel="online")
    earn(points_shop, "100", member, order_id="ORD-1", channel="store")
    assert LedgerEntry.objects.count() == 2


def test_line_items_are_saved_with_products(points_shop, member):
    items = [
        services.LineItem(sku="LATTE", name="Latte", quantity=Decimal("2"), price=Decimal("60")),
        services.LineItem(sku="", name="Tip", quantity=Decimal("1"), price=Decimal("5")),
    ]
    result = earn(points_shop, "125", member, items=items)
    assert result.purchase.items.count() == 2
    assert points_shop.products.get(sku="LATTE").name == "Latte"


def test_welcome_points_are_given_once(points_shop, member, system):
    points_shop.welcome_points = 50
    points_shop.save()
    member.refresh_from_db()
    services.points_welcome(member=member, actor=system)
    services.points_welcome(member=member, actor=system)
    member.refresh_from_db()
    assert member.balance == 50


def test_spend_draws_on_the_lot_expiring_first_then_never_expiring_last(
    points_shop, member, system
):
    never, _ = services.points_credit(
        member=member,
        kind="activity",
        points=10,
        idempotency_key=key(),
        actor=system,
        expires_on=None,
    )
    late, _ = services.points_credit(
        member=member,
        kind="activity",
        points=10,
        idempotency_key=key(),
        actor=system,
        expires_on=dt.date(2099, 12, 31),
    )
    soon, _ = services.points_credit(
        member=member,
        kind="activity",
        points=10,
        idempotency_key=key(),
        actor=system,
        expires_on=dt.date(2098, 1, 31),
    )
    entry, _ = services.points_spend(member=member, points=15, idempotency_key=key(), actor=system)
    taken = {a.lot.entry_id: a.points for a in entry.allocations.select_related("lot")}
    assert taken == {soon.pk: 10, late.pk: 5}
    never.lot.refresh_from_db()
    assert never.lot.remaining == 10
    assert_invariants(points_shop.pk)


def test_spend_refuses_to_go_below_zero(points_shop, member, system):
    earn(points_shop, "100", member)
    with pytest.raises(NotEnoughPoints):
        services.points_spend(member=member, points=5, idempotency_key=key(), actor=system)
    member.refresh_from_db()
    assert member.balance == 4


def test_pending_points_are_visible_but_not_spendable(points_shop, member, system):
    points_shop.pending_days = 7
    points_shop.save()
    with time_machine.travel(dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)):
        earn(points_shop, "250", member)
        member.refresh_from_db()
        summary = member_points_summary(member)
        assert (summary.balance, summary.spendable, summary.pending) == (10, 0, 10)
        with pytest.raises(NotEnoughPoints):
            services.points_spend(member=member, points=1, idempotency_key=key(), actor=system)
    with time_machine.travel(dt.datetime(2026, 11, 8, 12, tzinfo=dt.UTC)):
        services.points_spend(member=member, points=10, idempotency_key=key(), actor=system)
    assert_invariants(points_shop.pk)


def test_adjust_needs_a_reason_and_a_non_zero_whole_number(member, system):
    with pytest.raises(InvalidAmount):
        services.points_adjust(
            member=member, points=5, note=" ", idempotency_key=key(), actor=system
        )
    with pytest.raises(InvalidAmount):
        services.points_adjust(
            member=member, points=0, note="x", idempotency_key=key(), actor=system
        )


def test_adjust_down_is_refused_beyond_the_balance(points_shop, member, system):
    services.points_adjust(
        member=member, points=5, note="gift", idempotency_key=key(), actor=system
    )
    with pytest.raises(NotEnoughPoints):
        services.points_adjust(
            member=member, points=-6, note="fix", idempotency_key=key(), actor=system
        )
    services.points_adjust(
        member=member, points=-5, note="fix", idempotency_key=key(), actor=system
    )
    member.refresh_from_db()
    assert member.balance == 0
    assert_invariants(points_shop.pk)


def test_reversing_a_spent_earn_leaves_debt_that_new_credits_pay_first(points_shop, member, system):
    # given 10 points earned and 8 of them spent
    first = earn(points_shop, "250", member)
    services.points_spend(member=member, points=8, idempotency_key=key(), actor=system)
    # when the purchase is refunded
    services.purchase_reverse(
        purchase=first.purchase, note="refund", idempotency_key=key(), actor=system
    )
    member.refresh_from_db()
    # then the 2 left are taken back and the 8 spent become debt
    assert (member.balance, member.debt) == (-8, 8)
    first.purchase.refresh_from_db()
    assert first.purchase.status == Purchase.Status.REVERSED
    with pytest.raises(MemberHasDebt):
        services.points_spend(member=member, points=1, idempotency_key=key(), actor=system)
    # and the next credit pays the debt first
    earn(points_shop, "300", member)  # 12 points
    member.refresh_from_db()
    assert (member.balance, member.debt) == (4, 0)
    assert PointLot.objects.filter(member=member, remaining__gt=0).get().remaining == 4
    assert_invariants(points_shop.pk)


def test_reversing_a_debit_restores_exactly_the_same_lots(points_shop, member, system):
    a, _ = services.points_credit(
        member=member,
        kind="activity",
        points=5,
        idempotency_key=key(),
        actor=system,
        expires_on=dt.date(2098, 1, 1),
    )
    b, _ = services.points_credit(
        member=member,
        kind="activity",
        points=5,
        idempotency_key=key(),
        actor=system,
        expires_on=None,
    )
    spend, _ = services.points_spend(member=member, points=7, idempotency_key=key(), actor=system)
    services.entry_reverse(entry=spend, note="cancelled", idempotency_key=key(), actor=system)
    a.lot.refresh_from_db()
    b.lot.refresh_from_db()
    assert (a.lot.remaining, b.lot.remaining) == (5, 5)
    assert_invariants(points_shop.pk)


def test_a_reversal_cannot_be_reversed_nor_an_entry_reversed_twice(points_shop, member, system):
    entry = earn(points_shop, "100", member).entry
    reversal, _ = services.entry_reverse(entry=entry, note="x", idempotency_key=key(), actor=system)
    with pytest.raises(CannotReverse):
        services.entry_reverse(entry=reversal, note="x", idempotency_key=key(), actor=system)
    with pytest.raises(CannotReverse):
        services.entry_reverse(entry=entry, note="again", idempotency_key=key(), actor=system)
    assert_invariants(points_shop.pk)


def test_replayed_reverse_returns_the_first_reversal(points_shop, member, system):
    entry = earn(points_shop, "100", member).entry
    r1, replayed1 = services.entry_reverse(
        entry=entry, note="x", idempotency_key="rev", actor=system
    )
    r2, replayed2 = services.entry_reverse(
        entry=entry, note="x", idempotency_key="rev", actor=system
    )
    assert r1 == r2 and not replayed1 and replayed2


def test_blocked_member_cannot_earn(points_shop):
    m = MemberFactory(shop=points_shop, status=Member.Status.BLOCKED)
    with pytest.raises(services.MemberNotActive):
        earn(points_shop, "100", m)
