"""The outbox: enqueue inside the cause's transaction, send through line-bot-sdk to the fake LINE
platform, exactly once under timeouts, retries and a worker that dies after LINE accepted."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
import time_machine
from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django_q.models import OrmQ

from loyalty.outbox import sender
from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.services import OutboxMessageInvalid, outbox_enqueue, outbox_retry
from loyalty.outbox.tasks import outbox_drain, outbox_send
from shops.models import ShopLineChannel
from tests.factories import ShopFactory
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN, NOK, PLOY, SOMCHAI

State = OutboxMessage.State
HELLO = [{"type": "text", "text": "ได้รับ 40 แต้ม"}]


def line_ids(n: int) -> list[str]:
    return ["U" + secrets.token_hex(16) for _ in range(n)]


@pytest.fixture(autouse=True)
def _fresh_quota_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def shop(db):
    shop = ShopFactory()
    ShopLineChannel.objects.create(shop=shop, messaging_access_token=MESSAGING_ACCESS_TOKEN)
    return shop


def enqueue(shop, to, **kwargs) -> list[OutboxMessage]:
    kwargs.setdefault("source", "test")
    with transaction.atomic():
        return outbox_enqueue(shop_id=shop.pk, to=to, messages=HELLO, **kwargs)


def received(fake_line) -> list[str]:
    """Every recipient of every accepted send, one entry per delivery."""
    return [user for entry in fake_line.messages for user in entry["to"]]


# --- enqueue ------------------------------------------------------------------------------------


def test_one_recipient_is_a_push_and_many_are_multicasts_of_at_most_500(shop):
    [push] = enqueue(shop, [SOMCHAI])
    rows = enqueue(shop, [*line_ids(1200), None, None])

    assert push.kind == OutboxMessage.Kind.PUSH and push.recipients == [SOMCHAI]
    assert [len(r.recipients) for r in rows] == [500, 500, 200]
    assert {r.kind for r in rows} == {OutboxMessage.Kind.MULTICAST}
    assert [r.skipped_count for r in rows] == [2, 0, 0]
    assert len({r.retry_key for r in [push, *rows]}) == 4
    assert all(r.state == State.PENDING for r in rows)


def test_only_blocked_or_unbound_recipients_leave_a_skipped_row_and_no_task(
    shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [row] = enqueue(shop, [None, None, None])

    assert row.state == State.SKIPPED and row.skipped_count == 3 and row.recipients == []
    assert callbacks == []


def test_the_same_recipient_twice_in_one_send_gets_it_once(shop):
    [row] = enqueue(shop, [NOK, PLOY, NOK])

    assert row.recipients == [NOK, PLOY] and row.skipped_count == 1


def test_the_sender_is_scheduled_only_after_the_cause_commits(
    shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rows = enqueue(shop, line_ids(501))

    assert len(callbacks) == 1
    queued = [task.func() for task in OrmQ.objects.all()]
    assert queued == ["loyalty.outbox.tasks.outbox_send"] * len(rows) == [queued[0]] * 2


def test_a_rolled_back_cause_leaves_no_row(shop):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(shop_id=shop.pk, to=[NOK], messages=HELLO, source="test")
        raise RuntimeError

    assert not OutboxMessage.objects.exists()


def test_the_same_cause_enqueues_once(shop):
    first = enqueue(shop, line_ids(600), dedupe_key="points_earned:abc")
    again = enqueue(shop, line_ids(600), dedupe_key="points_earned:abc")

    assert [r.pk for r in again] == [r.pk for r in first]
    assert OutboxMessage.objects.count() == 2


def test_more_than_five_messages_are_refused(shop):
    with pytest.raises(OutboxMessageInvalid):
        outbox_enqueue(shop_id=shop.pk, to=[NOK], messages=HELLO * 6, source="test")


# --- sending ------------------------------------------------------------------------------------


def test_a_push_reaches_the_user_with_its_retry_key_and_lines_request_id(shop, fake_line):
    [row] = enqueue(shop, [SOMCHAI])

    assert outbox_send(row.pk) == State.SENT

    row.refresh_from_db()
    [entry] = fake_line.messages
    assert entry["kind"] == "push" and entry["retry_key"] == str(row.retry_key)
    assert row.request_id == entry["request_id"]
    assert (row.sent_count, row.attempts, row.next_attempt_at) == (1, 1, None)
    assert row.sent_at is not None
    assert fake_line.texts_to(SOMCHAI) == ["ได้รับ 40 แต้ม"]


def test_a_multicast_reaches_every_recipient_once(shop, fake_line):
    recipients = line_ids(1001)
    enqueue(shop, recipients)

    assert outbox_drain() == 3

    assert sorted(received(fake_line)) == sorted(recipients)
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.SENT}
    assert sum(OutboxMessage.objects.values_list("sent_count", flat=True)) == 1001


def test_sending_twice_sends_once(shop, fake_line):
    [row] = enqueue(shop, [NOK])

    outbox_send(row.pk)
    assert outbox_send(row.pk) is None

    assert received(fake_line) == [NOK]


def test_a_timeout_after_line_accepted_is_retried_and_lines_409_counts_as_sent(
    shop, fake_line, settings
):
    # given LINE takes the message but the answer never reaches the sender
    settings.LINE_HTTP_TIMEOUT = 0.3
    fake_line.fail_sends(delay=1.0, accept=True)
    [row] = enqueue(shop, line_ids(3))

    # when the first try times out and the back-off comes due
    assert outbox_send(row.pk) == State.PENDING
    row.refresh_from_db()
    assert row.attempts == 1 and row.next_attempt_at > timezone.now()
    with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1)):
        assert outbox_drain() == 1

    # then LINE answered the retry 409 and nothing went out twice
    row.refresh_from_db()
    [entry] = fake_line.messages
    assert row.state == State.SENT and row.attempts == 2
    assert row.accepted_request_id == entry["request_id"]
    assert sorted(received(fake_line)) == sorted(row.recipients)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_lines_accept_and_its_commit_never_sends_twice(shop, fake_line):
    # given the database refuses the "sent" update once, as if the worker died right there
    recipients = line_ids(4)
    [row] = enqueue(shop, recipients)
    refusals = []

    def die_once(execute, sql, params, many, context):
        marks_sent = sql.startswith('UPDATE "loyalty_outboxmessage"') and State.SENT in (
            params or ()
        )
        if marks_sent and not refusals:
            refusals.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(die_once), pytest.raises(OperationalError):
        outbox_send(row.pk)
    row.refresh_from_db()
    assert row.state == State.SENDING and len(fake_line.messages) == 1

    # when its lease runs out and the drain takes the row over
    with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1)):
        assert outbox_drain() == 1

    # then LINE answered 409 to the same retry key: sent, and each recipient got it once
    row.refresh_from_db()
    assert row.state == State.SENT and row.accepted_request_id
    assert sorted(received(fake_line)) == sorted(recipients)
    keys = {
        r["headers"]["x-line-retry-key"] for r in fake_line.requests if "multicast" in r["path"]
    }
    assert keys == {str(row.retry_key)}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_back_off_and_then_send(shop, fake_line, status):
    fake_line.fail_sends(status=status)
    [row] = enqueue(shop, [NOK, PLOY])

    assert outbox_send(row.pk) == State.PENDING
    row.refresh_from_db()
    assert row.error and row.next_attempt_at > timezone.now() and not fake_line.messages

    assert outbox_drain() == 0  # not due yet
    with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1)):
        assert outbox_drain() == 1
    row.refresh_from_db()
    assert row.state == State.SENT and received(fake_line) == [NOK, PLOY]


def test_a_row_that_keeps_failing_is_given_up_after_the_last_attempt(shop, fake_line, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    fake_line.fail_sends(5, status=500)
    [row] = enqueue(shop, [NOK])

    for _ in range(3):
        row.refresh_from_db()
        with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1)):
            outbox_send(row.pk)

    row.refresh_from_db()
    assert (row.state, row.attempts, row.next_attempt_at) == (State.FAILED, 3, None)
    assert row.error == "Internal Server Error"


def test_line_unreachable_backs_off(shop, unreachable_line):
    [row] = enqueue(shop, [NOK])

    assert outbox_send(row.pk) == State.PENDING
    row.refresh_from_db()
    assert "LINE" in row.error or row.error


def test_a_refused_message_fails_at_once_with_lines_message(shop, fake_line):
    fake_line.fail_sends(status=400, message="The request body has 1 error(s)")
    [row] = enqueue(shop, [NOK])

    assert outbox_send(row.pk) == State.FAILED

    row.refresh_from_db()
    assert row.attempts == 1 and row.error == "The request body has 1 error(s)"
    assert outbox_drain() == 0


def test_a_push_to_someone_line_does_not_know_fails_with_lines_message(shop, fake_line):
    [row] = enqueue(shop, ["U" + "0" * 32])

    assert outbox_send(row.pk) == State.FAILED
    row.refresh_from_db()
    assert row.error == "Failed to send messages"


def test_a_shop_without_a_channel_token_fails_and_says_so(db, fake_line):
    shop = ShopFactory()
    [row] = enqueue(shop, [NOK])

    assert outbox_send(row.pk) == State.FAILED
    row.refresh_from_db()
    assert row.error and not fake_line.messages


# --- quota --------------------------------------------------------------------------------------


def test_a_batch_over_the_monthly_quota_stops_and_sends_nothing(shop, fake_line):
    fake_line.set_quota(1000, used=990)
    [row] = enqueue(shop, line_ids(20))

    assert outbox_send(row.pk) == State.QUOTA

    row.refresh_from_db()
    assert not fake_line.messages
    assert "990" in row.error and "1000" in row.error and "20" in row.error
    assert row.next_attempt_at is None
    assert outbox_drain() == 0


def test_the_quota_is_read_once_a_minute_and_counts_what_was_sent(shop, fake_line):
    fake_line.set_quota(30, used=0)
    first, second = (enqueue(shop, line_ids(20), source=s)[0] for s in ("a", "b"))

    assert outbox_send(first.pk) == State.SENT
    assert outbox_send(second.pk) == State.QUOTA  # 20 used of 30 (cached), 20 more do not fit

    quota_reads = [r for r in fake_line.requests if r["path"] == "/v2/bot/message/quota"]
    assert len(quota_reads) == 1


def test_lines_own_monthly_limit_refusal_stops_the_row_too(shop, fake_line):
    # given the cached quota says there is room, but LINE has counted otherwise
    cache.set(f"outbox:quota:{shop.pk}", sender.line.MessageQuota(limit=None, used=0))
    fake_line.set_quota(1, used=1)
    [row] = enqueue(shop, [NOK])

    assert outbox_send(row.pk) == State.QUOTA
    row.refresh_from_db()
    assert "monthly" in row.error.lower() or "เดือน" in row.error


def test_a_stopped_row_is_retried_by_hand_with_the_same_retry_key(
    shop, fake_line, django_capture_on_commit_callbacks
):
    fake_line.set_quota(5, used=5)
    [row] = enqueue(shop, [NOK, PLOY])
    outbox_send(row.pk)
    fake_line.set_quota(None)
    cache.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_retry(message_ids=[row.pk], shop_id=shop.pk) == 1
    assert outbox_send(row.pk) == State.SENT

    row.refresh_from_db()
    assert fake_line.messages[0]["retry_key"] == str(row.retry_key)
    assert received(fake_line) == [NOK, PLOY]


def test_retry_by_hand_leaves_sent_rows_and_other_shops_alone(shop, fake_line):
    [sent] = enqueue(shop, [NOK])
    outbox_send(sent.pk)
    other = ShopFactory()
    [theirs] = enqueue(other, [PLOY])
    OutboxMessage.objects.filter(pk=theirs.pk).update(state=State.FAILED)

    assert outbox_retry(message_ids=[sent.pk, theirs.pk], shop_id=shop.pk) == 0


# --- rules --------------------------------------------------------------------------------------


def test_back_off_doubles_with_jitter_up_to_the_cap(settings):
    settings.OUTBOX_BACKOFF_SECONDS = 30
    settings.OUTBOX_BACKOFF_MAX_SECONDS = 3600

    assert sender.backoff_delay(1, rand=lambda: 0.0) == dt.timedelta(seconds=15)
    assert sender.backoff_delay(1, rand=lambda: 1.0) == dt.timedelta(seconds=30)
    assert sender.backoff_delay(3, rand=lambda: 1.0) == dt.timedelta(seconds=120)
    assert sender.backoff_delay(20, rand=lambda: 1.0) == dt.timedelta(seconds=3600)


def test_a_message_line_would_refuse_is_refused_when_enqueued(shop):
    with pytest.raises(OutboxMessageInvalid):
        outbox_enqueue(shop_id=shop.pk, to=[NOK], messages=[{"type": "text"}], source="test")
    with pytest.raises(OutboxMessageInvalid):
        outbox_enqueue(shop_id=shop.pk, to=[NOK], messages=[{"type": "nope"}], source="test")


def test_a_row_whose_worker_dies_every_time_is_given_up(shop, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    [row] = enqueue(shop, [NOK])
    OutboxMessage.objects.filter(pk=row.pk).update(
        state=State.SENDING, attempts=2, next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )

    assert outbox_drain() == 0

    row.refresh_from_db()
    assert (row.state, row.next_attempt_at) == (State.FAILED, None) and row.error


def test_the_drain_is_scheduled_every_minute():
    from loyalty.schedules import REPEATING

    [job] = [j for j in REPEATING if j.func == "loyalty.outbox.tasks.outbox_drain"]
    assert job.minutes == 1


def test_a_revoked_channel_token_fails_at_once_with_lines_message(shop, fake_line):
    ShopLineChannel.objects.filter(shop=shop).update(messaging_access_token="revoked-token")
    [row] = enqueue(shop, [NOK, PLOY])

    assert outbox_send(row.pk) == State.FAILED

    row.refresh_from_db()
    assert row.error.startswith("Authentication failed") and not fake_line.messages
