"""Processing stored webhook events: friends by follow/unfollow in LINE's time order, member
binding, the router for postbacks and messages, unknown events marked and never raised."""

from __future__ import annotations

import logging
import time

import pytest
from django.urls import reverse
from linebot.v3.webhooks import MessageEvent, PostbackEvent

from members.line import router
from members.line.models import LineFriend, WebhookEvent
from members.line.services import webhook_events_process, webhook_events_store
from tests.factories import MemberFactory
from tests.line_fixtures import MESSAGING_CHANNEL_SECRET, NOK, SOMCHAI
from tests.members.line import payloads

pytestmark = pytest.mark.django_db

T0 = int(time.time() * 1000)


def deliver(shop, *events):
    """Store and process the events as one webhook request would (the task run inline)."""
    ids = webhook_events_store(shop_id=shop.pk, events=list(events))
    return webhook_events_process(shop_id=shop.pk, event_ids=ids)


def friend(shop, user_id=SOMCHAI) -> LineFriend:
    return LineFriend.objects.get(shop=shop, line_user_id=user_id)


def test_a_follow_makes_a_friend_and_an_unfollow_blocks(line_shop):
    deliver(line_shop, payloads.follow(user_id=SOMCHAI, at_ms=T0))
    assert friend(line_shop).state == LineFriend.State.FRIEND
    assert friend(line_shop).followed_at is not None

    deliver(line_shop, payloads.unfollow(user_id=SOMCHAI, at_ms=T0 + 1000))
    blocked = friend(line_shop)
    assert blocked.state == LineFriend.State.BLOCKED
    assert blocked.unfollowed_at > blocked.followed_at

    deliver(line_shop, payloads.follow(user_id=SOMCHAI, at_ms=T0 + 2000, unblocked=True))
    assert friend(line_shop).state == LineFriend.State.FRIEND
    assert LineFriend.objects.count() == 1


def test_an_old_follow_arriving_after_a_newer_unfollow_does_not_unblock(line_shop):
    # given the user blocked the account at T0+5s
    deliver(line_shop, payloads.unfollow(user_id=SOMCHAI, at_ms=T0 + 5000))
    # when the follow from T0 arrives late (a redelivery after an outage)
    deliver(line_shop, payloads.follow(user_id=SOMCHAI, at_ms=T0))
    # then the user is still blocked
    assert friend(line_shop).state == LineFriend.State.BLOCKED


def test_events_of_one_request_apply_in_timestamp_order_not_list_order(line_shop):
    counts = deliver(
        line_shop,
        payloads.follow(user_id=SOMCHAI, at_ms=T0 + 3000),
        payloads.unfollow(user_id=SOMCHAI, at_ms=T0 + 1000),
    )
    assert counts["processed"] == 2
    assert friend(line_shop).state == LineFriend.State.FRIEND


def test_processing_twice_changes_nothing(line_shop):
    ids = webhook_events_store(
        shop_id=line_shop.pk,
        events=[
            payloads.follow(user_id=SOMCHAI, at_ms=T0),
            payloads.unfollow(user_id=SOMCHAI, at_ms=T0 + 1),
        ],
    )
    first = webhook_events_process(shop_id=line_shop.pk, event_ids=ids)
    before = friend(line_shop)
    second = webhook_events_process(shop_id=line_shop.pk, event_ids=ids)
    assert first["processed"] == 2
    assert sum(second.values()) == 0
    after = friend(line_shop)
    assert (after.state, after.followed_at, after.unfollowed_at) == (
        before.state,
        before.followed_at,
        before.unfollowed_at,
    )


def test_a_friend_is_bound_to_the_shops_member_with_that_line_id(line_shop, other_shop):
    MemberFactory(shop=other_shop, line_user_id=SOMCHAI)  # another shop's member: not this one
    member = MemberFactory(shop=line_shop, line_user_id=SOMCHAI)
    deliver(line_shop, payloads.follow(user_id=SOMCHAI, at_ms=T0))
    assert friend(line_shop).member == member
    assert friend(line_shop).is_bound


def test_a_member_who_gets_the_line_id_later_is_bound_then_unbound(line_shop):
    deliver(line_shop, payloads.follow(user_id=NOK, at_ms=T0))
    assert friend(line_shop, NOK).member is None
    # when a member of the shop gets Nok's LINE id (sign-up, the API, the admin...)
    member = MemberFactory(shop=line_shop)
    member.line_user_id = NOK
    member.save()
    assert friend(line_shop, NOK).member == member
    # and loses it again
    member.line_user_id = None
    member.save()
    assert friend(line_shop, NOK).member is None


