"""The segments benchmark still runs: a tiny shop on the test database (PostgreSQL only), every
condition kind counted through the real code path and by hand with the same result, the RFM
refresh scoring every buyer, and nothing left behind."""

import pytest
from django.db import connection

from bench import segments
from campaigns.segments.models import MemberRfm
from members.ledger.models import Purchase, PurchaseItem
from members.line.models import LineFriend
from members.models import Member
from shops.models import Shop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL only")


def test_segments_benchmark_counts_every_kind_both_ways_alike_and_cleans_up():
    result = segments.run(members=400)

    assert result["checks"]["ok"], result["counts"]
    assert result["data"]["members"] == 400
    assert result["data"]["purchases"] == 400 * segments.PURCHASES_PER_MEMBER
    assert result["data"]["items"] > result["data"]["purchases"]
    kinds = {name.split(" ")[0] for name in (row["name"] for row in result["counts"])}
    assert {"all", "rfm", "purchased", "tags", "pending", "bound", "LINE", "AND"} <= kinds
    # the counts are real: every kind finds someone
    counts = {row["name"]: row["count"] for row in result["counts"]}
    assert counts["all"] == 400
    assert counts["pending"] == 40 and counts["bound"] == 320
    # (the AND of four is left to chance at this size)
    assert all(row["count"] > 0 for row in result["counts"] if not row["name"].startswith("AND"))
    assert result["rfm"]["scored"] == result["rfm"]["floor_rows"] > 0
    assert "segment counts" in segments.report(result)
    assert not Shop.objects.filter(slug__startswith="bench-").exists()
    for model in (Member, Purchase, PurchaseItem, LineFriend, MemberRfm):
        assert not model.objects.exists(), model
