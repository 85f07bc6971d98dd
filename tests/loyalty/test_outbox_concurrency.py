"""Several django-q2 workers draining the outbox at once: each row is claimed by one of them
(``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL) and every recipient gets the message once."""

from __future__ import annotations

import secrets

import pytest
from django.core.cache import cache
from django.db import transaction

from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.services import outbox_enqueue
from loyalty.outbox.tasks import outbox_drain, outbox_send
from shops.models import ShopLineChannel
from tests.concurrency import run_concurrently
from tests.factories import ShopFactory
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop():
    cache.clear()
    shop = ShopFactory()
    ShopLineChannel.objects.create(shop=shop, messaging_access_token=MESSAGING_ACCESS_TOKEN)
    return shop


def enqueue(shop, n: int) -> list[OutboxMessage]:
    with transaction.atomic():
        return outbox_enqueue(
            shop_id=shop.pk,
            to=["U" + secrets.token_hex(16) for _ in range(n)],
            messages=[{"type": "text", "text": "ข่าวดี"}],
            source="test",
        )


def test_four_workers_draining_at_once_send_every_row_once(shop, fake_line):
    rows = enqueue(shop, 1200)  # three multicast rows
    rows += [r for _ in range(8) for r in enqueue(shop, 3)]

    tried = run_concurrently(lambda i: outbox_drain(seconds=30), 4)

    assert all(isinstance(n, int) for n in tried), tried
    assert sum(tried) == len(rows)
    delivered = [u for entry in fake_line.messages for u in entry["to"]]
    assert len(delivered) == len(set(delivered)) == sum(len(r.recipients) for r in rows)
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


def test_the_same_row_sent_by_two_workers_at_once_goes_out_once(shop, fake_line):
    [row] = enqueue(shop, 5)

    states = run_concurrently(lambda i: outbox_send(row.pk), 2)

    assert sorted(states, key=str) == sorted(["sent", None], key=str)
    assert len(fake_line.messages) == 1
