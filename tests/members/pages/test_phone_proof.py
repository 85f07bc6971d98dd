"""The member's side of proving a pending member's phone: the card's panel, the "confirm your phone"
page (a code by SMS through the fake gateway, or the counter), "not my number", a claim lost to
another account."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.models import Member
from members.phone_claims.models import PhoneClaim
from shops.models import Shop
from tests.members.pages.conftest import branch_of, register
from tests.sms_fixtures import last_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PHONE = "+66812345678"


def url(name: str) -> str:
    return reverse(f"member:{name}", kwargs={"shop_slug": "cafe"})


@pytest.fixture
def pending(line_shop):
    return ledger.points_earn(
        shop=line_shop,
        phone="0812345678",
        amount="500",
        branch=branch_of(line_shop),
        idempotency_key="store-1",
        actor=Actor.system(channel="store"),
    ).member


@pytest.fixture
def claimant(client, fake_line, line_shop, pending):
    """Signed in and signed up with the pending member's phone."""
    member = register(client, fake_line, line_shop)
    client.member = member
    return client


def test_after_sign_up_the_card_says_the_phone_has_points_and_offers_to_confirm_it(claimant):
    page = claimant.get(url("card"))

    html = page.content.decode()
    assert 'data-testid="phone-claim"' in html
    assert "081-234-5678" in html
    assert page.context["card"].balance == 50


def test_the_code_by_sms_moves_the_points_to_the_card(
    claimant, fake_sms, pending, django_capture_on_commit_callbacks
):
    # when the member asks for a code
    with django_capture_on_commit_callbacks(execute=True):
        sent = claimant.post(url("phone_send"))
    assert sent.status_code == 302 and sent["Location"] == url("phone")
    page = claimant.get(url("phone")).content.decode()
    assert 'data-testid="code-sent"' in page and 'data-testid="code-form"' in page
    code = last_code(fake_sms, PHONE)

    # a wrong code first
    wrong = claimant.post(url("phone_verify"), {"code": f"{(int(code) + 1) % 10**6:06d}"})
    assert wrong.status_code == 400
    assert "not right" in str(wrong.context["form"].errors["code"])

    # then the right one
    done = claimant.post(url("phone_verify"), {"code": code})

    assert done.status_code == 302 and done["Location"] == url("card")
    card = claimant.get(url("card"))
    assert card.context["card"].balance == 70
    assert 'data-testid="phone-claim"' not in card.content.decode()
    assert Member.objects.get(pk=claimant.member.pk).phone == PHONE
    assert Member.objects.get(pk=pending.pk).status == Member.Status.MERGED


def test_a_rate_limited_request_says_when_to_try_again(
    claimant, fake_sms, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        claimant.post(url("phone_send"))
        again = claimant.post(url("phone_send"), follow=True)

    messages = [str(m) for m in again.context["messages"]]
    assert any("another in" in m and "seconds" in m for m in messages)
    assert len(fake_sms.messages) == 1


def test_a_failed_sms_is_shown_on_the_page(claimant, fake_sms, django_capture_on_commit_callbacks):
    fake_sms.fail_next(status=500)
    with django_capture_on_commit_callbacks(execute=True):
        claimant.post(url("phone_send"))

    page = claimant.get(url("phone")).content.decode()

    assert 'data-testid="sms-failed"' in page
    assert 'data-testid="code-form"' not in page


def test_without_sms_the_page_offers_the_counter_only(claimant):
    page = claimant.get(url("phone")).content.decode()  # no gateway set up in tests by default

    assert 'data-testid="send-code"' not in page
    assert "cashier can confirm" in page


def test_not_my_number_withdraws_the_claim(claimant, pending):
    response = claimant.post(url("phone_withdraw"))

    assert response.status_code == 302 and response["Location"] == url("profile")
    assert PhoneClaim.objects.get().status == "withdrawn"
    assert 'data-testid="phone-claim"' not in claimant.get(url("card")).content.decode()
    assert Member.objects.get(pk=pending.pk).balance == 20


def test_the_profile_shows_the_number_waiting_for_proof(claimant):
    assert claimant.get(url("profile")).context["form"].initial["phone"] == "081-234-5678"


def test_a_claim_lost_to_another_account_is_explained_on_the_card(claimant, pending):
    PhoneClaim.objects.filter(member=claimant.member).update(status="lost")

    html = claimant.get(url("card")).content.decode()

    assert 'data-testid="phone-claim-lost"' in html
    assert "confirmed by another member" in html


def test_the_phone_page_is_in_thai_by_default(claimant):
    Shop.objects.update(language="th")  # the shop's language decides member pages

    html = claimant.get(url("phone"), HTTP_ACCEPT_LANGUAGE="th").content.decode()

    assert "ยืนยันเบอร์โทรศัพท์" in html
