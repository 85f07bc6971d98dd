"""Keyword replies and the greeting through the webhook processing and the fake LINE platform:
the reply arrives with the event's reply token, bound and unbound friends get their own text,
rules apply in order and in their time window, and a refused token sends nothing."""

from __future__ import annotations

import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from campaigns.autoreplies.models import Greeting, KeywordRule, TypedKeyword
from members.line.models import LineFriend, WebhookEvent
from members.line.services import webhook_events_process, webhook_events_store
from tests.factories import MemberFactory
from tests.line_fixtures import MESSAGING_CHANNEL_ID, MESSAGING_CHANNEL_SECRET, NOK, SOMCHAI
from tests.members.line import payloads

pytestmark = pytest.mark.django_db

BKK = ZoneInfo("Asia/Bangkok")


def now_ms() -> int:
    return int(time.time() * 1000)


def say(fake_line, shop, text, user_id=SOMCHAI, *, token=True):
    """The user types ``text``; the event is stored and processed as the webhook task does."""
    event = payloads.text_message(user_id=user_id, at_ms=now_ms(), text=text)
    if token:
        event["replyToken"] = fake_line.issue_reply_token(
            channel_id=MESSAGING_CHANNEL_ID, user_id=user_id
        )
    ids = webhook_events_store(shop_id=shop.pk, events=[event])
    webhook_events_process(shop_id=shop.pk, event_ids=ids)
    return WebhookEvent.objects.get(pk=ids[0])


def rule(shop, **kw):
    defaults = {"name": "menu", "keywords": "เมนู", "reply_bound": "b", "reply_unbound": "u"}
    return KeywordRule.objects.create(shop=shop, **{**defaults, **kw})


def bound_member(shop, user_id=SOMCHAI, **kw):
    return MemberFactory(shop=shop, line_user_id=user_id, bound_at=timezone.now(), **kw)


def test_a_matching_text_gets_the_unbound_reply_and_is_counted(fake_line, line_shop):
    menu = rule(line_shop, match="contains", reply_unbound="ดูเมนูได้ที่หน้าร้าน {name}")
    stored = say(fake_line, line_shop, "ขอดู เม\u200bนู หน่อย")
    assert fake_line.texts_to(SOMCHAI) == ["ดูเมนูได้ที่หน้าร้าน ลูกค้า"]
    assert stored.outcome == WebhookEvent.Outcome.PROCESSED
    menu.refresh_from_db()
    assert menu.sent_count == 1 and menu.last_sent_at is not None
    typed = TypedKeyword.objects.get(shop=line_shop)
    assert (typed.text, typed.count, typed.rule) == ("ขอดูเมนูหน่อย", 1, menu)


def test_a_bound_member_gets_the_member_reply_with_placeholders(fake_line, line_shop):
    bound_member(line_shop, first_name="Nok", balance=1250)
    rule(line_shop, reply_bound="{name} มี {balance} พอยท์", reply_unbound="สมัครสมาชิก")
    say(fake_line, line_shop, "เมนู")
    assert fake_line.texts_to(SOMCHAI) == ["Nok มี 1,250 พอยท์"]


def test_an_empty_reply_for_the_audience_sends_nothing(fake_line, line_shop):
    menu = rule(line_shop, reply_unbound="")
    stored = say(fake_line, line_shop, "เมนู")
    assert fake_line.texts_to(SOMCHAI) == []
    assert stored.outcome == WebhookEvent.Outcome.PROCESSED
    menu.refresh_from_db()
    assert menu.sent_count == 0


def test_the_first_rule_in_order_answers_and_inactive_rules_do_not(fake_line, line_shop):
    rule(line_shop, name="off", position=0, active=False, reply_unbound="off")
    rule(line_shop, name="second", position=2, match="contains", reply_unbound="second")
    rule(line_shop, name="first", position=1, match="starts_with", reply_unbound="first")
    say(fake_line, line_shop, "เมนูวันนี้")
    assert fake_line.texts_to(SOMCHAI) == ["first"]


def test_the_default_rule_answers_only_what_no_rule_matched(fake_line, line_shop):
    rule(line_shop, name="default", position=0, is_default=True, keywords="", reply_unbound="?")
    rule(line_shop, position=5, reply_unbound="menu")
    say(fake_line, line_shop, "เมนู")
    say(fake_line, line_shop, "สวัสดี")
    assert fake_line.texts_to(SOMCHAI) == ["menu", "?"]


def test_an_unmatched_text_is_counted_and_left_to_other_handlers(fake_line, line_shop):
    rule(line_shop)
    stored = say(fake_line, line_shop, "สวัสดี")
    say(fake_line, line_shop, "สวัส ดี")
    assert stored.outcome == WebhookEvent.Outcome.UNHANDLED
    typed = TypedKeyword.objects.get(shop=line_shop)
    assert (typed.text, typed.count, typed.rule) == ("สวัสดี", 2, None)
    assert fake_line.texts_to(SOMCHAI) == []