def test_a_ledger_save_that_leaves_the_line_id_alone_does_not_touch_friends(
    line_shop, django_assert_num_queries
):
    member = MemberFactory(shop=line_shop, line_user_id=NOK)
    with django_assert_num_queries(1):
        member.save(update_fields=["first_name"])


def test_postbacks_and_messages_go_to_registered_handlers(line_shop):
    seen = []

    def on_postback(*, event, stored, friend):
        seen.append(("postback", type(event), event.postback.data, stored.line_user_id))
        return True

    def on_message(*, event, stored, friend):
        seen.append(("message", type(event), event.message.quote_token[:6], friend))
        return True

    router.register("postback", on_postback)
    router.register("message", on_message)
    try:
        deliver(
            line_shop,
            payloads.postback(user_id=SOMCHAI, at_ms=T0, data="action=survey&id=1"),
            payloads.text_message(user_id=SOMCHAI, at_ms=T0 + 1),
        )
    finally:
        router.unregister("postback", on_postback)
        router.unregister("message", on_message)
    assert seen == [
        ("postback", PostbackEvent, "action=survey&id=1", SOMCHAI),
        ("message", MessageEvent, "q3Plxr", None),
    ]
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {"processed"}


def test_an_event_nobody_handles_is_logged_and_marked_never_raised(line_shop, caplog):
    unknown = {**payloads.unfollow(user_id=SOMCHAI, at_ms=T0), "type": "somethingNew"}
    with caplog.at_level(logging.INFO, logger="members.line.services"):
        counts = deliver(line_shop, payloads.text_message(user_id=SOMCHAI, at_ms=T0), unknown)
    assert counts["unhandled"] == 2
    assert "no handler" in caplog.text
    assert WebhookEvent.objects.filter(processed_at__isnull=False).count() == 2


def test_a_failing_handler_marks_its_event_failed_and_the_others_still_run(line_shop):
    def broken(*, event, stored, friend):
        raise RuntimeError("boom")

    router.register("postback", broken)
    try:
        counts = deliver(
            line_shop,
            payloads.postback(user_id=SOMCHAI, at_ms=T0),
            payloads.follow(user_id=NOK, at_ms=T0 + 1),
        )
    finally:
        router.unregister("postback", broken)
    assert counts["failed"] == 1
    assert counts["processed"] == 1
    assert "RuntimeError: boom" in WebhookEvent.objects.get(event_type="postback").error
    assert friend(line_shop, NOK).state == LineFriend.State.FRIEND


def test_the_router_refuses_unfollow_which_friends_own(line_shop):
    with pytest.raises(ValueError, match="unfollow"):
        router.register("unfollow", lambda **kw: True)


def test_a_follow_handler_runs_after_the_friend_is_applied_and_cannot_undo_it(line_shop):
    seen = []

    def failing(*, event, stored, friend):
        seen.append((friend.state, event.follow.is_unblocked))
        raise RuntimeError("greeting broke")

    router.register("follow", failing)
    try:
        counts = deliver(line_shop, payloads.follow(user_id=SOMCHAI, at_ms=T0, unblocked=True))
    finally:
        router.unregister("follow", failing)
    assert seen == [(LineFriend.State.FRIEND, True)]
    assert counts["processed"] == 1
    assert friend(line_shop).state == LineFriend.State.FRIEND


def test_the_webhook_with_tasks_running_at_once_processes_after_commit(
    client, line_shop, q_sync, django_capture_on_commit_callbacks
):
    body, signature = payloads.signed(
        [payloads.follow(user_id=SOMCHAI, at_ms=T0)], MESSAGING_CHANNEL_SECRET
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("line-webhook", kwargs={"shop_slug": line_shop.slug}),
            data=body,
            content_type="application/json",
            HTTP_X_LINE_SIGNATURE=signature,
        )
    assert response.status_code == 200
    assert friend(line_shop).state == LineFriend.State.FRIEND


def test_erasing_a_member_deletes_their_friend_row_and_what_their_line_user_sent(line_shop):
    from members.signup.services import member_erase

    member = MemberFactory(shop=line_shop, line_user_id=SOMCHAI)
    deliver(
        line_shop,
        payloads.follow(user_id=SOMCHAI, at_ms=T0),
        payloads.text_message(user_id=SOMCHAI, at_ms=T0 + 1, text="บ้านเลขที่ 12"),
        payloads.follow(user_id=NOK, at_ms=T0 + 2),
    )
    assert friend(line_shop).member == member

    member_erase(member=member)
    member_erase(member=member)  # twice: nothing more

    assert not LineFriend.objects.filter(line_user_id=SOMCHAI).exists()
    assert not WebhookEvent.objects.filter(line_user_id=SOMCHAI).exists()
    assert friend(line_shop, NOK).state == LineFriend.State.FRIEND
