"""The fake LINE chat page: one test user's conversation with the shop's OA (what the OA sent
them, in order, escaped), and the buttons that make the user follow, block or write to the shop
through signed webhook events, which the product's real webhook stores once and applies."""

from __future__ import annotations

import re
import uuid

import pytest
import requests
from django.urls import reverse

from loyalty.fake_http import FakeHTTPServer, Request, Response, json_response, routes
from members.line.models import LineFriend, WebhookEvent
from tests.factories import ShopFactory
from tests.line_fixtures import (
    MESSAGING_ACCESS_TOKEN,
    MESSAGING_CHANNEL_ID,
    MESSAGING_CHANNEL_SECRET,
    NOK,
    PLOY,
    SOMCHAI,
)


def send(fake_line, kind: str, to, *messages) -> None:
    """The shop's bot sends through the fake's Messaging API, as line-bot-sdk would."""
    response = requests.post(
        f"{fake_line.base_url}/v2/bot/message/{kind}",
        json={"to": to, "messages": list(messages)},
        headers={
            "Authorization": f"Bearer {MESSAGING_ACCESS_TOKEN}",
            "X-Line-Retry-Key": str(uuid.uuid4()),
        },
        timeout=5,
    )
    assert response.status_code == 200, response.text


def chat(fake_line, user_id: str) -> str:
    response = requests.get(f"{fake_line.base_url}/__fake__/chat/{user_id}", timeout=5)
    assert response.status_code == 200
    return response.text


def act(fake_line, user_id: str, action: str, text: str = "") -> requests.Response:
    return requests.post(
        f"{fake_line.base_url}/__fake__/chat/{user_id}",
        data={"action": action, "text": text},
        timeout=10,
    )


def text(value: str) -> dict:
    return {"type": "text", "text": value}


def test_the_chat_shows_the_pushes_and_multicasts_to_that_user_in_order(fake_line):
    fake_line.add_channel(MESSAGING_CHANNEL_ID, MESSAGING_CHANNEL_SECRET, name="คาเฟ่อร่อย")
    # given a push to Somchai, a multicast to Somchai and Nok, a push to Nok only, another push
    send(fake_line, "push", SOMCHAI, text("first: welcome"))
    send(fake_line, "multicast", [SOMCHAI, NOK], text("second: promotion"))
    send(fake_line, "push", NOK, text("only for Nok"))
    send(fake_line, "push", SOMCHAI, text("third: you earned 10 points"))

    # when Somchai opens his chat
    page = chat(fake_line, SOMCHAI)

    # then the OA's name is on top and his three messages are there, oldest first, not Nok's
    assert '<b class="oa">คาเฟ่อร่อย</b>' in page
    bubbles = re.findall(r'<div class="bubble text">(.*?)</div>', page)
    assert bubbles == ["first: welcome", "second: promotion", "third: you earned 10 points"]
    assert "only for Nok" not in page
    assert re.findall(r'<div class="bubble text">(.*?)</div>', chat(fake_line, NOK)) == [
        "second: promotion",
        "only for Nok",
    ]
    # and each has its time, Bangkok's "d/m HH:MM"
    assert len(re.findall(r"<time>\d{1,2}/\d{1,2} \d\d:\d\d</time>", page)) == 3


def test_links_cards_images_and_other_messages_are_drawn_as_in_line(fake_line):
    send(
        fake_line,
        "push",
        PLOY,
        text("Your card: http://127.0.0.1:8000/m/cafe-aroi/card/ ok"),
        {
            "type": "template",
            "altText": "A reward",
            "template": {
                "type": "buttons",
                "title": "Free americano",
                "text": "Redeem for 100 points",
                "thumbnailImageUrl": "https://example.com/coffee.png",
                "actions": [
                    {"type": "uri", "label": "Open", "uri": "http://127.0.0.1:8000/m/cafe-aroi/"},
                    {"type": "postback", "label": "Later", "data": "later"},
                ],
            },
        },
        {
            "type": "image",
            "originalContentUrl": "https://example.com/big.png",
            "previewImageUrl": "https://example.com/small.png",
        },
        {
            "type": "flex",
            "altText": "Your points this month",
            "contents": {
                "type": "bubble",
                "body": {
                    "type": "box",
                    "layout": "vertical",
                    "contents": [{"type": "text", "text": "Your points this month"}],
                },
            },
        },
        {
            "type": "video",
            "originalContentUrl": "https://example.com/v.mp4",
            "previewImageUrl": "https://example.com/v.png",
        },
    )

    page = chat(fake_line, PLOY)

    assert (
        '<a href="http://127.0.0.1:8000/m/cafe-aroi/card/" target="_blank" rel="noopener">' in page
    )
    assert "<b>Free americano</b>" in page
    assert '<a class="btn" href="http://127.0.0.1:8000/m/cafe-aroi/"' in page
    assert '<span class="btn">Later</span>' in page
    assert '<img src="https://example.com/small.png" alt="">' in page
    assert "Your points this month</p>" in page  # a flex bubble is drawn as a card
    assert '<div class="bubble other">[video]</div>' in page


def test_names_and_texts_are_escaped_and_only_http_links_become_links(fake_line):
    # given a user whose display name is a script, sent a script and a javascript: button
    evil = fake_line.add_user(display_name="<script>alert('name')</script>")
    send(
        fake_line,
        "push",
        evil.user_id,
        text("<script>alert('text')</script> <img src=x onerror=alert(1)>"),
        {
            "type": "template",
            "altText": "x",
            "template": {
                "type": "buttons",
                "text": "<b>bold?</b>",
                "actions": [{"type": "uri", "label": "Go", "uri": "javascript:alert(1)"}],
            },
        },
    )

    page = chat(fake_line, evil.user_id)
    index = requests.get(fake_line.base_url + "/", timeout=5).text

    # then every one of them is text, and the javascript: URI is no link
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#x27;text&#x27;)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "&lt;b&gt;bold?&lt;/b&gt;" in page
    assert "javascript:" not in page
    assert "<script>alert" not in index


