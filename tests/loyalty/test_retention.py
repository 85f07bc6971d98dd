"""Personal data with a retention period is purged by a scheduled job (PDPA): the jobs exist in
``loyalty.schedules``, run the purge they name, and are safe to run twice."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils.module_loading import import_string

from loyalty.models import IdempotencyRecord
from loyalty.schedules import SCHEDULES
from members.qr import member_code_issue
from members.qr_models import MemberCode
from tests.factories import MemberFactory, ShopFactory

BANGKOK = dt.timezone(dt.timedelta(hours=7))
pytestmark = pytest.mark.django_db


def run_scheduled(name: str):
    [job] = [job for job in SCHEDULES if job.name == name]
    return import_string(job.func)()


def test_member_codes_are_purged_by_a_daily_job():
    member = MemberFactory()
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, 0, tzinfo=BANGKOK), tick=False):
        old = member_code_issue(member=member)
    with time_machine.travel(dt.datetime(2026, 3, 3, 3, 45, tzinfo=BANGKOK), tick=False):
        fresh = member_code_issue(member=member)

        assert run_scheduled("purge-member-codes") == 1
        assert run_scheduled("purge-member-codes") == 0

    assert list(MemberCode.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert old.pk != fresh.pk


def _record(shop, key: str, created_at: dt.datetime) -> IdempotencyRecord:
    return IdempotencyRecord.objects.create(
        shop=shop,
        key=key,
        method="POST",
        path="/api/v1/points/earn",
        request_hash="0" * 64,
        state=IdempotencyRecord.State.DONE,
        response_status=201,
        response_body=b'{"phone": "+66812345678"}',
        created_at=created_at,
    )


def test_api_request_records_are_purged_after_the_retention_setting(settings):
    settings.IDEMPOTENCY_RETENTION_DAYS = 7
    shop = ShopFactory()
    now = dt.datetime(2026, 3, 10, 3, 50, tzinfo=BANGKOK)
    _record(shop, "eight-days", now - dt.timedelta(days=8))
    _record(shop, "just-over", now - dt.timedelta(days=7, minutes=1))
    _record(shop, "six-days", now - dt.timedelta(days=6, hours=23))

    with time_machine.travel(now, tick=False):
        assert run_scheduled("purge-api-requests") == 2
        assert run_scheduled("purge-api-requests") == 0

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["six-days"]


def test_the_retention_is_a_setting(settings):
    settings.IDEMPOTENCY_RETENTION_DAYS = 30
    shop = ShopFactory()
    now = dt.datetime(2026, 3, 10, 3, 50, tzinfo=BANGKOK)
    _record(shop, "eight-days", now - dt.timedelta(days=8))

    with time_machine.travel(now, tick=False):
        assert run_scheduled("purge-api-requests") == 0


def test_purges_delete_in_batches(settings, monkeypatch):
    """A busy API leaves many records: they go in several short deletes, all of them."""
    from loyalty import api_idempotency

    monkeypatch.setattr(api_idempotency, "PURGE_BATCH", 2)
    shop = ShopFactory()
    now = dt.datetime(2026, 3, 10, 3, 50, tzinfo=BANGKOK)
    for n in range(5):
        _record(shop, f"old-{n}", now - dt.timedelta(days=30))

    assert api_idempotency.idempotency_records_purge(now=now) == 5
    assert not IdempotencyRecord.objects.exists()
