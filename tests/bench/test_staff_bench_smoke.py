"""The staff app's benchmark still runs: tiny, on the test database (PostgreSQL only), with its
own checks, and it removes its shop, staff, branch and audit rows afterwards."""

import pytest
from django.db import connection

from bench import staff_add_points
from members.models import LedgerEntry, Member
from shops.models import Branch, Shop, User
from shops.staffing.models import StaffAction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL only")


def test_staff_benchmark_drives_the_staff_app_and_the_raw_transaction_without_errors():
    result = staff_add_points.run(seconds=1.0, clients=2, members=20, workers=1, warmup=0.2)

    assert result["staff_app"]["ops"] > 0
    assert result["staff_app"]["errors"] == {}
    assert result["raw"]["ops"] > 0
    assert result["raw"]["errors"] == {}
    assert result["invariants"]["ok"], result["invariants"]
    # every add of both phases is one entry of 10 points (250 THB at 25 THB per point)
    assert result["invariants"]["entries"] >= result["staff_app"]["ops"] + result["raw"]["ops"]
    assert result["invariants"]["ledger_total"] == 10 * result["invariants"]["entries"]
    assert not Shop.objects.filter(slug__startswith="bench-").exists()
    assert not Member.objects.exists() and not LedgerEntry.objects.exists()
    assert not User.objects.exists() and not Branch.objects.exists()
    assert not StaffAction.objects.exists()