def test_the_index_links_each_test_user_to_their_chat(fake_line):
    index = requests.get(fake_line.base_url + "/", timeout=5).text
    for user_id in (SOMCHAI, NOK, PLOY):
        assert f'href="/__fake__/chat/{user_id}"' in index


def test_an_unknown_user_has_no_chat(fake_line):
    response = requests.get(f"{fake_line.base_url}/__fake__/chat/U{'0' * 32}", timeout=5)
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_follow_block_and_message_buttons_reach_the_shops_webhook_once_and_apply(
    fake_line, live_server, settings
):
    # given a shop whose Messaging API channel is the fake's, its webhook URL known to the fake
    from members.line.selectors import webhook_channels_forget
    from shops.models import ShopLineChannel

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    webhook_channels_forget()
    shop = ShopFactory()
    ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        messaging_channel_secret=MESSAGING_CHANNEL_SECRET,
    )
    url = live_server.url + reverse("line-webhook", kwargs={"shop_slug": shop.slug})
    fake_line.add_channel(MESSAGING_CHANNEL_ID, MESSAGING_CHANNEL_SECRET, webhook_url=url)

    def friend() -> LineFriend:
        return LineFriend.objects.get(shop=shop, line_user_id=NOK)

    # when Nok taps "add friend"
    assert act(fake_line, NOK, "follow").status_code == 200  # redirected back to the chat
    # then the shop has her as a friend
    assert friend().state == LineFriend.State.FRIEND

    # when she blocks the account
    act(fake_line, NOK, "unfollow")
    assert friend().state == LineFriend.State.BLOCKED

    # when she adds it again (an unblock) and writes to the shop
    act(fake_line, NOK, "follow")
    act(fake_line, NOK, "message", "สวัสดีค่ะ <b>hi</b>")
    assert friend().state == LineFriend.State.FRIEND

    # then each action is one stored, handled event, signed with the channel secret
    stored = list(WebhookEvent.objects.filter(shop=shop).order_by("timestamp_ms"))
    assert [e.event_type for e in stored] == ["follow", "unfollow", "follow", "message"]
    assert stored[2].payload["follow"] == {"isUnblocked": True}
    assert stored[3].payload["message"]["text"] == "สวัสดีค่ะ <b>hi</b>"
    assert all(e.outcome != WebhookEvent.Outcome.PENDING for e in stored)
    assert [(e["action"], e["status"]) for e in fake_line.user_events] == [
        ("follow", 200),
        ("unfollow", 200),
        ("follow", 200),
        ("message", 200),
    ]
    # and the chat shows her message (escaped) and the shop's answers
    page = chat(fake_line, NOK)
    assert '<div class="bubble text">สวัสดีค่ะ &lt;b&gt;hi&lt;/b&gt;</div>' in page
    assert page.count("data-status='200'") == 4


def test_without_a_webhook_url_an_action_is_shown_as_not_delivered(fake_line):
    act(fake_line, SOMCHAI, "message", "hello?")
    assert fake_line.user_events[-1]["status"] == 0
    page = chat(fake_line, SOMCHAI)
    assert "This channel has no webhook URL" in page
    assert "data-status='0'" in page


def test_a_webhook_that_refuses_is_shown_with_its_status(fake_line, live_server, db):
    # the fake has the wrong secret for this shop: the product answers 400 and stores nothing
    shop = ShopFactory()
    url = live_server.url + reverse("line-webhook", kwargs={"shop_slug": shop.slug})
    fake_line.add_channel(MESSAGING_CHANNEL_ID, "not-the-shops-secret", webhook_url=url)
    act(fake_line, SOMCHAI, "follow")
    assert fake_line.user_events[-1]["status"] == 400
    assert "webhook 400" in chat(fake_line, SOMCHAI)


class ReplyingShop(FakeHTTPServer):
    """A shop's webhook that answers each message with a reply through the fake, before it
    answers LINE: the chat's post must not hold the fake's lock while it waits."""

    ROUTES = routes(("POST", r"/line/webhook", "_receive"))
    label = "replying shop"

    def __init__(self, line_base_url: str) -> None:
        super().__init__()
        self.line_base_url = line_base_url

    def _receive(self, request: Request) -> Response:
        for event in request.json()["events"]:
            if event["type"] == "message":
                reply = requests.post(
                    f"{self.line_base_url}/v2/bot/message/reply",
                    json={
                        "replyToken": event["replyToken"],
                        "messages": [text("ได้รับข้อความแล้วค่ะ / got it")],
                    },
                    headers={"Authorization": f"Bearer {MESSAGING_ACCESS_TOKEN}"},
                    timeout=5,
                )
                assert reply.status_code == 200, reply.text
        return json_response(200, {})


def test_a_reply_sent_while_the_webhook_runs_arrives_after_the_users_message(fake_line):
    with ReplyingShop(fake_line.base_url) as shop:
        fake_line.add_channel(
            MESSAGING_CHANNEL_ID,
            MESSAGING_CHANNEL_SECRET,
            webhook_url=f"{shop.base_url}/line/webhook",
        )
        act(fake_line, PLOY, "message", "เปิดกี่โมงคะ")

    assert fake_line.user_events[-1]["status"] == 200
    page = chat(fake_line, PLOY)
    assert re.findall(r'<div class="bubble text">(.*?)</div>', page) == [
        "เปิดกี่โมงคะ",
        "ได้รับข้อความแล้วค่ะ / got it",
    ]
