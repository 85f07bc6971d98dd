"""A broadcast from draft to LINE: who gets it on which channel, the confirm step's count, the
send through the outbox to the fake LINE platform, and resuming a half-done send."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from campaigns.broadcasts.reach import broadcast_estimate
from campaigns.broadcasts.rendering import Assets
from campaigns.broadcasts.services import (
    _enqueue_batch,
    _start,
    broadcast_cancel,
    broadcast_confirm,
    broadcast_copy,
    broadcast_save,
    broadcast_send,
    broadcast_test_send,
)
from loyalty.errors import Conflict, InvalidInput
from loyalty.outbox.tasks import outbox_drain
from members.line.models import LineFriend
from tests.campaigns.broadcasts.conftest import consent_given, everyone, friend
from tests.factories import MemberFactory
from tests.line_fixtures import NOK, PLOY, SOMCHAI

pytestmark = pytest.mark.django_db(transaction=True)
R = BroadcastRecipient


def draft(shop, *, text="สวัสดี {shop}", **kwargs):
    return broadcast_save(
        shop=shop,
        name="Promo",
        segment_ids=[everyone(shop).pk],
        messages=[{"type": "text", "text": text}],
        **kwargs,
    )


def test_the_estimate_splits_the_audience_by_channel_and_reason(line_shop):
    friend(line_shop, NOK)
    friend(line_shop, PLOY, state=LineFriend.State.BLOCKED)
    friend(line_shop, SOMCHAI, consent=False)
    unbound = MemberFactory(shop=line_shop)
    consent_given(unbound)

    estimate = broadcast_estimate(draft(line_shop))

    assert (estimate.total, estimate.line, estimate.sms) == (4, 1, 0)
    assert estimate.not_sent == {"blocked": 1, "no_consent": 1, "not_bound": 1}
    assert estimate.line_messages == 1


def test_the_latest_consent_counts_and_the_recipient_rows_match_the_estimate(line_shop, other_shop):
    withdrew = friend(line_shop, NOK)
    consent_given(withdrew, granted=False)  # granted at signup, withdrawn since
    came_back = friend(line_shop, PLOY, consent=False)
    consent_given(came_back, granted=False)
    consent_given(came_back)  # withdrawn, then given again
    never_friend = MemberFactory(shop=line_shop, line_user_id=SOMCHAI, bound_at=timezone.now())
    consent_given(never_friend)
    elsewhere = MemberFactory(shop=other_shop)
    consent_given(elsewhere)  # another shop's member and consent: not in this audience
    broadcast = draft(line_shop)

    estimate = broadcast_estimate(broadcast)

    assert (estimate.total, estimate.line) == (3, 1)
    assert estimate.not_sent == {"not_friend": 1, "no_consent": 1}
    broadcast.consent_only = False
    assert broadcast_estimate(broadcast).line == 2  # without the consent rule both friends get it
    broadcast.consent_only = True
    broadcast.state = Broadcast.State.SCHEDULED
    broadcast.save()
    assert _start(broadcast.pk) is not None
    rows = {r.member_id: (r.channel, r.state, r.reason) for r in R.objects.all()}
    assert rows == {
        withdrew.pk: ("none", "skipped", "no_consent"),
        came_back.pk: ("line", "pending", ""),
        never_friend.pk: ("none", "skipped", "not_friend"),
    }


def test_a_confirmed_broadcast_reaches_each_friend_once_through_the_outbox(
    line_shop, fake_line, q_sync
):
    nok, ploy = friend(line_shop, NOK), friend(line_shop, PLOY, state=LineFriend.State.BLOCKED)
    broadcast = draft(line_shop)

    broadcast_confirm(broadcast=broadcast, recipients=1)
    outbox_drain(seconds=5)

    broadcast.refresh_from_db()
    assert broadcast.state == Broadcast.State.SENT
    assert fake_line.texts_to(NOK) == ["สวัสดี Shop A"]
    assert fake_line.texts_to(PLOY) == []
    rows = {r.member_id: (r.channel, r.state, r.reason) for r in R.objects.all()}
    assert rows == {
        nok.pk: ("line", "queued", ""),
        ploy.pk: ("none", "skipped", "blocked"),
    }
    assert broadcast_send(broadcast.pk) == {"queued": 0}  # a second run sends nothing
    assert len(fake_line.texts_to(NOK)) == 1


def test_member_placeholders_are_filled_per_member_and_equal_texts_share_a_multicast(
    line_shop, fake_line, q_sync
):
    friend(line_shop, NOK, first_name="นก")
    friend(line_shop, SOMCHAI, first_name="สมชาย")
    broadcast = draft(line_shop, text="สวัสดีคุณ{name}")

    broadcast_confirm(broadcast=broadcast, recipients=2)
    outbox_drain(seconds=5)

    assert fake_line.texts_to(NOK) == ["สวัสดีคุณนก"]
    assert fake_line.texts_to(SOMCHAI) == ["สวัสดีคุณสมชาย"]


def test_the_count_shown_must_be_the_count_now(line_shop):
    friend(line_shop, NOK)
    broadcast = draft(line_shop)
    friend(line_shop, SOMCHAI)

    with translation.override("en"), pytest.raises(Conflict) as changed:
        broadcast_confirm(broadcast=broadcast, recipients=1)

    assert "now 2 recipients" in str(changed.value)
    broadcast.refresh_from_db()
    assert broadcast.state == Broadcast.State.DRAFT


def test_a_scheduled_broadcast_waits_for_its_time_and_can_be_cancelled(line_shop, fake_line):
    friend(line_shop, NOK)
    later = timezone.now() + timezone.timedelta(hours=2)
    broadcast = draft(line_shop, send_at=later)
    broadcast_confirm(broadcast=broadcast, recipients=1)

    assert broadcast_send(broadcast.pk) == {"queued": 0}
    assert broadcast_cancel(broadcast=broadcast).state == Broadcast.State.CANCELLED
    assert not R.objects.exists()

    copy = broadcast_copy(broadcast=broadcast)
    assert (copy.state, copy.send_at, list(copy.segments.all())) == (
        Broadcast.State.DRAFT,
        None,
        list(broadcast.segments.all()),
    )


def test_a_killed_job_resumes_with_the_waiting_recipients_only(line_shop, fake_line, settings):
    users = [f"U{n:032x}" for n in range(1, 8)]
    for user in users:
        fake_line.add_user(user_id=user, display_name=user)
        friend(line_shop, user)
    broadcast = draft(line_shop)
    broadcast_confirm(broadcast=broadcast, recipients=7)
    import campaigns.broadcasts.services as services

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    services.BATCH, batch = 3, services.BATCH
    try:
        started = _start(broadcast.pk)
        _enqueue_batch(started, Assets.of(started))  # then the job "dies"
        assert R.objects.filter(state="queued").count() == 3
        broadcast_send(broadcast.pk)  # the drain's next run
    finally:
        services.BATCH = batch
    outbox_drain(seconds=5)

    for user in users:
        assert fake_line.texts_to(user) == ["สวัสดี Shop A"]


def test_bad_input_is_refused_with_every_problem_named(line_shop, other_shop):
    foreign = everyone(other_shop, name="Theirs")
    with translation.override("en"), pytest.raises(InvalidInput) as refused:
        broadcast_save(
            shop=line_shop,
            name=" ",
            segment_ids=[foreign.pk],
            messages=[{"type": "text", "text": "{nope}"}, {"type": "image", "media": "x"}],
        )
    errors = refused.value.extra["errors"]
    assert errors["name"] == ["Give the broadcast a name."]
    assert errors["segments"] == ["Some of the segments are not this shop's."]
    assert errors["messages"][0].startswith("Message 1: unknown placeholder {nope}")
    assert errors["messages"][1] == "Message 2: choose a picture."


def test_a_test_send_goes_only_to_friends_of_the_oa(line_shop, fake_line):
    friend(line_shop, NOK, first_name="นก")
    broadcast = draft(line_shop, text="สวัสดีคุณ{name}")

    with pytest.raises(InvalidInput):
        broadcast_test_send(broadcast=broadcast, line_user_ids=[PLOY])
    assert broadcast_test_send(broadcast=broadcast, line_user_ids=[NOK]) == 1
    outbox_drain(seconds=5)

    assert fake_line.texts_to(NOK) == ["สวัสดีคุณนก"]
    assert not R.objects.exists()
