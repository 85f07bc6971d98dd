"""A broadcast's second channel: members LINE cannot reach get its SMS text through the fake SMS
gateway, with the shop's sender name and an opt-out link; opt-outs are honoured on later sends."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse

from campaigns.broadcasts.models import BroadcastRecipient
from campaigns.broadcasts.reach import broadcast_estimate, sms_outcomes, sms_routing
from campaigns.broadcasts.selectors import routing
from campaigns.broadcasts.services import broadcast_confirm, broadcast_send
from campaigns.sms.broadcasts import broadcast_sms_text
from campaigns.sms.models import SmsMessage, SmsOptOut, SmsSettings
from campaigns.sms.sender import sms_drain
from campaigns.sms.services import sms_enqueue, sms_opt_out
from members.line.models import LineFriend
from members.models import Member
from tests.campaigns.broadcasts.conftest import consent_given, friend
from tests.campaigns.sms.conftest import sms_draft
from tests.factories import MemberFactory
from tests.line_fixtures import NOK, PLOY, SOMCHAI

pytestmark = pytest.mark.django_db(transaction=True)
R = BroadcastRecipient
LINK = re.compile(r"(/s/[0-9A-Za-z]+\.[0-9A-Za-z]+\.[-_0-9A-Za-z]+)")


def audience(shop):
    """A friend (LINE), a friend with no consent, a member who blocked the OA (SMS), a pending
    member known by phone (SMS) and an unbound member without a phone (nothing)."""
    on_line = friend(shop, NOK)
    friend(shop, SOMCHAI, consent=False)
    blocked = friend(shop, PLOY, state=LineFriend.State.BLOCKED, first_name="Ploy")
    pending = MemberFactory(shop=shop, status=Member.Status.PENDING, first_name="")
    consent_given(pending)
    no_phone = MemberFactory(shop=shop, phone=None)
    consent_given(no_phone)
    return on_line, blocked, pending, no_phone


def test_sms_is_routed_only_to_members_line_cannot_reach_who_have_a_phone(sms_shop):
    on_line, blocked, pending, no_phone = audience(sms_shop)
    broadcast = sms_draft(sms_shop)

    estimate = broadcast_estimate(broadcast)

    assert (estimate.total, estimate.line, estimate.sms) == (5, 1, 2)
    assert estimate.not_sent == {"no_consent": 1, "not_bound": 1}
    sms, opted_out = sms_routing(broadcast)
    sql, params = routing(broadcast, sms=sms, opted_out=opted_out)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, channel FROM ({sql}) r", params)  # noqa: S608
        channels = dict(cursor.fetchall())
    assert channels[on_line.pk] == "line"  # a friend with a phone still gets LINE, not SMS
    assert (channels[blocked.pk], channels[pending.pk], channels[no_phone.pk]) == (
        "sms",
        "sms",
        "none",
    )


def test_no_sms_without_a_text_a_budget_or_a_gateway(line_shop, settings):
    audience(line_shop)
    SmsSettings.objects.create(shop=line_shop, monthly_budget=100)

    assert broadcast_estimate(sms_draft(line_shop)).sms == 0  # no gateway: SMS is off
    settings.SMS_BACKEND, settings.SMS_API_KEY, settings.SMS_API_SECRET = "thaibulksms", "k", "s"
    assert broadcast_estimate(sms_draft(line_shop)).sms == 2
    assert broadcast_estimate(sms_draft(line_shop, sms_text="")).sms == 0
    SmsSettings.objects.filter(shop=line_shop).update(monthly_budget=0)
    assert broadcast_estimate(sms_draft(line_shop)).sms == 0


def test_a_broadcast_with_an_sms_text_reaches_blocked_and_pending_members_by_sms(
    sms_shop, fake_line, fake_sms, q_sync
):
    on_line, blocked, pending, _no_phone = audience(sms_shop)
    broadcast = sms_draft(sms_shop)

    broadcast_confirm(broadcast=broadcast, recipients=3)

    texts = {m.phone: m for m in fake_sms.messages}
    assert set(texts) == {blocked.phone, pending.phone}
    assert texts[blocked.phone].text.startswith("โปร Shop A คุณPloy\nยกเลิกรับ SMS ")
    assert texts[pending.phone].text.startswith("โปร Shop A คุณลูกค้า\n")
    assert {m.sender for m in fake_sms.messages} == {"CAFEAROI"}
    assert all(LINK.search(m.text) for m in fake_sms.messages)
    assert fake_sms.texts_to(on_line.phone) == []
    rows = {r.member_id: r for r in R.objects.filter(broadcast=broadcast)}
    assert rows[blocked.pk].channel == "sms" and rows[blocked.pk].sms_message.state == "sent"
    assert sms_outcomes(broadcast) == {rows[blocked.pk].pk: "sent", rows[pending.pk].pk: "sent"}
    assert SmsMessage.objects.get(member=blocked).provider_message_id

    # a second run of the job sends nothing again
    broadcast_send(broadcast.pk)
    sms_drain(seconds=5)
    assert len(fake_sms.messages) == 2


def test_the_opt_out_page_stops_later_broadcasts(sms_shop, fake_line, fake_sms, q_sync, client):
    _on_line, blocked, pending, _no_phone = audience(sms_shop)
    broadcast_confirm(broadcast=sms_draft(sms_shop), recipients=3)
    link = LINK.search(fake_sms.texts_to(blocked.phone)[0]).group(1)

    page = client.get(link)
    assert page.status_code == 200
    assert "หยุดรับ SMS" in page.text or "ยกเลิก" in page.text
    assert "Stop marketing SMS from Shop A" in page.text
    assert not SmsOptOut.objects.exists()  # opening the link (a link preview) changes nothing
    assert client.post(link).status_code == 302
    assert client.post(link).status_code == 302  # twice: still one opt-out
    done = client.get(link)
    assert 'data-testid="done"' in done.text
    assert SmsOptOut.objects.get().phone == blocked.phone
    assert SmsOptOut.objects.get().how == "link"

    later = sms_draft(sms_shop)
    assert broadcast_estimate(later).not_sent.get("sms_opt_out") == 1
    broadcast_confirm(broadcast=later, recipients=2)
    row = R.objects.get(broadcast=later, member=blocked)
    assert (row.channel, row.state, row.reason) == ("none", "skipped", "sms_opt_out")
    assert len(fake_sms.texts_to(blocked.phone)) == 1
    assert len(fake_sms.texts_to(pending.phone)) == 2


def test_a_link_not_signed_by_us_is_refused(sms_shop, client):
    token = "1.abc.AAAAAAAAAA"
    response = client.post(reverse("sms-opt-out", args=[token]))
    assert response.status_code == 404
    assert not SmsOptOut.objects.exists()


def test_an_opt_out_after_queueing_is_checked_again_at_send_time(sms_shop, fake_sms, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    member = MemberFactory(shop=sms_shop)
    staff_opted = MemberFactory(shop=sms_shop)
    queued = [
        sms_enqueue(shop=sms_shop, phone=m.phone, text="Sale", source="t", member_id=m.pk)
        for m in (member, staff_opted)
    ]
    # one opted out behind the service's back (another process), one through staff
    SmsOptOut.objects.create(shop=sms_shop, phone=member.phone, how="link")
    sms_opt_out(shop=sms_shop, phone=staff_opted.phone_local, how="staff")

    sms_drain(seconds=5)

    assert [SmsMessage.objects.get(pk=m.pk).state for m in queued] == ["skipped", "skipped"]
    assert fake_sms.messages == []


def test_a_gateway_outage_is_retried_and_a_refusal_fails(sms_shop, fake_sms, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    first, second = MemberFactory(shop=sms_shop), MemberFactory(shop=sms_shop)
    fake_sms.fail_next(503)
    retried = sms_enqueue(shop=sms_shop, phone=first.phone, text="Hi", source="t")

    sms_drain(seconds=5)

    retried.refresh_from_db()
    assert (retried.state, retried.attempts) == ("queued", 1) and retried.error
    SmsMessage.objects.filter(pk=retried.pk).update(next_attempt_at=retried.created_at)
    sms_drain(seconds=5)
    retried.refresh_from_db()
    assert retried.state == "sent" and fake_sms.texts_to(first.phone)

    fake_sms.fail_next(401)
    refused = sms_enqueue(shop=sms_shop, phone=second.phone, text="Hi", source="t")
    sms_drain(seconds=5)
    refused.refresh_from_db()
    assert refused.state == "failed" and "401" in refused.error
    assert fake_sms.texts_to(second.phone) == []


def test_a_dedupe_key_queues_once(sms_shop, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    member = MemberFactory(shop=sms_shop)
    rows = [
        sms_enqueue(shop=sms_shop, phone=member.phone, text="A", source="t", dedupe_key="k")
        for _ in range(2)
    ]
    assert rows[0].pk == rows[1].pk
    assert SmsMessage.objects.count() == 1


def test_the_sms_text_fills_placeholders_and_adds_the_coupons_code(sms_shop):
    from members.ledger.actors import Actor
    from rewards.services import reward_redeem
    from tests.factories import RewardFactory
    from tests.rewards.conftest import give

    member = give(MemberFactory(shop=sms_shop, first_name="Nok"), 50)
    reward = RewardFactory(shop=sms_shop, name="Free latte", points_cost=10)
    redemption, _replayed = reward_redeem(
        member=member, reward=reward, idempotency_key="sms-c", actor=Actor.member()
    )
    coupon = redemption.coupon
    broadcast = sms_draft(sms_shop, sms_text="{name} มี {balance} พอยท์ ที่ {shop}")

    text = broadcast_sms_text(broadcast, Member.objects.get(pk=member.pk), coupon)

    assert text.startswith("Nok มี 40 พอยท์ ที่ Shop A\nคูปอง Free latte รหัส ")
    assert coupon.code in text


def test_a_sender_name_given_to_the_gateway_replaces_the_default_one(fake_sms):
    from loyalty.sms import sms_send

    sms_send("+66812345678", "A", sender="SHOPX")
    sms_send("+66812345678", "B")  # a caller that gives none (the one-time codes)

    assert [(m.text, m.sender) for m in fake_sms.messages] == [("B", "CAFE"), ("A", "SHOPX")]


def test_the_every_minute_job_sends_what_waits(sms_shop, fake_sms, settings):
    from django.utils.module_loading import import_string

    from loyalty.schedules import REPEATING

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}  # queued, nobody started it
    member = MemberFactory(shop=sms_shop)
    sms_enqueue(shop=sms_shop, phone=member.phone, text="Sale", source="t")
    [job] = [j for j in REPEATING if j.name == "sms-send"]

    assert import_string(job.func)() == 1

    assert fake_sms.texts_to(member.phone)[0].startswith("Sale\n")
