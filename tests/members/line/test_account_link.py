"""LINE's account-link flow end to end through the fake LINE platform: link token → button in the
chat (outbox) → the shop's link page → phone proof by SMS → LINE's dialog → signed accountLink
webhook → bound. And every nonce that must not bind: expired, reused, another shop's."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loyalty.line.fake.webhooks import event
from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.tasks import outbox_send
from members.line.accountlink import account_link_start
from members.line.models import AccountLinkNonce, BindingRecord, WebhookEvent
from members.line.services import webhook_events_process, webhook_events_store
from members.models import Member
from shops.apikeys import api_key_create
from shops.models import ShopLineChannel
from tests.factories import MemberFactory, ShopFactory
from tests.line_fixtures import (
    MESSAGING_ACCESS_TOKEN,
    MESSAGING_CHANNEL_ID,
    MESSAGING_CHANNEL_SECRET,
    NOK,
    SOMCHAI,
)
from tests.sms_fixtures import last_code

PHONE = "+66812345678"


def _channel(shop):
    ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        messaging_channel_secret=MESSAGING_CHANNEL_SECRET,
        messaging_access_token=MESSAGING_ACCESS_TOKEN,
    )
    return shop


def _open(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the fake, loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _link_url_sent_to(fake_line, user_id: str) -> str:
    sent = [m for m in fake_line.messages if m.get("to") == [user_id]]
    assert sent, fake_line.messages
    template = sent[-1]["messages"][0]["template"]
    return template["actions"][0]["uri"]


@pytest.mark.django_db(transaction=True)
def test_account_link_end_to_end_through_the_fake_line_platform(
    live_server, settings, fake_line, fake_sms
):
    # given a shop whose LINE channel posts its webhook to us, a member known by phone only
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    settings.SITE_URL = live_server.url
    shop = _channel(ShopFactory(slug="cafe"))
    webhook = live_server.url + reverse("line-webhook", kwargs={"shop_slug": shop.slug})
    fake_line.set_webhook_endpoint(MESSAGING_CHANNEL_ID, webhook)
    member = MemberFactory(shop=shop, phone=PHONE, status=Member.Status.REGISTERED)

    # when an integrator starts the link for Somchai's LINE account (the Open API)
    _key, raw = api_key_create(shop=shop, name="crm")
    started = Client().post(
        f"/api/v1/bindings/{SOMCHAI}/link",
        "{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert started.status_code == 202, started.content

    # then the outbox sends Somchai a button to the shop's link page with a link token
    (queued,) = OutboxMessage.objects.filter(shop=shop, source="account_link")
    assert outbox_send(queued.pk) == OutboxMessage.State.SENT
    link_url = _link_url_sent_to(fake_line, SOMCHAI)
    assert link_url.startswith(f"{live_server.url}/m/cafe/link/?linkToken=")

    # when Somchai opens it, asks for a code for his phone and types it
    browser = Client()
    path = link_url.removeprefix(live_server.url)
    assert browser.get(path).status_code == 200
    sent = browser.post(path, {"step": "send", "phone": "081-234-5678"})
    assert sent.status_code == 302
    verified = browser.post(path, {"step": "verify", "code": last_code(fake_sms, PHONE)})

    # then he is sent to LINE's dialog with the link token and a one-time nonce
    assert verified.status_code == 302
    dialog = verified["Location"]
    assert dialog.startswith(f"{fake_line.base_url}/dialog/bot/accountLink?")
    query = parse_qs(urlsplit(dialog).query)
    nonce = query["nonce"][0]
    assert len(nonce) >= 22  # ≥ 128 bits, URL-safe base64
    assert AccountLinkNonce.objects.get(nonce=nonce).member == member

    # when LINE's dialog runs: it posts the signed accountLink event to the shop's webhook
    status, page = _open(dialog)
    assert status == 200, page

    # then Somchai's LINE account is bound to the member, recorded via account link
    member.refresh_from_db()
    assert member.line_user_id == SOMCHAI and member.is_bound
    record = BindingRecord.objects.get()
    assert (record.via, record.action, record.actor) == ("account_link", "bound", "member")
    assert AccountLinkNonce.objects.get(nonce=nonce).used_at is not None
    stored = WebhookEvent.objects.get(shop=shop, event_type="accountLink")
    assert stored.outcome == WebhookEvent.Outcome.PROCESSED

    # and the same dialog again is refused by LINE (the link token is used): nothing new
    assert _open(dialog)[0] == 400
    assert BindingRecord.objects.count() == 1


def test_starting_a_link_for_a_bound_line_user_is_refused(line_shop, fake_line):
    MemberFactory(shop=line_shop, line_user_id=SOMCHAI, bound_at=timezone.now())
    from members.line.binding import BindingRefused

    with pytest.raises(BindingRefused):
        account_link_start(shop=line_shop, line_user_id=SOMCHAI)


def test_a_wrong_code_on_the_link_page_makes_no_nonce(
    db, fake_sms, django_capture_on_commit_callbacks
):
    shop = ShopFactory(slug="cafe")
    MemberFactory(shop=shop, phone=PHONE)
    browser = Client()
    path = reverse("member:link", kwargs={"shop_slug": "cafe"}) + "?linkToken=abc"
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(path, {"step": "send", "phone": PHONE})
    code = last_code(fake_sms, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    refused = browser.post(path, {"step": "verify", "code": wrong})
    assert refused.status_code == 400
    assert not AccountLinkNonce.objects.exists()


def test_the_link_page_without_a_link_token_says_to_open_it_from_line(db):
    ShopFactory(slug="cafe")
    response = Client().get(reverse("member:link", kwargs={"shop_slug": "cafe"}))
    assert response.status_code == 400
    assert b'data-testid="link-missing"' in response.content


# --- nonces that must not bind ------------------------------------------------------------------


def _account_link_event(shop, *, nonce: str, user_id: str = NOK, result: str = "ok"):
    raw = event("accountLink", user_id=user_id, link={"result": result, "nonce": nonce})
    ids = webhook_events_store(shop_id=shop.pk, events=[raw])
    webhook_events_process(shop_id=shop.pk, event_ids=ids)
    return WebhookEvent.objects.get(pk=ids[0])


def _nonce(shop, member, **fields):
    return AccountLinkNonce.objects.create(
        shop=shop,
        member=member,
        nonce=fields.pop("nonce", uuid.uuid4().hex + uuid.uuid4().hex),
        expires_at=fields.pop("expires_at", timezone.now() + dt.timedelta(minutes=10)),
        **fields,
    )


@pytest.mark.django_db
def test_a_valid_nonce_binds_once_and_a_reused_one_binds_nothing(shop):
    member = MemberFactory(shop=shop)
    nonce = _nonce(shop, member)
    stored = _account_link_event(shop, nonce=nonce.nonce)
    assert stored.outcome == WebhookEvent.Outcome.PROCESSED
    assert Member.objects.get(pk=member.pk).line_user_id == NOK
    # a replay of the event with a new id (LINE would not) finds the nonce used
    other = MemberFactory(shop=shop)
    _nonce(shop, other)
    _account_link_event(shop, nonce=nonce.nonce, user_id=SOMCHAI)
    assert BindingRecord.objects.count() == 1
    assert not Member.objects.filter(line_user_id=SOMCHAI).exists()


@pytest.mark.django_db
def test_an_expired_nonce_binds_nothing(shop):
    member = MemberFactory(shop=shop)
    nonce = _nonce(shop, member, expires_at=timezone.now() - dt.timedelta(seconds=1))
    _account_link_event(shop, nonce=nonce.nonce)
    assert not Member.objects.get(pk=member.pk).is_bound
    assert not BindingRecord.objects.exists()


@pytest.mark.django_db
def test_another_shops_nonce_binds_nothing(shop, other_shop):
    theirs = MemberFactory(shop=other_shop)
    nonce = _nonce(other_shop, theirs)
    _account_link_event(shop, nonce=nonce.nonce)
    assert not Member.objects.get(pk=theirs.pk).is_bound
    assert AccountLinkNonce.objects.get(pk=nonce.pk).used_at is None
    assert not BindingRecord.objects.exists()


@pytest.mark.django_db
def test_a_failed_link_binds_nothing(shop):
    member = MemberFactory(shop=shop)
    nonce = _nonce(shop, member)
    _account_link_event(shop, nonce=nonce.nonce, result="failed")
    assert not Member.objects.get(pk=member.pk).is_bound
    assert AccountLinkNonce.objects.get(pk=nonce.pk).used_at is None


def test_the_fake_dialog_refuses_an_unknown_link_token(fake_line):
    status, _page = _open(f"{fake_line.base_url}/dialog/bot/accountLink?linkToken=nope&nonce=abc")
    assert status == 400


def test_the_fake_keeps_the_webhook_endpoint_set_through_the_api(fake_line):
    request = urllib.request.Request(  # noqa: S310 - the fake, loopback
        f"{fake_line.base_url}/v2/bot/channel/webhook/endpoint",
        data=json.dumps({"endpoint": "https://shop.example/line/webhook/cafe/"}).encode(),
        method="PUT",
        headers={
            "Authorization": f"Bearer {MESSAGING_ACCESS_TOKEN}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200
    got = urllib.request.Request(  # noqa: S310
        f"{fake_line.base_url}/v2/bot/channel/webhook/endpoint",
        headers={"Authorization": f"Bearer {MESSAGING_ACCESS_TOKEN}"},
    )
    with urllib.request.urlopen(got, timeout=5) as response:  # noqa: S310
        assert json.loads(response.read())["endpoint"] == "https://shop.example/line/webhook/cafe/"
