"""Taps at the same moment: postbacks of one tagged area processed at once, each in its own thread
and connection, are all counted (an ``F()`` update) and the member gets each tag once (Django's
m2m add ignores the conflict of a tag another thread just added)."""

from __future__ import annotations

import time

import pytest

from campaigns.richmenus import actiontags
from members.line.services import webhook_events_process, webhook_events_store
from tests.campaigns.richmenus.test_action_tags import bound_member, tag_names, tagged_area
from tests.concurrency import run_concurrently
from tests.line_fixtures import SOMCHAI
from tests.members.line import payloads

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4


def test_taps_at_once_are_all_counted_and_tag_once(fake_line, line_shop):
    member = bound_member(line_shop)
    area = tagged_area(line_shop, action="postback", value="promo=1", tags=["promo", "banner"])
    data = actiontags.postback_data(area)
    at = int(time.time() * 1000)
    events = [payloads.postback(user_id=SOMCHAI, at_ms=at + i, data=data) for i in range(THREADS)]
    ids = webhook_events_store(shop_id=line_shop.pk, events=events)

    results = run_concurrently(
        lambda i: webhook_events_process(shop_id=line_shop.pk, event_ids=[ids[i]]), THREADS
    )

    assert all(r["processed"] == 1 for r in results), results
    area.refresh_from_db()
    assert area.tap_count == THREADS
    assert tag_names(member) == {"promo", "banner"} and member.tags.count() == 2
