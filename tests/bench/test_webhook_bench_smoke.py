"""The webhook benchmark still runs: a tiny run on the test database (PostgreSQL only), both
phases answered, every acknowledged event stored exactly once, and nothing left behind."""

import pytest
from django.db import connection

from bench import webhook
from members.line.models import WebhookEvent
from shops.models import Shop, ShopLineChannel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL only")


def test_webhook_benchmark_stores_every_event_once_on_both_sides_and_cleans_up():
    result = webhook.run(seconds=1.0, clients=2, users=50, workers=1, warmup=0.2)

    for phase in ("webhook", "floor"):
        assert result[phase]["ops"] > 0, phase
        assert result[phase]["errors"] == {}, phase
    assert result["stored_once"]["ok"], result["stored_once"]
    assert result["stored_once"]["rows"] > 0
    assert result["floor_stored_once"]["ok"], result["floor_stored_once"]
    assert 0 < result["tasks_queued"] <= result["stored_once"]["rows"]
    assert "ratio webhook/floor" in webhook.report(result)
    assert not Shop.objects.filter(slug__startswith="bench-").exists()
    assert not WebhookEvent.objects.exists()
    assert not ShopLineChannel.objects.exists()
