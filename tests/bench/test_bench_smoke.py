"""The benchmarks still run: each at a tiny size on the test database, with its own checks.

PostgreSQL only (the benchmarks build their data with PostgreSQL SQL and drive gunicorn against it);
skipped on SQLite. The numbers are meaningless at this size; what is tested is that the data they
build is sound, the jobs do what the benchmark expects, and the benchmark cleans up after itself.
"""

import pytest
from django.db import connection

from bench import earn_api, expiry, tiers
from members.models import LedgerEntry, Member
from shops.models import Shop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL only")


def assert_cleaned_up():
    assert not Shop.objects.filter(slug__startswith="bench-").exists()
    assert not Member.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_expiry_benchmark_expires_exactly_the_due_lots_and_keeps_the_invariants():
    result = expiry.run(members=30, lots=150, due=30)

    assert result["data"]["due_lots"] == 30
    assert result["job"]["entries"] == 30
    assert result["job"]["lots"] == 30
    assert result["job"]["points"] == result["data"]["due_points"]
    assert result["job_again"]["entries"] == 0
    assert result["checks"]["ok"], result["checks"]
    assert result["checks"]["invariants"]["entries"] == 150 + 30
    assert_cleaned_up()


def test_tier_benchmark_job_agrees_with_the_per_member_rule_and_the_floor_query():
    result = tiers.run(members=300)

    assert result["data"]["members"] == 300
    assert result["job"]["changed"] > 0
    assert result["job"]["changed"] == result["floor_would_change"]
    assert result["job"]["changed_again"] == 0
    assert result["checks"]["sample"]["checked"] == 200
    assert result["checks"]["ok"], result["checks"]
    assert_cleaned_up()


def test_earn_benchmark_drives_the_api_the_framework_floor_and_the_raw_transaction():
    result = earn_api.run(seconds=1.0, clients=2, members=20, workers=1, warmup=0.2)

    for phase in ("api", "floor", "raw"):
        assert result[phase]["ops"] > 0, phase
        assert result[phase]["errors"] == {}, phase
    assert result["invariants"]["ok"], result["invariants"]
    # every earn of the three phases is one entry of 10 points (250 THB at 25 THB per point)
    ops = result["api"]["ops"] + result["floor"]["ops"] + result["raw"]["ops"]
    assert result["invariants"]["entries"] >= ops
    assert result["invariants"]["ledger_total"] == 10 * result["invariants"]["entries"]
    assert_cleaned_up()
