"""The demo's campaigns (seed_demo): segments of the common kinds with members in them, RFM scores
spread over the groups, and broadcasts that the demo's job cluster really sends, on LINE to the fake
LINE server and by SMS to the fake gateway, with results to show (hold-out, visits, taps, a coupon
push with used coupons)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from campaigns.broadcasts.models import Broadcast
from campaigns.broadcasts.results import broadcast_results
from campaigns.segments.conditions import parse_conditions, segment_members
from campaigns.segments.models import MemberRfm, Segment
from campaigns.sms.tasks import sms_send_queued
from loyalty.line.fake import (
    DEMO_ACCESS_TOKEN,
    DEMO_CHANNEL_ID,
    DEMO_CHANNEL_SECRET,
    DEMO_GOLD_USER,
    DEMO_MEMBER_USER,
)
from loyalty.management.commands.seed_demo import DEMO_SLUG
from loyalty.outbox.tasks import outbox_drain
from members.models import Member, Purchase
from shops.models import Shop


@pytest.mark.django_db
def test_the_demo_has_segments_rfm_and_broadcasts_with_results(fake_line, fake_sms, settings):
    # given the fake LINE and the fake SMS gateway as `make run` starts them (seeding runs before
    # `make run` gives the processes it starts their SITE_URL)
    settings.SITE_URL = ""
    fake_line.add_channel(
        DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET, access_token=DEMO_ACCESS_TOKEN, name="คาเฟ่อร่อย"
    )
    fake_line.add_user(**DEMO_MEMBER_USER)
    fake_line.add_user(**DEMO_GOLD_USER)
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # idempotent: nothing is made or sent twice
    shop = Shop.objects.get(slug=DEMO_SLUG)

    # then every segment holds members, and the buyers are spread over the RFM groups
    segments = Segment.objects.filter(shop=shop)
    assert segments.count() == 7
    for segment in segments:
        members = segment_members(shop.pk, parse_conditions(shop.pk, segment.conditions))
        assert members.exists(), segment.name
    groups = set(MemberRfm.objects.filter(shop=shop).values_list("group", flat=True))
    assert len(groups) >= 8
    # and each member's last visit is their latest purchase after the seed moved them in time
    for member in Member.objects.filter(shop=shop):
        latest = (
            Purchase.objects.filter(member=member, status="completed")
            .order_by("-created_at", "-id")
            .values_list("created_at", "branch_id")
            .first()
        )
        assert (member.last_visit_at, member.last_visit_branch_id) == (latest or (None, None))

    # when the job cluster sends what the broadcasts queued
    outbox_drain(seconds=20)
    sms_send_queued(shop.pk)

    # then the sent broadcast reached LINE and SMS, kept a hold-out, and shows visits and taps
    states = dict(Broadcast.objects.filter(shop=shop).values_list("name", "state"))
    assert sorted(states.values()) == ["draft", "scheduled", "sent", "sent"]
    sent = broadcast_results(Broadcast.objects.get(shop=shop, name__startswith="ลาเต้"))
    assert sent.sent_line == 2
    assert sent.sent_sms > 100
    assert sent.pending == 0 and sent.failed == 0, sent.failures  # LINE took every link
    assert sent.holdout > 0 and sent.skipped_by_reason.get("no_consent")
    assert sent.attribution.recipients.buyers > 0 and sent.attribution.holdout.members > 0
    assert [link.clicks for link in sent.links] == [2]
    texts = [m.text for m in fake_sms.messages]
    assert any("ลาเต้ซื้อ 1 แถม 1" in text for text in texts)

    # and the coupon push gave each VIP recipient a coupon, three of them used
    push = broadcast_results(Broadcast.objects.get(shop=shop, name__startswith="คูปอง"))
    assert push.coupons_given == push.sent > 0
    assert push.coupons_used == 3
