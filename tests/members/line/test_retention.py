"""Webhook event retention: a daily job deletes handled events older than
LINE_WEBHOOK_EVENT_RETENTION_DAYS, in batches, and never an event still waiting for its task."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils.module_loading import import_string

from loyalty.schedules import SCHEDULES
from members.line.models import LineFriend, WebhookEvent
from members.line.retention import webhook_events_purge
from members.line.services import webhook_events_process, webhook_events_store
from tests.factories import ShopFactory
from tests.line_fixtures import NOK, PLOY, SOMCHAI
from tests.members.line import payloads

BANGKOK = dt.timezone(dt.timedelta(hours=7))
DAY0 = dt.datetime(2026, 3, 1, 0, 30, tzinfo=BANGKOK)  # 00:30 Bangkok: the day boundary


def ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def store(shop, *events, process: bool = True) -> list[int]:
    ids = webhook_events_store(shop_id=shop.pk, events=list(events))
    if process:
        webhook_events_process(shop_id=shop.pk, event_ids=ids)
    return ids


def run_scheduled_purge() -> int:
    [job] = [job for job in SCHEDULES if job.name == "purge-line-webhook-events"]
    return import_string(job.func)()


def events_left(shop) -> set[tuple[str, str]]:
    return set(WebhookEvent.objects.filter(shop=shop).values_list("line_user_id", "outcome"))


@pytest.mark.django_db
def test_handled_events_past_the_retention_are_purged_and_waiting_ones_stay(settings):
    # given, on day 0: a processed follow, an unhandled message, a failed one, a waiting one
    settings.LINE_WEBHOOK_EVENT_RETENTION_DAYS = 30
    shop = ShopFactory()
    with time_machine.travel(DAY0, tick=False):
        store(shop, payloads.follow(user_id=SOMCHAI, at_ms=ms(DAY0)))
        store(shop, payloads.text_message(user_id=NOK, at_ms=ms(DAY0)))
        [failed] = store(shop, payloads.unfollow(user_id=PLOY, at_ms=ms(DAY0)))
        WebhookEvent.objects.filter(pk=failed).update(outcome=WebhookEvent.Outcome.FAILED)
        store(shop, payloads.follow(user_id=PLOY, at_ms=ms(DAY0) + 1), process=False)
    # and one processed on day 29
    day29 = DAY0 + dt.timedelta(days=29)
    with time_machine.travel(day29, tick=False):
        store(shop, payloads.unfollow(user_id=SOMCHAI, at_ms=ms(day29)))

    # when the job runs 30 days and a minute after day 0
    with time_machine.travel(DAY0 + dt.timedelta(days=30, minutes=1), tick=False):
        first = run_scheduled_purge()
        again = run_scheduled_purge()

    # then the three handled events of day 0 are gone, the waiting one and day 29's stay
    assert (first, again) == (3, 0)
    assert events_left(shop) == {
        (PLOY, WebhookEvent.Outcome.PENDING),
        (SOMCHAI, WebhookEvent.Outcome.PROCESSED),
    }
    # and what the events did is kept: Somchai's friendship (blocked on day 29)
    assert LineFriend.objects.get(shop=shop, line_user_id=SOMCHAI).state == LineFriend.State.BLOCKED


@pytest.mark.django_db
def test_an_event_just_inside_the_retention_is_kept(settings):
    settings.LINE_WEBHOOK_EVENT_RETENTION_DAYS = 7
    shop = ShopFactory()
    with time_machine.travel(DAY0, tick=False):
        store(shop, payloads.follow(user_id=SOMCHAI, at_ms=ms(DAY0)))
    with time_machine.travel(DAY0 + dt.timedelta(days=7) - dt.timedelta(seconds=1), tick=False):
        assert webhook_events_purge() == 0
    with time_machine.travel(DAY0 + dt.timedelta(days=7, seconds=1), tick=False):
        assert webhook_events_purge() == 1


@pytest.mark.django_db
def test_purge_deletes_in_batches_across_shops(settings):
    settings.LINE_WEBHOOK_EVENT_RETENTION_DAYS = 1
    shops = [ShopFactory(), ShopFactory()]
    with time_machine.travel(DAY0, tick=False):
        for shop in shops:
            store(
                shop,
                *(
                    payloads.follow(user_id=user, at_ms=ms(DAY0) + n)
                    for n, user in enumerate((SOMCHAI, NOK, PLOY))
                ),
            )
    with time_machine.travel(DAY0 + dt.timedelta(days=2), tick=False):
        assert webhook_events_purge(batch_size=2) == 6
    assert not WebhookEvent.objects.exists()
    assert LineFriend.objects.count() == 6
