"""The outbox on django-q2's Redis broker (``REDIS_URL``): the tasks the outbox schedules after
commit go through Redis, come back out, and django-q2's own worker runs them to the fake LINE.

Runs only with ``REDIS_URL`` set (``.ci/run`` runs this file once with a local Redis); without it
the ORM broker is what ``tests/loyalty/test_outbox.py`` exercises.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import secrets

import pytest
from django.db import transaction
from django_q.brokers import get_broker
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf
from django_q.signing import SignedPackage
from django_q.worker import worker

from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.services import outbox_enqueue
from shops.models import ShopLineChannel
from tests.factories import ShopFactory
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a Redis server for django-q2)"
)


@pytest.fixture
def broker():
    broker = get_broker(list_key=f"outbox-test-{secrets.token_hex(4)}")
    broker.delete_queue()
    yield broker
    broker.delete_queue()


def test_with_redis_url_django_q_uses_the_redis_broker(settings):
    assert settings.Q_CLUSTER["redis"] == os.environ["REDIS_URL"]
    assert "orm" not in settings.Q_CLUSTER and Conf.ORM is None
    assert isinstance(get_broker(), Redis) and get_broker().ping()


@pytest.mark.django_db
def test_outbox_tasks_travel_through_redis_and_a_django_q_worker_sends_them(
    fake_line, broker, monkeypatch, django_capture_on_commit_callbacks
):
    # given a shop connected to (fake) LINE and a send to 700 people, enqueued in a transaction
    shop = ShopFactory()
    ShopLineChannel.objects.create(shop=shop, messaging_access_token=MESSAGING_ACCESS_TOKEN)
    recipients = ["U" + secrets.token_hex(16) for _ in range(700)]
    monkeypatch.setattr("django_q.tasks.get_broker", lambda *a, **k: broker)
    # A cluster's worker is a process of its own and closes its stale connections; here it runs
    # in the test's process, inside the test's transaction, whose connection must stay open.
    monkeypatch.setattr("django_q.worker.close_old_django_connections", lambda: None)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        rows = outbox_enqueue(
            shop_id=shop.pk,
            to=recipients,
            messages=[{"type": "text", "text": "โปรโมชั่นเดือนนี้"}],
            source="broadcast:test",
        )

    # when the tasks come out of Redis and django-q2's worker runs them
    assert broker.queue_size() == len(rows) == 2
    tasks: queue.Queue = queue.Queue()
    while broker.queue_size():
        [(_ack, package)] = broker.dequeue()
        tasks.put(SignedPackage.loads(package))
    tasks.put("STOP")
    results: queue.Queue = queue.Queue()
    worker(tasks, results, multiprocessing.Value("f", -1))

    # then each ran once, and every recipient got the message once
    done = [results.get_nowait() for _ in range(len(rows))]
    assert [(t["success"], t["result"]) for t in done] == [(True, "sent")] * 2
    assert sorted(u for entry in fake_line.messages for u in entry["to"]) == sorted(recipients)
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
