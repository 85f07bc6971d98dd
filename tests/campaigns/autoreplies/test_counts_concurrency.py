"""Counts under concurrency: replies to one rule and one new typed text processed at once, each in
its own thread and connection, are all counted (``F()`` updates, an insert that ignores the
conflict for the first sighting of a text)."""

from __future__ import annotations

import time

import pytest

from campaigns.autoreplies.models import KeywordRule, TypedKeyword
from members.line.services import webhook_events_process, webhook_events_store
from tests.concurrency import run_concurrently
from tests.line_fixtures import MESSAGING_CHANNEL_ID, NOK, SOMCHAI
from tests.members.line import payloads

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4


def test_replies_processed_at_once_are_all_counted(fake_line, line_shop):
    menu = KeywordRule.objects.create(
        shop=line_shop, name="menu", keywords="เมนู", reply_unbound="ดูเมนู"
    )
    users = [SOMCHAI, NOK, SOMCHAI, NOK]
    at = int(time.time() * 1000)
    events = []
    for i, user in enumerate(users):
        event = payloads.text_message(user_id=user, at_ms=at + i, text="เม นู")
        event["replyToken"] = fake_line.issue_reply_token(
            channel_id=MESSAGING_CHANNEL_ID, user_id=user
        )
        events.append(event)
    ids = webhook_events_store(shop_id=line_shop.pk, events=events)

    results = run_concurrently(
        lambda i: webhook_events_process(shop_id=line_shop.pk, event_ids=[ids[i]]), THREADS
    )

    assert all(r["processed"] == 1 for r in results), results
    menu.refresh_from_db()
    assert menu.sent_count == THREADS
    assert TypedKeyword.objects.get(shop=line_shop, text="เมนู").count == THREADS
    assert len(fake_line.texts_to(SOMCHAI)) + len(fake_line.texts_to(NOK)) == THREADS
