"""The broadcast benchmark still runs: a tiny audience on the test database (PostgreSQL only),
enqueued by the real job and by the hand-written floor (rolled back), every member reached once on
the fake LINE server, and nothing left behind."""

import pytest
from django.db import connection

from bench import broadcast
from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from loyalty.outbox.models import OutboxMessage
from members.models import ConsentRecord, Member
from shops.models import Shop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL only")


def test_broadcast_benchmark_reaches_every_member_once_and_cleans_up(settings):
    result = broadcast.run(members=1200, workers=2)

    checks = result["checks"]
    assert checks["ok"], checks
    assert checks["queued"] == checks["deliveries"] == 1200
    assert checks["rows"] == 3 and checks["floor"] == {"recipients": 1200, "rows": 3}
    assert checks["state"] == "sent"
    assert result["sender"]["recipients_per_s"] > 0 and result["raw"]["recipients_per_s"] > 0
    assert "broadcast_send" in broadcast.report(result)
    assert not Shop.objects.filter(slug__startswith="bench-").exists()
    for model in (Member, ConsentRecord, Broadcast, BroadcastRecipient, OutboxMessage):
        assert not model.objects.exists(), model
