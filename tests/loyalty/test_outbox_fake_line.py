"""The fake LINE platform's side of the outbox, through line-bot-sdk: the monthly quota and its
consumption, a multicast's retry-key replay, and the faults tests ask it for."""

from __future__ import annotations

import json
import uuid

import pytest
from linebot.v3.messaging import ApiException, MulticastRequest, TextMessage

from loyalty.line import LineUnavailable
from loyalty.line import messaging as line
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN, NOK, PLOY

HELLO = [{"type": "text", "text": "สวัสดี"}]


def multicast(retry_key: str | None = None, to=(NOK, PLOY)) -> line.SendResult:
    return line.multicast_messages(
        channel_access_token=MESSAGING_ACCESS_TOKEN,
        to=list(to),
        messages=HELLO,
        retry_key=retry_key or str(uuid.uuid4()),
    )


def test_the_quota_is_unlimited_until_a_target_is_set_and_counts_recipients(fake_line):
    assert line.message_quota(channel_access_token=MESSAGING_ACCESS_TOKEN) == line.MessageQuota(
        limit=None, used=0
    )

    fake_line.set_quota(1000)
    multicast()
    line.push_messages(
        channel_access_token=MESSAGING_ACCESS_TOKEN,
        to=NOK,
        messages=HELLO,
        retry_key=str(uuid.uuid4()),
    )

    quota = line.message_quota(channel_access_token=MESSAGING_ACCESS_TOKEN)
    assert (quota.limit, quota.used, quota.remaining) == (1000, 3, 997)


def test_a_send_over_the_monthly_limit_is_refused_as_line_refuses_it(fake_line):
    fake_line.set_quota(1, used=0)

    with pytest.raises(ApiException) as refused:
        multicast()

    assert refused.value.status == 429
    assert json.loads(refused.value.body) == {"message": "You have reached your monthly limit."}
    assert not fake_line.messages


def test_a_replayed_multicast_retry_key_is_answered_409_with_the_accepted_request_id(fake_line):
    key = str(uuid.uuid4())

    first = multicast(key)
    again = multicast(key)

    assert not first.already_accepted and first.request_id == fake_line.messages[0]["request_id"]
    assert again.already_accepted and again.accepted_request_id == first.request_id
    assert len(fake_line.messages) == 1


def test_a_retry_key_that_is_not_a_uuid_is_refused(fake_line):
    api = line.messaging_api(channel_access_token=MESSAGING_ACCESS_TOKEN)

    with pytest.raises(ApiException) as refused:
        api.multicast(
            MulticastRequest(to=[NOK], messages=[TextMessage(text="x")]), x_line_retry_key="nope"
        )

    assert refused.value.status == 400


@pytest.mark.parametrize("status", [429, 500, 400])
def test_faults_answer_the_next_sends_then_stop(fake_line, status):
    fake_line.fail_sends(2, status=status)

    for _ in range(2):
        with pytest.raises(ApiException) as refused:
            multicast()
        assert refused.value.status == status
    multicast()

    assert len(fake_line.messages) == 1


def test_a_stall_before_accepting_times_out_and_sends_nothing(fake_line, settings):
    settings.LINE_HTTP_TIMEOUT = 0.2
    fake_line.fail_sends(delay=0.6)

    with pytest.raises(LineUnavailable):
        multicast()

    assert not fake_line.messages


def test_a_stall_after_accepting_times_out_but_the_message_went_out(fake_line, settings):
    settings.LINE_HTTP_TIMEOUT = 0.2
    fake_line.fail_sends(delay=0.6, accept=True)
    key = str(uuid.uuid4())

    with pytest.raises(LineUnavailable):
        multicast(key)

    assert len(fake_line.messages) == 1
    assert multicast(key).already_accepted
