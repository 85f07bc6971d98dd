"""A broadcast's results on data the send really produced: sent and failed at the fake LINE, skipped
by reason, the hold-out, coupons, and purchases and points in the results window (Bangkok time, a
purchase a minute too late, a refund) for recipients against the hold-out group."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone, translation

from campaigns.broadcasts import services
from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from campaigns.broadcasts.reach import broadcast_estimate
from campaigns.broadcasts.rendering import Assets
from campaigns.broadcasts.results import broadcast_results
from campaigns.broadcasts.services import _enqueue_batch, _start, broadcast_confirm, broadcast_save
from loyalty.outbox.tasks import outbox_drain
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.line.models import LineFriend
from rewards.models import Coupon
from tests.campaigns.broadcasts.conftest import consent_given, everyone, friend
from tests.factories import FACTORIES, MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)
R = BroadcastRecipient
BANGKOK = zoneinfo.ZoneInfo("Asia/Bangkok")
_keys = itertools.count()


def users(fake_line, line_shop, n, **fields):
    members = []
    for i in range(n):
        user = f"U{line_shop.pk:04d}{i:028x}"
        fake_line.add_user(user_id=user, display_name=f"M{i}")
        members.append(friend(line_shop, user, first_name=f"M{i}", **fields))
    return members


def draft(shop, *, text="สวัสดีคุณ{name}", **kwargs):
    return broadcast_save(
        shop=shop,
        name="Promo",
        segment_ids=[everyone(shop).pk],
        messages=[{"type": "text", "text": text}],
        **kwargs,
    )


def spend(member, amount, *, at):
    with time_machine.travel(at, tick=False):
        return ledger.points_earn(
            shop=member.shop,
            member=member,
            amount=Decimal(amount),
            idempotency_key=f"t-{next(_keys)}",
            actor=Actor.system(),
        )


def rows(state):
    return list(R.objects.filter(state=state).order_by("member_id"))


def test_sent_failed_skipped_and_held_out_add_up_to_the_audience(
    line_shop, fake_line, q_sync, django_assert_num_queries
):
    # given 12 friends (the send decides who is held out), a blocked one, one without consent
    # and one not bound
    users(fake_line, line_shop, 12)
    friend(line_shop, "U" + "b" * 32, state=LineFriend.State.BLOCKED)
    friend(line_shop, "U" + "c" * 32, consent=False)
    consent_given(MemberFactory(shop=line_shop))
    broadcast = draft(line_shop, holdout_percent=30)
    estimate = broadcast_estimate(broadcast)
    # and LINE refuses the first message it is sent
    fake_line.fail_sends(1, status=400, message="The request body has 1 error(s)")

    broadcast_confirm(broadcast=broadcast, recipients=estimate.line)
    outbox_drain(seconds=10)

    broadcast.refresh_from_db()
    held, queued = rows(R.State.HOLDOUT), rows(R.State.QUEUED)
    assert len(held) == estimate.holdout and held, "the hold-out share picks someone of 12"
    assert len(queued) == 12 - len(held)
    # some recipients also got a coupon, and one of them used it
    coupons = [FACTORIES[Coupon](shop=line_shop) for _ in range(2)]
    for recipient, coupon in zip(queued, coupons, strict=False):
        R.objects.filter(pk=recipient.pk).update(coupon=coupon)
    Coupon.objects.filter(pk=coupons[0].pk).update(status=Coupon.Status.USED)

    # counts, attribution, coupons; the taps per link; the SMS outcomes
    with django_assert_num_queries(5):
        results = broadcast_results(broadcast)

    assert results.audience == 15
    assert results.holdout == len(held)
    assert results.targeted == 15 - len(held)
    assert (results.sent, results.sent_line, results.sent_sms) == (len(queued) - 1,) * 2 + (0,)
    assert results.failed == 1
    [failure] = results.failures
    assert (failure.channel, failure.count) == ("line", 1)
    assert "The request body has 1 error(s)" in failure.reason
    assert results.pending == 0
    assert results.skipped_by_reason == {"blocked": 1, "no_consent": 1, "not_bound": 1}
    assert results.skipped == 3
    assert results.targeted == results.sent + results.failed + results.pending + results.skipped
    assert (results.coupons_given, results.coupons_used) == (2, 1)
    with translation.override("en"):
        assert [label for _v, label, _n in results.skipped_reasons] == [
            "Not bound to LINE",
            "Blocked the OA",
            "No marketing consent",
        ]


def test_a_broadcast_still_sending_counts_the_rest_as_pending(line_shop, fake_line, settings):
    users(fake_line, line_shop, 5)
    broadcast = draft(line_shop, text="hello")
    broadcast_confirm(broadcast=broadcast, recipients=5)
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    services.BATCH, batch = 2, services.BATCH
    try:
        started = _start(broadcast.pk)
        _enqueue_batch(started, Assets.of(started))  # two handed to the outbox, three waiting
    finally:
        services.BATCH = batch

    results = broadcast_results(started)
    assert (results.targeted, results.sent, results.failed, results.pending) == (5, 0, 0, 5)

    outbox_drain(seconds=5)  # the first batch reaches LINE; the job has not gone on yet
    results = broadcast_results(started)
    assert (results.sent, results.pending) == (2, 3)
    assert not results.attribution.complete


def test_a_broadcast_not_started_has_no_results(line_shop):
    assert broadcast_results(draft(line_shop)).started is False
    assert not Broadcast.objects.filter(started_at__isnull=False).exists()


def test_results_window_compares_recipients_with_the_hold_out_in_bangkok_time(line_shop, fake_line):
    # given a broadcast sent at 21:00 Bangkok time on 1 March with a 7-day window and a hold-out
    members = users(fake_line, line_shop, 10)
    line_shop.thb_per_point = Decimal("10.00")
    line_shop.expiry_mode = "never"
    line_shop.save()
    started = dt.datetime(2026, 3, 1, 21, 0, tzinfo=BANGKOK)
    with time_machine.travel(started - dt.timedelta(minutes=5), tick=False):
        broadcast = draft(line_shop, holdout_percent=50, attribution_days=7)
        count = broadcast_estimate(broadcast).line
        broadcast_confirm(broadcast=broadcast, recipients=count)
    with time_machine.travel(started, tick=False):
        services.broadcasts_due()
    broadcast.refresh_from_db()
    assert broadcast.started_at == started
    held = {r.member_id for r in rows(R.State.HOLDOUT)}
    sent = {r.member_id for r in rows(R.State.QUEUED)}
    assert held and sent and held | sent == {m.pk for m in members}
    by_pk = {m.pk: m for m in members}
    [first_sent, *other_sent] = sorted(sent)
    [first_held, *_other_held] = sorted(held)

    # when recipients and held-out members buy before, in and just after the window
    spend(by_pk[first_sent], "300.00", at=started - dt.timedelta(minutes=1))  # before: not counted
    spend(by_pk[first_sent], "200.00", at=started)  # the first instant counts
    spend(by_pk[first_sent], "100.00", at=dt.datetime(2026, 3, 8, 20, 59, tzinfo=BANGKOK))
    spend(by_pk[first_sent], "990.00", at=dt.datetime(2026, 3, 8, 21, 0, tzinfo=BANGKOK))  # out
    refunded = spend(by_pk[first_sent], "50.00", at=started + dt.timedelta(days=1))
    with time_machine.travel(started + dt.timedelta(days=2), tick=False):
        ledger.purchase_reverse(
            purchase=refunded.purchase,
            note="refund",
            idempotency_key="refund-1",
            actor=Actor.system(),
        )
    for pk in other_sent[:1]:
        spend(by_pk[pk], "120.00", at=started + dt.timedelta(days=3))
    spend(by_pk[first_held], "40.00", at=dt.datetime(2026, 3, 2, 0, 30, tzinfo=BANGKOK))

    # then, once the window is over
    with time_machine.travel(dt.datetime(2026, 3, 20, 12, 0, tzinfo=BANGKOK), tick=False):
        results = broadcast_results(broadcast)
    window = results.attribution
    assert window.complete
    assert window.ends == dt.datetime(2026, 3, 8, 21, 0, tzinfo=BANGKOK)
    recipients, holdout = window.recipients, window.holdout
    assert (recipients.members, holdout.members) == (len(sent), len(held))
    # 200 + 100 (+ 50 refunded, so not counted) for the first, 120 for another
    assert (recipients.buyers, recipients.purchases) == (2, 3)
    assert recipients.spend == Decimal("420.00")
    assert recipients.points == 20 + 10 + 12  # the refund's points taken back in the window
    assert (holdout.buyers, holdout.purchases, holdout.spend, holdout.points) == (
        1,
        1,
        Decimal("40.00"),
        4,
    )
    assert recipients.spend_per_member == (Decimal(420) / len(sent)).quantize(Decimal("0.01"))
    assert window.spend_difference == recipients.spend_per_member - holdout.spend_per_member
    assert window.points_difference == recipients.points_per_member - holdout.points_per_member

    # and halfway through the window, only what happened until then
    with time_machine.travel(started + dt.timedelta(days=2, hours=12), tick=False):
        halfway = broadcast_results(broadcast).attribution
    assert not halfway.complete
    assert halfway.recipients.spend == Decimal("200.00")
    assert halfway.recipients.points == 20 + 5 - 5


def test_each_tracked_link_is_named_by_what_it_opens(line_shop):
    broadcast = broadcast_save(
        shop=line_shop,
        name="Links",
        segment_ids=[everyone(line_shop).pk],
        messages=[
            {"type": "text", "text": "สวัสดี"},
            {"type": "link", "page": "rewards", "label": "ดูของรางวัล"},
        ],
    )
    # as the send leaves it: started, with the tracked address of the button (reach.tracked_links)
    Broadcast.objects.filter(pk=broadcast.pk).update(
        started_at=timezone.now(), link_urls={"1": "https://example.test/l/abc"}
    )
    broadcast.refresh_from_db()

    [link] = broadcast_results(broadcast).links

    assert (link.key, link.target, link.clicks) == ("1", "ดูของรางวัล", 0)
