"""The shop's monthly SMS budget: sending stops when it is spent, the rest wait as held and go
out when it allows (raised, or next month); two senders at once never spend more than it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import translation

from campaigns.broadcasts.models import BroadcastRecipient
from campaigns.broadcasts.reach import sms_outcomes
from campaigns.broadcasts.services import broadcast_confirm
from campaigns.sms.models import SmsMessage, SmsSettings
from campaigns.sms.selectors import credits_used, month_start, sms_budget
from campaigns.sms.sender import sms_drain
from campaigns.sms.services import SmsDraft, sms_enqueue_many, sms_settings_save
from loyalty.errors import InvalidInput
from loyalty.sms.parts import sms_parts
from members.line.models import LineFriend
from tests.campaigns.broadcasts.conftest import friend
from tests.campaigns.sms.conftest import sms_draft
from tests.concurrency import run_concurrently
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)
BANGKOK = dt.timezone(dt.timedelta(hours=7))


def test_sms_parts_count_thai_as_ucs2_and_latin_as_gsm():
    assert sms_parts("a" * 160) == 1 and sms_parts("a" * 161) == 2
    assert sms_parts("ก" * 70) == 1 and sms_parts("ก" * 71) == 2 and sms_parts("ก" * 134) == 2
    assert sms_parts("ก" * 135) == 3
    assert sms_parts("[" * 80) == 1 and sms_parts("[" * 81) == 2  # escaped: two places each


def test_the_budget_stops_a_broadcast_midway_and_the_rest_wait_as_held(
    sms_shop, fake_line, fake_sms, q_sync
):
    SmsSettings.objects.filter(shop=sms_shop).update(monthly_budget=3)
    users = [f"U{n:032x}" for n in range(1, 6)]
    members = [friend(sms_shop, u, state=LineFriend.State.BLOCKED) for u in users]
    broadcast = sms_draft(sms_shop, sms_text="Sale {name}")

    broadcast_confirm(broadcast=broadcast, recipients=5)

    assert len(fake_sms.messages) == 3
    states = [SmsMessage.objects.get(member=m).state for m in members]
    assert states == ["sent", "sent", "sent", "held", "held"]
    held = SmsMessage.objects.filter(state="held").first()
    assert "เดือนนี้ใช้ไป 3 จาก 3 เครดิต" in held.error  # stored in the site's language
    outcomes = sms_outcomes(broadcast)
    assert sorted(outcomes.values()) == ["queued", "queued", "sent", "sent", "sent"]
    assert set(outcomes) == set(
        BroadcastRecipient.objects.filter(broadcast=broadcast).values_list("pk", flat=True)
    )
    assert sms_budget(sms_shop).held == 2

    # when the owner raises the budget, the held messages go out (and nothing twice)
    sms_settings_save(shop=sms_shop, sender_name="CAFEAROI", monthly_budget=10)
    assert sorted(m.phone for m in fake_sms.messages) == sorted(m.phone for m in members)
    assert credits_used(sms_shop.pk) == 5


def test_held_messages_go_out_next_month(sms_shop, fake_sms, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    SmsSettings.objects.filter(shop=sms_shop).update(monthly_budget=1)
    members = [MemberFactory(shop=sms_shop) for _ in range(2)]
    # 23:50 on 31 January in Bangkok (16:50 UTC): one goes now, one waits for February
    with time_machine.travel(dt.datetime(2027, 1, 31, 23, 50, tzinfo=BANGKOK), tick=False):
        sms_enqueue_many(
            shop=sms_shop,
            drafts=[SmsDraft(phone=m.phone, text="Hi", member_id=m.pk) for m in members],
            source="t",
        )
        sms_drain(seconds=5)
        assert list(SmsMessage.objects.order_by("pk").values_list("state", flat=True)) == [
            "sent",
            "held",
        ]
    with time_machine.travel(dt.datetime(2027, 2, 1, 0, 30, tzinfo=BANGKOK), tick=False):
        assert month_start() == dt.datetime(2027, 2, 1, tzinfo=BANGKOK)
        sms_drain(seconds=5)
        assert credits_used(sms_shop.pk) == 1
    assert SmsMessage.objects.filter(state="sent").count() == 2
    assert len(fake_sms.messages) == 2


def test_a_sender_name_gateways_refuse_is_refused(sms_shop):
    with translation.override("en"), pytest.raises(InvalidInput) as refused:
        sms_settings_save(shop=sms_shop, sender_name="Café Aroi!", monthly_budget=10)
    assert "1 to 11 English letters or digits" in str(refused.value)


def test_two_senders_at_once_never_exceed_the_budget_and_send_each_message_once(
    sms_shop, fake_sms, settings
):
    # given 30 queued messages of 1 credit each and a budget of 12
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    SmsSettings.objects.filter(shop=sms_shop).update(monthly_budget=12)
    members = [MemberFactory(shop=sms_shop) for _ in range(30)]
    sms_enqueue_many(
        shop=sms_shop,
        drafts=[SmsDraft(phone=m.phone, text="Sale", member_id=m.pk) for m in members],
        source="t",
    )
    import campaigns.sms.sender as sender

    sender.CLAIM_BATCH, batch = 3, sender.CLAIM_BATCH  # small claims: the senders interleave
    try:
        # when two senders run at the same moment
        results = run_concurrently(lambda i: sms_drain(shop_id=sms_shop.pk, seconds=30), 2)
    finally:
        sender.CLAIM_BATCH = batch

    # then the budget holds, and no message went twice
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(results) == 12
    phones = [m.phone for m in fake_sms.messages]
    assert len(phones) == len(set(phones)) == 12
    assert SmsMessage.objects.filter(state="sent").count() == 12
    assert SmsMessage.objects.filter(state="held").count() == 18
    assert credits_used(sms_shop.pk) == 12
