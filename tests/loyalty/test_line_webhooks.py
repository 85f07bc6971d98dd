"""The fake LINE platform's webhook sender: signed events, as LINE posts them to the shop.

The receiver here is a bare loopback server on the fakes' shared HTTP core; the body and signature
it receives are checked with the real line-bot-sdk's ``WebhookParser``, which is what a LINE
webhook view in the product will use.
"""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
import requests
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhooks import FollowEvent, MessageEvent, PostbackEvent, UnfollowEvent

from loyalty.fake_http import FakeHTTPServer, Request, Response, json_response, routes
from loyalty.line.fake import (
    follow_event,
    message_event,
    postback_event,
    redelivered,
    send_webhook,
    signature_for,
    unfollow_event,
)
from loyalty.line.fake.webhooks import bot_user_id, webhook_event_id
from tests.line_fixtures import (
    MESSAGING_ACCESS_TOKEN,
    MESSAGING_CHANNEL_ID,
    MESSAGING_CHANNEL_SECRET,
    NOK,
    SOMCHAI,
)

ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


class Receiver(FakeHTTPServer):
    """A shop's webhook URL: keeps what it was sent, answers ``status``, may act before answering."""

    ROUTES = routes(("POST", r"/line/webhook", "_receive"))
    label = "webhook receiver"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Request] = []
        self.status = HTTPStatus.OK
        self.on_receive = None

    def _receive(self, request: Request) -> Response:
        self.received.append(request)
        if self.on_receive is not None:
            self.on_receive(request)
        return json_response(self.status, {})

    @property
    def url(self) -> str:
        return f"{self.base_url}/line/webhook"


@pytest.fixture
def receiver():
    server = Receiver().start()
    try:
        yield server
    finally:
        server.stop()


def test_signed_events_parse_with_the_sdk_under_the_channel_secret(fake_line, receiver):
    # given a follow, a text message, a postback and an unfollow from real test users
    token = fake_line.issue_reply_token(channel_id=MESSAGING_CHANNEL_ID, user_id=SOMCHAI)
    events = [
        follow_event(user_id=SOMCHAI, reply_token=token),
        message_event(user_id=SOMCHAI, text="แต้มเท่าไหร่", reply_token=token),
        postback_event(user_id=NOK, data="action=card", params={"date": "2026-12-03"}),
        unfollow_event(user_id=NOK),
    ]

    # when the fake platform delivers them for the Messaging API channel
    delivery = fake_line.send_webhook(receiver.url, channel_id=MESSAGING_CHANNEL_ID, events=events)

    # then the receiver got one signed POST that the SDK accepts
    assert delivery.status == HTTPStatus.OK
    [request] = receiver.received
    assert request.headers["content-type"].startswith("application/json")
    signature = request.headers["x-line-signature"]
    assert signature == signature_for(request.body, MESSAGING_CHANNEL_SECRET)
    payload = WebhookParser(MESSAGING_CHANNEL_SECRET).parse(
        request.body.decode("utf-8"), signature, as_payload=True
    )
    assert payload.destination == bot_user_id(MESSAGING_CHANNEL_ID)
    follow, message, postback, unfollow = payload.events
    assert isinstance(follow, FollowEvent) and follow.follow.is_unblocked is False
    assert isinstance(message, MessageEvent) and message.message.text == "แต้มเท่าไหร่"
    assert message.reply_token == token and message.source.user_id == SOMCHAI
    assert isinstance(postback, PostbackEvent) and postback.postback.data == "action=card"
    assert isinstance(unfollow, UnfollowEvent) and unfollow.source.user_id == NOK
    for parsed, sent in zip(payload.events, events, strict=True):
        assert parsed.webhook_event_id == sent["webhookEventId"]
        assert ULID.match(parsed.webhook_event_id)
        assert parsed.delivery_context.is_redelivery is False
        assert parsed.mode == "active"


def test_a_redelivery_repeats_the_event_ids_and_says_so(receiver):
    events = [message_event(user_id=SOMCHAI, text="hi")]

    first = send_webhook(
        receiver.url, channel_secret="s3cret", destination=bot_user_id("1"), events=events
    )
    again = send_webhook(
        receiver.url,
        channel_secret="s3cret",
        destination=bot_user_id("1"),
        events=redelivered(events),
    )

    [event_1], [event_2] = first.payload["events"], again.payload["events"]
    assert event_1["webhookEventId"] == event_2["webhookEventId"]
    assert event_1["deliveryContext"] == {"isRedelivery": False}
    assert event_2["deliveryContext"] == {"isRedelivery": True}
    assert events[0]["deliveryContext"] == {"isRedelivery": False}  # the originals are untouched
    assert len(receiver.received) == 2


def test_a_signature_under_another_secret_is_refused_by_the_sdk(receiver):
    delivery = send_webhook(
        receiver.url,
        channel_secret="the-wrong-secret",
        destination=bot_user_id("1"),
        events=[unfollow_event(user_id=SOMCHAI)],
    )

    with pytest.raises(InvalidSignatureError):
        WebhookParser(MESSAGING_CHANNEL_SECRET).parse(
            delivery.body.decode("utf-8"), delivery.signature
        )


def test_the_verify_button_sends_a_signed_empty_event_list(receiver):
    delivery = send_webhook(
        receiver.url, channel_secret="s3cret", destination=bot_user_id("1"), events=[]
    )

    assert delivery.status == HTTPStatus.OK
    assert WebhookParser("s3cret").parse(delivery.body.decode(), delivery.signature) == []


def test_the_receivers_error_or_absence_is_reported_not_raised(receiver, unreachable_line):
    receiver.status = HTTPStatus.INTERNAL_SERVER_ERROR
    failed = send_webhook(receiver.url, channel_secret="s", destination=bot_user_id("1"), events=[])
    gone = send_webhook(
        f"{unreachable_line}/line/webhook",
        channel_secret="s",
        destination=bot_user_id("1"),
        events=[],
        timeout=2,
    )

    assert failed.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert gone.status == 0


def test_the_receiver_can_reply_through_the_fake_before_it_answers(fake_line, receiver):
    # A webhook view replies inside the request; the fake must not hold its lock while it waits.
    token = fake_line.issue_reply_token(channel_id=MESSAGING_CHANNEL_ID, user_id=SOMCHAI)

    def reply(request: Request) -> None:
        answer = requests.post(
            f"{fake_line.base_url}/v2/bot/message/reply",
            json={"replyToken": token, "messages": [{"type": "text", "text": "สวัสดี"}]},
            headers={"Authorization": f"Bearer {MESSAGING_ACCESS_TOKEN}"},
            timeout=5,
        )
        assert answer.status_code == HTTPStatus.OK

    receiver.on_receive = reply
    delivery = fake_line.send_webhook(
        receiver.url,
        channel_id=MESSAGING_CHANNEL_ID,
        events=[follow_event(user_id=SOMCHAI, reply_token=token)],
    )

    assert delivery.status == HTTPStatus.OK
    assert fake_line.texts_to(SOMCHAI) == ["สวัสดี"]


def test_webhook_event_ids_are_ulids_that_sort_by_time():
    earlier, later = webhook_event_id(1_700_000_000_000), webhook_event_id(1_700_000_000_001)

    assert ULID.match(earlier) and ULID.match(later)
    assert earlier[:10] < later[:10]
