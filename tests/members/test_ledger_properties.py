"""Random sequences of ledger operations keep the invariants after every step (hypothesis)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members.ledger import jobs, services
from members.ledger.actors import Actor
from members.ledger.errors import CannotReverse, MemberHasDebt, NotEnoughPoints
from members.ledger.models import LedgerEntry
from tests.factories import MemberFactory, ShopFactory
from tests.members.conftest import assert_invariants

ACTOR = Actor.system(channel="store")
BKK = dt.timezone(dt.timedelta(hours=7))

operation = st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 500)),
    st.tuples(st.just("spend"), st.integers(1, 40)),
    st.tuples(st.just("adjust"), st.integers(-30, 30).filter(bool)),
    st.tuples(st.just("reverse"), st.integers(0, 30)),
    st.tuples(st.just("days"), st.integers(1, 70)),
    st.tuples(st.just("expire"), st.just(0)),
    st.tuples(st.just("replay"), st.integers(0, 30)),
)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(operation, min_size=1, max_size=25), pending=st.sampled_from([0, 3]))
def test_random_operations_keep_the_invariants(ops, pending):
    shop = ShopFactory(
        thb_per_point=Decimal("10.00"),
        expiry_mode="months_after",
        expiry_months=1,
        pending_days=pending,
        tiers_enabled=False,
    )
    member = MemberFactory(shop=shop)
    day = dt.datetime(2026, 1, 15, 0, 30, tzinfo=BKK)
    keys: list[tuple[str, str]] = []
    for n, (op, value) in enumerate(ops):
        with time_machine.travel(day, tick=False):
            try:
                if op == "earn":
                    services.points_earn(
                        shop=shop,
                        member=member,
                        amount=str(value),
                        idempotency_key=f"e{n}",
                        actor=ACTOR,
                    )
                    keys.append(("earn", f"e{n}", value))
                elif op == "spend":
                    services.points_spend(
                        member=member, points=value, idempotency_key=f"s{n}", actor=ACTOR
                    )
                elif op == "adjust":
                    services.points_adjust(
                        member=member, points=value, note="t", idempotency_key=f"a{n}", actor=ACTOR
                    )
                elif op == "reverse":
                    entries = list(LedgerEntry.objects.filter(member=member).order_by("id"))
                    if entries:
                        services.entry_reverse(
                            entry=entries[value % len(entries)],
                            note="t",
                            idempotency_key=f"r{n}",
                            actor=ACTOR,
                        )
                elif op == "days":
                    day += dt.timedelta(days=value)
                elif op == "expire":
                    jobs.points_expire_due()
                elif op == "replay" and keys:
                    _kind, k, amount = keys[value % len(keys)]
                    before = LedgerEntry.objects.count()
                    result = services.points_earn(
                        shop=shop, member=member, amount=str(amount), idempotency_key=k, actor=ACTOR
                    )
                    assert result.replayed and LedgerEntry.objects.count() == before
            except (NotEnoughPoints, MemberHasDebt, CannotReverse, services.NoPointsForSpend):
                pass
            assert_invariants(shop.pk)
