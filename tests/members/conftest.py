import itertools
from decimal import Decimal

import pytest

from members.ledger.actors import Actor
from members.ledger.models import Purchase, PurchaseProduct
from members.ledger.selectors import shop_points_totals
from members.models import LedgerEntry, Member, PointLot
from tests.factories import MemberFactory, ShopFactory

_keys = itertools.count(1)


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


@pytest.fixture
def system():
    return Actor.system()


@pytest.fixture
def points_shop(db):
    """A shop at 25 THB per point, no expiry, no tiers, no pending days."""
    return ShopFactory(
        thb_per_point=Decimal("25.00"), expiry_mode="never", tiers_enabled=False, welcome_points=0
    )


@pytest.fixture
def member(points_shop):
    return MemberFactory(shop=points_shop)


def assert_invariants(shop_id: int) -> None:
    """balance = Σ entries = Σ open lots − debt, for every member; per shop Σ entries = Σ balances."""
    for m in Member.objects.filter(shop_id=shop_id):
        entries = sum(LedgerEntry.objects.filter(member=m).values_list("points", flat=True))
        lots = sum(PointLot.objects.filter(member=m).values_list("remaining", flat=True))
        assert m.balance == entries, (m.pk, m.balance, entries)
        assert m.balance == lots - m.debt, (m.pk, m.balance, lots, m.debt)
        assert m.debt >= 0
        last = LedgerEntry.objects.filter(member=m).order_by("-id").first()
        if last is not None and last.kind != "expire":
            assert last.balance_after == m.balance
        # The last visit kept on the member row is their latest completed purchase.
        visit = (
            Purchase.objects.filter(member=m, status="completed")
            .order_by("-created_at", "-id")
            .values_list("created_at", "branch_id")
            .first()
        )
        assert (m.last_visit_at, m.last_visit_branch_id) == (visit or (None, None)), m.pk
    # What each member bought, as the segments read it: a row per completed purchase and key.
    expected = {
        (p.pk, p.member_id, p.created_at, key)
        for p in Purchase.objects.filter(shop_id=shop_id, status="completed").prefetch_related(
            "items"
        )
        for item in p.items.all()
        for key in {item.sku.upper(), item.name.upper()} - {""}
    }
    assert expected == set(
        PurchaseProduct.objects.filter(shop_id=shop_id).values_list(
            "purchase_id", "member_id", "purchased_at", "key"
        )
    )
    totals = shop_points_totals(shop_id)
    assert totals["ledger_total"] == totals["balances"]
    for lot in PointLot.objects.filter(shop_id=shop_id):
        allocated = sum(
            lot.allocations.filter(debit__reversed_by__isnull=True).values_list("points", flat=True)
        )
        assert lot.remaining == lot.points - lot.debt_paid - allocated, lot.pk
