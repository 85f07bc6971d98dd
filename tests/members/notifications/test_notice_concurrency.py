"""Concurrent earns for one member with a LINE account: each earn queues exactly one notice (and a
replayed key none), every notice reaches the fake LINE chat once, and the ledger's invariants hold.

Runs on PostgreSQL (row locks) and on SQLite, where IMMEDIATE transactions serialise the writers."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from loyalty.outbox.models import OutboxMessage
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.models import LedgerEntry
from tests.concurrency import run_concurrently
from tests.members.conftest import assert_invariants
from tests.members.notifications.conftest import NOK, send_outbox

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_earns_each_queue_one_notice_and_the_ledger_holds(nshop, nok, fake_line):
    nshop.tiers_enabled = False
    nshop.save()
    n = 16 if connection.vendor == "postgresql" else 6
    keys = [str(uuid.uuid4()) for _ in range(n // 2)]

    # half of the threads replay the other half's keys: one entry, one notice per key
    results = run_concurrently(
        lambda i: ledger.points_earn(
            shop=nshop,
            amount="250",
            idempotency_key=keys[i % len(keys)],
            actor=Actor.system(channel="store"),
            member=nok,
        ),
        n,
    )

    assert not [r for r in results if isinstance(r, BaseException)], results
    entries = LedgerEntry.objects.filter(member=nok)
    assert entries.count() == len(keys)
    rows = OutboxMessage.objects.filter(shop=nshop)
    assert sorted(r.dedupe_key for r in rows) == sorted(f"notify:earned:{e.pk}" for e in entries)
    assert send_outbox() == len(keys)
    assert len(fake_line.texts_to(NOK)) == len(keys)
    assert_invariants(nshop.pk)