@pytest.mark.parametrize(
    ("at", "answered"),
    [
        (dt.datetime(2026, 12, 3, 21, 30, tzinfo=BKK), True),
        (dt.datetime(2026, 12, 4, 5, 59, tzinfo=BKK), True),
        (dt.datetime(2026, 12, 4, 6, 0, tzinfo=BKK), False),
        (dt.datetime(2026, 12, 3, 12, 0, tzinfo=BKK), False),
        (dt.datetime(2027, 1, 1, 23, 0, tzinfo=BKK), False),  # after the date range
    ],
)
def test_a_rule_answers_only_in_its_window_in_bangkok_time(fake_line, line_shop, at, answered):
    rule(
        line_shop,
        reply_unbound="ร้านปิดแล้ว",
        start_time=dt.time(21, 0),
        end_time=dt.time(6, 0),
        start_date=dt.date(2026, 12, 1),
        end_date=dt.date(2026, 12, 31),
    )
    with time_machine.travel(at, tick=False):
        say(fake_line, line_shop, "เมนู")
    assert fake_line.texts_to(SOMCHAI) == (["ร้านปิดแล้ว"] if answered else [])


def test_an_invalid_reply_token_sends_nothing_and_the_event_is_processed(
    fake_line, line_shop, caplog
):
    menu = rule(line_shop)
    with caplog.at_level(logging.WARNING, logger="campaigns.autoreplies.services"):
        stored = say(fake_line, line_shop, "เมนู", token=False)  # the payload's token is unknown
    assert fake_line.texts_to(SOMCHAI) == []
    assert stored.outcome == WebhookEvent.Outcome.PROCESSED
    assert "Invalid reply token" in caplog.text
    menu.refresh_from_db()
    assert menu.sent_count == 0


def test_a_used_reply_token_is_not_used_twice(fake_line, line_shop):
    rule(line_shop)
    token = fake_line.issue_reply_token(channel_id=MESSAGING_CHANNEL_ID, user_id=SOMCHAI)
    events = [
        {
            **payloads.text_message(user_id=SOMCHAI, at_ms=now_ms() + i, text="เมนู"),
            "replyToken": token,
        }
        for i in range(2)
    ]
    ids = webhook_events_store(shop_id=line_shop.pk, events=events)
    webhook_events_process(shop_id=line_shop.pk, event_ids=ids)
    assert fake_line.texts_to(SOMCHAI) == ["u"]
    assert KeywordRule.objects.get().sent_count == 1


def test_rules_of_another_shop_never_answer(fake_line, line_shop, other_shop):
    rule(other_shop, reply_unbound="other shop")
    say(fake_line, line_shop, "เมนู")
    assert fake_line.texts_to(SOMCHAI) == []
    assert not TypedKeyword.objects.filter(shop=other_shop).exists()


def test_points_keyword_answers_a_member_with_balance(fake_line, line_shop):
    bound_member(line_shop, first_name="Nok", balance=300)
    say(fake_line, line_shop, "พอยท์")
    [reply] = fake_line.texts_to(SOMCHAI)
    assert "300" in reply and "/shop-a/card/" in reply


def test_points_keyword_answers_a_stranger_with_the_sign_up_link(fake_line, line_shop):
    say(fake_line, line_shop, "points", user_id=NOK)
    [reply] = fake_line.texts_to(NOK)
    assert "/shop-a/signup/" in reply


def test_points_keyword_switched_off_is_left_to_the_rules(fake_line, line_shop):
    Greeting.objects.create(shop=line_shop, points_keyword=False)
    rule(line_shop, keywords="พอยท์", reply_unbound="rule")
    say(fake_line, line_shop, "พ อ ย ท์")
    assert fake_line.texts_to(SOMCHAI) == ["rule"]


def follow(fake_line, shop, user_id=SOMCHAI, *, unblocked=False):
    event = payloads.follow(user_id=user_id, at_ms=now_ms(), unblocked=unblocked)
    event["replyToken"] = fake_line.issue_reply_token(
        channel_id=MESSAGING_CHANNEL_ID, user_id=user_id
    )
    ids = webhook_events_store(shop_id=shop.pk, events=[event])
    webhook_events_process(shop_id=shop.pk, event_ids=ids)


