"""The redemption benchmark still runs: tiny, on the test database (PostgreSQL only), with its own
checks, and it removes its shop, reward, redemptions and coupons afterwards."""

import pytest
from django.db import connection

from bench import redeem
from members.models import LedgerEntry, Member
from rewards.models import Coupon, Redemption, Reward
from shops.models import Shop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL only")


def test_redeem_benchmark_takes_exactly_one_from_stock_per_redemption_in_every_phase():
    result = redeem.run(seconds=1.0, clients=2, members=20, workers=1, warmup=0.2)

    for phase in ("api", "raw", "raw_lock_first"):
        assert result[phase]["ops"] > 0, phase
        assert result[phase]["errors"] == {}, phase
    checks = result["checks"]
    assert checks["ok"], checks
    assert checks["invariants"]["ok"], checks["invariants"]
    # warm-up redemptions count too: at least the measured ones of the three phases
    measured = sum(result[phase]["ops"] for phase in ("api", "raw", "raw_lock_first"))
    assert checks["redemptions"] >= measured
    assert checks["stock_taken"] == checks["redemptions"] == checks["coupons"]
    # 20 members × 3 seeded lots, then one redeem entry per redemption
    assert checks["invariants"]["entries"] == 60 + checks["redemptions"]
    assert checks["invariants"]["ledger_total"] == (
        60 * redeem.LOT_POINTS - redeem.COST * checks["redemptions"]
    )
    assert not Shop.objects.filter(slug__startswith="bench-").exists()
    assert not Member.objects.exists() and not LedgerEntry.objects.exists()
    assert not Reward.objects.exists() and not Redemption.objects.exists()
    assert not Coupon.objects.exists()
