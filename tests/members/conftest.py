import itertools
from decimal import Decimal

import pytest

from members.ledger.actors import Actor
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
    totals = shop_points_totals(shop_id)
    assert totals["ledger_total"] == totals["balances"]
    for lot in PointLot.objects.filter(shop_id=shop_id):
        allocated = sum(
            lot.allocations.filter(debit__reversed_by__isnull=True).values_list("points", flat=True)
        )
        assert lot.remaining == lot.points - lot.debt_paid - allocated, lot.pk
