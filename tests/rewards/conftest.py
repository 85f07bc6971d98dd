import itertools

import pytest

from members.ledger import services as ledger
from members.ledger.actors import Actor
from tests.factories import MemberFactory, RewardFactory, ShopFactory, TierFactory

_n = itertools.count()


def give(member, points):
    ledger.points_adjust(
        member=member,
        points=points,
        note="test",
        idempotency_key=f"give-{next(_n)}",
        actor=Actor.system(),
    )
    member.refresh_from_db()
    return member


@pytest.fixture
def rshop(db):
    return ShopFactory(expiry_mode="never", tiers_enabled=True, coupon_validity_days=30)


@pytest.fixture
def rich(rshop):
    return give(MemberFactory(shop=rshop), 1000)


@pytest.fixture
def reward(rshop):
    return RewardFactory(shop=rshop, name="Free latte", points_cost=100, stock=5)


__all__ = ["MemberFactory", "RewardFactory", "TierFactory", "give"]
