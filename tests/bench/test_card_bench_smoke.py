"""The card page benchmark still runs: tiny, on the test database (PostgreSQL only), and it removes
its shop, members and sessions afterwards."""

import pytest
from django.contrib.sessions.models import Session
from django.db import connection

from bench import card_page
from members.models import Member
from shops.models import Shop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL only")


def test_card_benchmark_serves_cards_and_the_framework_floor_without_errors():
    result = card_page.run(seconds=1.0, clients=2, members=3, history=2, workers=1, warmup=0.2)

    assert result["card"]["ops"] > 0 and result["card"]["errors"] == {}
    assert result["floor"]["ops"] > 0 and result["floor"]["errors"] == {}
    assert 0 < result["ratio"] < 1
    # the page's pinned budget (tests/members/pages/test_card.py): 4 with a new QR code, 3 after
    assert (result["card_queries_first_view"], result["card_queries_reload"]) == (4, 3)
    assert result["targets"]["queries_met"]
    assert not Shop.objects.filter(slug__startswith="bench-").exists()
    assert not Member.objects.exists() and not Session.objects.exists()
