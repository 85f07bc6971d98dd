"""The outbox benchmark still runs: tiny, on the test database (PostgreSQL only), every recipient
reached once, and it removes its shop and rows afterwards."""

import pytest
from django.db import connection

from bench import outbox
from loyalty.outbox.models import OutboxMessage
from shops.models import Shop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL only")


def test_outbox_benchmark_sends_every_recipient_once_and_cleans_up(settings):
    result = outbox.run(recipients=1200, workers=2)

    assert result["checks"]["ok"], result["checks"]
    assert result["checks"]["rows"] == 3 and result["checks"]["deliveries"] == 1200
    assert result["sender"]["recipients_per_s"] > 0 and result["raw"]["recipients_per_s"] > 0
    assert not Shop.objects.filter(slug__startswith="bench-").exists()
    assert not OutboxMessage.objects.exists()