@pytest.mark.parametrize(
    ("unblocked", "bound", "text", "link"),
    [
        (False, False, "new stranger", "/shop-a/signup/"),
        (False, True, "new member", "/shop-a/card/"),
        (True, False, "back stranger", "/shop-a/signup/"),
        (True, True, "back member", "/shop-a/card/"),
    ],
)
def test_the_greeting_for_each_case(fake_line, line_shop, unblocked, bound, text, link):
    Greeting.objects.create(
        shop=line_shop,
        new_unbound="new stranger",
        new_bound="new member",
        returning_unbound="back stranger",
        returning_bound="back member",
    )
    if bound:
        bound_member(line_shop)
    follow(fake_line, line_shop, unblocked=unblocked)
    [reply] = fake_line.texts_to(SOMCHAI)
    assert reply.startswith(text + "\n") and link in reply
    assert LineFriend.objects.get(shop=line_shop).state == LineFriend.State.FRIEND


def test_no_greeting_set_sends_nothing_and_the_friend_is_kept(fake_line, line_shop):
    follow(fake_line, line_shop)
    assert fake_line.texts_to(SOMCHAI) == []
    assert LineFriend.objects.filter(shop=line_shop, state=LineFriend.State.FRIEND).exists()


def test_end_to_end_a_signed_webhook_gets_its_reply_in_the_chat(
    client, fake_line, line_shop, settings, django_capture_on_commit_callbacks
):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    bound_member(line_shop, first_name="Nok", balance=80)
    Greeting.objects.create(shop=line_shop, new_bound="สวัสดีคุณ{name}")
    rule(line_shop, match="contains", reply_bound="คุณ{name} มี {balance} พอยท์")
    events = []
    for n, event in enumerate(
        [
            payloads.follow(user_id=SOMCHAI, at_ms=now_ms()),
            payloads.text_message(user_id=SOMCHAI, at_ms=now_ms() + 1, text="ขอ เมนู ๑ ที่"),
        ]
    ):
        event["webhookEventId"] = f"01JE2E{n:020d}"
        event["replyToken"] = fake_line.issue_reply_token(
            channel_id=MESSAGING_CHANNEL_ID, user_id=SOMCHAI
        )
        events.append(event)
    body, signature = payloads.signed(events, MESSAGING_CHANNEL_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("line-webhook", kwargs={"shop_slug": line_shop.slug}),
            data=body,
            content_type="application/json",
            HTTP_X_LINE_SIGNATURE=signature,
        )
    assert response.status_code == 200
    greeting, answer = fake_line.texts_to(SOMCHAI)
    assert greeting.startswith("สวัสดีคุณNok\n") and "/shop-a/card/" in greeting
    assert answer == "คุณNok มี 80 พอยท์"
    assert [m["kind"] for m in fake_line.messages] == ["reply", "reply"]


def test_link_keyword_starts_the_account_link_for_a_stranger(fake_line, line_shop):
    from loyalty.outbox.models import OutboxMessage

    say(fake_line, line_shop, "ผูก บัญชี")
    [reply] = fake_line.texts_to(SOMCHAI)
    assert "ปุ่ม" in reply
    [queued] = OutboxMessage.objects.filter(shop=line_shop, source="account_link")
    assert SOMCHAI in queued.recipients and "linkToken=" in str(queued.messages)


def test_link_keyword_shows_a_bound_member_their_card(fake_line, line_shop):
    from loyalty.outbox.models import OutboxMessage

    bound_member(line_shop)
    say(fake_line, line_shop, "link")
    [reply] = fake_line.texts_to(SOMCHAI)
    assert "/shop-a/card/" in reply
    assert not OutboxMessage.objects.filter(source="account_link").exists()


def test_link_keyword_switched_off_says_nothing(fake_line, line_shop):
    Greeting.objects.create(shop=line_shop, link_keyword=False)
    stored = say(fake_line, line_shop, "link")
    assert fake_line.texts_to(SOMCHAI) == []
    assert stored.outcome == WebhookEvent.Outcome.UNHANDLED


def test_an_old_follow_arriving_after_a_block_is_not_greeted(fake_line, line_shop):
    Greeting.objects.create(shop=line_shop, new_unbound="hello")
    ids = webhook_events_store(
        shop_id=line_shop.pk, events=[payloads.unfollow(user_id=SOMCHAI, at_ms=now_ms() + 5000)]
    )
    webhook_events_process(shop_id=line_shop.pk, event_ids=ids)
    follow(fake_line, line_shop)
    assert fake_line.texts_to(SOMCHAI) == []


def test_link_keyword_from_a_user_line_refuses_sends_nothing_and_is_processed(
    fake_line, line_shop, caplog
):
    stranger = "U" + "0" * 32  # not a user of the fake platform: LINE refuses a link token
    with caplog.at_level(logging.WARNING, logger="campaigns.autoreplies.services"):
        stored = say(fake_line, line_shop, "link", user_id=stranger)
    assert stored.outcome == WebhookEvent.Outcome.PROCESSED
    assert fake_line.texts_to(stranger) == []
    assert "no account link" in caplog.text
