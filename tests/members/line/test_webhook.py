"""POST /line/webhook/<shop-slug>/: signature, parsing with the SDK, storing each event once."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from linebot.v3 import WebhookParser
from linebot.v3.webhooks import FollowEvent, MessageEvent, TextMessageContent

from loyalty.line.fake import redelivered, send_webhook
from members.line.models import LineFriend, WebhookEvent
from tests.factories import ShopFactory
from tests.line_fixtures import MESSAGING_CHANNEL_SECRET, NOK, SOMCHAI
from tests.members.line import payloads

pytestmark = pytest.mark.django_db


def now_ms() -> int:
    return int(time.time() * 1000)


def post(client, shop, body: bytes, signature: str | None):
    headers = {} if signature is None else {"HTTP_X_LINE_SIGNATURE": signature}
    return client.post(
        reverse("line-webhook", kwargs={"shop_slug": shop.slug}),
        data=body,
        content_type="application/json; charset=utf-8",
        **headers,
    )


def test_full_payloads_parse_as_typed_events_with_the_sdk():
    # given full follow and text-message payloads, as LINE sends them
    at = now_ms()
    body, signature = payloads.signed(
        [
            payloads.follow(user_id=SOMCHAI, at_ms=at, unblocked=True),
            payloads.text_message(user_id=SOMCHAI, at_ms=at + 1),
        ],
        MESSAGING_CHANNEL_SECRET,
    )
    # when the SDK parses them
    follow, message = WebhookParser(MESSAGING_CHANNEL_SECRET).parse(body.decode(), signature)
    # then neither became an UnknownEvent, and the fields the SDK requires are kept
    assert isinstance(follow, FollowEvent)
    assert follow.follow.is_unblocked is True
    assert isinstance(message, MessageEvent)
    assert isinstance(message.message, TextMessageContent)
    assert message.message.quote_token.startswith("q3Plxr")


def test_signed_events_are_stored_once_each_and_answered_200(client, line_shop):
    events = [
        payloads.follow(user_id=SOMCHAI, at_ms=now_ms()),
        payloads.text_message(user_id=SOMCHAI, at_ms=now_ms() + 5),
    ]
    body, signature = payloads.signed(events, MESSAGING_CHANNEL_SECRET)

    response = post(client, line_shop, body, signature)

    assert response.status_code == 200
    stored = WebhookEvent.objects.filter(shop=line_shop).order_by("timestamp_ms")
    assert [(e.event_type, e.line_user_id, e.webhook_event_id) for e in stored] == [
        ("follow", SOMCHAI, events[0]["webhookEventId"]),
        ("message", SOMCHAI, events[1]["webhookEventId"]),
    ]
    assert stored[1].payload["message"]["quoteToken"] == events[1]["message"]["quoteToken"]
    assert {e.outcome for e in stored} == {WebhookEvent.Outcome.PENDING}


def test_a_redelivery_or_a_replay_stores_nothing_more(client, line_shop):
    events = [payloads.follow(user_id=SOMCHAI, at_ms=now_ms())]
    body, signature = payloads.signed(events, MESSAGING_CHANNEL_SECRET)
    assert post(client, line_shop, body, signature).status_code == 200
    # when LINE redelivers the event, and someone replays the very same request
    again, again_signature = payloads.signed(redelivered(events), MESSAGING_CHANNEL_SECRET)
    assert post(client, line_shop, again, again_signature).status_code == 200
    assert post(client, line_shop, body, signature).status_code == 200
    # then the event is stored once, as first delivered
    assert WebhookEvent.objects.filter(shop=line_shop).count() == 1
    assert WebhookEvent.objects.get().is_redelivery is False


def test_the_same_event_id_in_two_shops_is_two_events(client, line_shop):
    from shops.models import ShopLineChannel

    other = ShopFactory()
    ShopLineChannel.objects.create(
        shop=other, messaging_channel_id="1650000009", messaging_channel_secret="other-secret"
    )
    events = [payloads.follow(user_id=SOMCHAI, at_ms=now_ms())]
    post(client, line_shop, *payloads.signed(events, MESSAGING_CHANNEL_SECRET))
    post(client, other, *payloads.signed(events, "other-secret"))
    assert WebhookEvent.objects.count() == 2


@pytest.mark.parametrize(
    "signature",
    [None, "", "bm90IGEgc2lnbmF0dXJl", "wrong-secret"],
    ids=["missing", "empty", "garbage", "other-secret"],
)
def test_a_bad_or_missing_signature_is_400_and_stores_nothing(client, line_shop, signature):
    body, _ = payloads.signed(
        [payloads.follow(user_id=SOMCHAI, at_ms=now_ms())], MESSAGING_CHANNEL_SECRET
    )
    if signature == "wrong-secret":
        _, signature = payloads.signed([], "wrong-secret")
    response = post(client, line_shop, body, signature)
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert not LineFriend.objects.exists()


def test_a_body_changed_after_signing_is_400(client, line_shop):
    body, signature = payloads.signed(
        [payloads.follow(user_id=SOMCHAI, at_ms=now_ms())], MESSAGING_CHANNEL_SECRET
    )
    tampered = body.replace(SOMCHAI.encode(), NOK.encode())
    assert post(client, line_shop, tampered, signature).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_unknown_shop_or_shop_without_a_messaging_secret_is_400(client, shop, line_shop):
    body, signature = payloads.signed([], MESSAGING_CHANNEL_SECRET)
    no_channel = ShopFactory()
    assert post(client, no_channel, body, signature).status_code == 400
    response = client.post(
        "/line/webhook/no-such-shop/",
        data=body,
        content_type="application/json",
        HTTP_X_LINE_SIGNATURE=signature,
    )
    assert response.status_code == 400


def test_signed_body_that_is_not_lines_json_is_400(client, line_shop):
    from loyalty.line.fake.webhooks import signature_for

    for body in (b"not json", b'{"destination":"U1"}', b'{"events":[1,2]}', b"\xff\xfe"):
        response = post(client, line_shop, body, signature_for(body, MESSAGING_CHANNEL_SECRET))
        assert response.status_code == 400, body
    assert not WebhookEvent.objects.exists()


def test_the_consoles_verify_button_gets_200(client, line_shop):
    body, signature = payloads.signed([], MESSAGING_CHANNEL_SECRET)
    assert post(client, line_shop, body, signature).status_code == 200
    assert not WebhookEvent.objects.exists()


def test_get_is_not_allowed(client, line_shop):
    assert (
        client.get(reverse("line-webhook", kwargs={"shop_slug": line_shop.slug})).status_code == 405
    )


def test_one_task_per_request_with_the_new_ids(
    client, line_shop, django_capture_on_commit_callbacks, monkeypatch
):
    calls = []
    monkeypatch.setattr(
        "django_q.tasks.async_task", lambda func, *args, **kw: calls.append((func, args))
    )
    events = [
        payloads.follow(user_id=SOMCHAI, at_ms=now_ms()),
        payloads.unfollow(user_id=NOK, at_ms=now_ms()),
    ]
    body, signature = payloads.signed(events, MESSAGING_CHANNEL_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, line_shop, body, signature)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, line_shop, body, signature)  # a replay: nothing new, no task
    ids = sorted(WebhookEvent.objects.values_list("pk", flat=True))
    assert len(calls) == 1
    func, (shop_id, event_ids) = calls[0]
    assert func == "members.line.tasks.process_webhook_events"
    assert (shop_id, sorted(event_ids)) == (line_shop.pk, ids)


@pytest.mark.django_db(transaction=True)
def test_the_fake_lines_sender_posts_signed_events_that_are_stored_and_processed(
    live_server, settings
):
    # given a shop whose webhook URL the fake LINE platform posts to, tasks run at once
    from shops.models import ShopLineChannel

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    shop = ShopFactory()
    ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id="1650000002",
        messaging_channel_secret=MESSAGING_CHANNEL_SECRET,
    )
    url = live_server.url + reverse("line-webhook", kwargs={"shop_slug": shop.slug})
    events = [payloads.follow(user_id=SOMCHAI, at_ms=now_ms())]
    # when LINE delivers, then redelivers the follow
    first = send_webhook(
        url, channel_secret=MESSAGING_CHANNEL_SECRET, destination=payloads.BOT, events=events
    )
    again = send_webhook(
        url,
        channel_secret=MESSAGING_CHANNEL_SECRET,
        destination=payloads.BOT,
        events=redelivered(events),
    )
    # then both are answered 200, the event is stored and processed once: Somchai is a friend
    assert (first.status, again.status) == (200, 200)
    assert WebhookEvent.objects.get(shop=shop).outcome == WebhookEvent.Outcome.PROCESSED
    assert LineFriend.objects.get(shop=shop, line_user_id=SOMCHAI).state == LineFriend.State.FRIEND


def test_a_new_channel_secret_works_at_once_though_the_old_one_was_kept(client, line_shop):
    from shops.models import ShopLineChannel

    events = [payloads.follow(user_id=SOMCHAI, at_ms=now_ms())]
    assert (
        post(client, line_shop, *payloads.signed(events, MESSAGING_CHANNEL_SECRET)).status_code
        == 200
    )
    # when the shop saves a new secret (in another worker: this one still keeps the old one)
    channel = ShopLineChannel.objects.get(shop=line_shop)
    channel.messaging_channel_secret = "a-brand-new-secret"
    channel.save()
    again = [payloads.follow(user_id=NOK, at_ms=now_ms())]
    # then events signed with the new secret are taken, and the old secret no longer works
    assert post(client, line_shop, *payloads.signed(again, "a-brand-new-secret")).status_code == 200
    late = [payloads.unfollow(user_id=NOK, at_ms=now_ms())]
    assert (
        post(client, line_shop, *payloads.signed(late, MESSAGING_CHANNEL_SECRET)).status_code == 400
    )
    assert WebhookEvent.objects.count() == 2


def test_unknown_shop_then_created_is_served(client, line_shop):
    from shops.models import ShopLineChannel

    newcomer = ShopFactory()
    body, signature = payloads.signed([], "newcomer-secret")
    assert post(client, newcomer, body, signature).status_code == 400
    ShopLineChannel.objects.create(
        shop=newcomer, messaging_channel_id="1650000010", messaging_channel_secret="newcomer-secret"
    )
    assert post(client, newcomer, body, signature).status_code == 200
