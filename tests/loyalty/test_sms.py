"""The SMS gateway interface, the ThaiBulkSMS adapter and the fake gateway it runs against."""

from __future__ import annotations

import json

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured

from loyalty.sms import SmsRefused, SmsUnavailable, get_backend, sms_available, sms_send
from loyalty.sms.fake_server import FakeSmsGateway
from loyalty.sms.thaibulksms import ThaiBulkSmsBackend, msisdn_for
from tests.sms_fixtures import SMS_API_KEY, SMS_SENDER


def test_the_adapter_sends_through_the_gateway_and_returns_its_message_id(fake_sms):
    message_id = sms_send("+66812345678", "รหัส 123456")

    [sent] = fake_sms.messages
    assert message_id and sent.message_id == message_id
    assert (sent.number, sent.phone, sent.text, sent.sender) == (
        "0812345678",
        "+66812345678",
        "รหัส 123456",
        SMS_SENDER,
    )


def test_the_gateway_speaks_thaibulksms_v2_basic_auth_form_body_and_json_answer(fake_sms):
    response = requests.post(
        fake_sms.base_url + "/sms",
        data={"msisdn": "0812345678,0212345678", "message": "hello", "sender": "SHOP"},
        auth=(SMS_API_KEY, fake_sms.api_secret),
        timeout=5,
    )

    assert response.status_code == 201
    body = response.json()
    assert body["phone_number_list"][0]["number"] == "0812345678"
    assert body["bad_phone_number_list"] == [
        {"number": "0212345678", "message": "Invalid phone number"}
    ]
    assert {"remaining_credit", "total_use_credit", "credit_type"} <= body.keys()


def test_wrong_credentials_are_a_refusal_with_the_gateways_words(fake_sms, settings):
    settings.SMS_API_SECRET = "wrong"

    with pytest.raises(SmsRefused) as refused:
        sms_send("+66812345678", "x")

    assert refused.value.status == 401
    assert "UNAUTHORIZED" in refused.value.detail
    assert fake_sms.messages == []


def test_a_gateway_outage_is_unavailable_not_refused(fake_sms):
    fake_sms.fail_next(status=503)

    with pytest.raises(SmsUnavailable):
        sms_send("+66812345678", "x")
    sms_send("+66812345678", "second try")  # the next one goes through

    assert [m.text for m in fake_sms.messages] == ["second try"]


def test_an_unreachable_gateway_is_unavailable(unreachable_sms):
    with pytest.raises(SmsUnavailable):
        sms_send("+66812345678", "x")


def test_a_number_the_gateway_will_not_send_to_is_refused(fake_sms):
    with pytest.raises(SmsRefused):
        sms_send("+6621234567", "landline")  # a Bangkok landline

    with pytest.raises(SmsRefused):
        msisdn_for("+6591234567")  # Singapore: Thai numbers only


def test_sms_is_off_without_a_backend_or_credentials(settings):
    settings.SMS_BACKEND = "thaibulksms"
    settings.SMS_API_KEY = ""
    assert not sms_available()
    with pytest.raises(SmsRefused):
        get_backend()

    settings.SMS_API_KEY, settings.SMS_API_SECRET = "k", "s"
    assert sms_available()
    assert isinstance(get_backend(), ThaiBulkSmsBackend)

    settings.SMS_BACKEND = ""
    assert not sms_available()


def test_the_gateways_page_and_json_list_messages_newest_first(fake_sms):
    sms_send("+66811111111", "first")
    sms_send("+66822222222", "second <b>")

    page = requests.get(fake_sms.base_url + "/", timeout=5).text
    listed = json.loads(requests.get(fake_sms.base_url + "/__fake__/messages", timeout=5).text)

    assert page.index(">second &lt;b&gt;<") < page.index(">first<")
    assert [m["text"] for m in listed] == ["second <b>", "first"]
    assert fake_sms.texts_to("+66811111111") == ["first"]


def test_the_fake_gateway_refuses_to_run_in_production_or_off_loopback(settings):
    settings.DEBUG = False
    settings.TESTING = False
    with pytest.raises(ImproperlyConfigured):
        FakeSmsGateway().bind()

    settings.TESTING = True
    with pytest.raises(ImproperlyConfigured):
        FakeSmsGateway(host="0.0.0.0").bind()  # noqa: S104 - what is refused
