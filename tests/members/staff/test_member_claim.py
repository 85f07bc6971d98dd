"""The member's side of a points QR code: opened from LINE, the signed-in member collects the
points once; anyone else, a second time, too late or a wrong code gets a clear message and
nothing. The member is who LINE says (the member pages' sign-in), never who the page says."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from members.ledger.models import LedgerEntry
from members.staff import services
from shops.models import Branch, User
from tests.factories import UserFactory
from tests.members.pages.conftest import (
    NOK,
    fake_line,
    liff_sign_in,
    line_shop,
    register,
)
from tests.members.pages.conftest import member_client as _member_client

__all__ = ["fake_line", "line_shop"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

member_client = _member_client


@pytest.fixture
def claim(line_shop):
    branch = Branch.objects.get(shop=line_shop)
    cashier = UserFactory(shop=line_shop, role=User.Role.CASHIER)
    cashier.branches.add(branch)
    return services.points_claim_create(
        user=cashier, branch=branch, amount="500", form_key=uuid.uuid4()
    )[0]


def url_of(claim, slug=None):
    return reverse(
        "member-claim", kwargs={"shop_slug": slug or claim.shop.slug, "token": claim.token}
    )


def test_opening_the_code_without_signing_in_goes_to_line_sign_in_and_back(claim):
    response = Client().get(url_of(claim))

    assert response.status_code == 302
    login = reverse("member:login", kwargs={"shop_slug": claim.shop.slug})
    assert response["Location"].startswith(login)
    assert "next=%2Fm%2Fcafe%2Fclaim%2F" in response["Location"]


def test_opening_it_shows_the_points_and_changes_nothing(member_client, claim):
    response = member_client.get(url_of(claim))

    assert response.status_code == 200
    assert 'data-testid="collect"' in response.content.decode()
    assert response.context["preview"].points == 20
    assert not LedgerEntry.objects.filter(purchase__isnull=False).exists()


def test_the_member_collects_the_points_once(member_client, claim):
    member = member_client.member
    before = member.balance

    response = member_client.post(url_of(claim))
    page = member_client.get(response["Location"])
    again = member_client.post(url_of(claim))
    reload = member_client.get(url_of(claim))

    assert response.status_code == 302 and again.status_code == 302
    assert "+20 points collected" in page.content.decode()
    assert "already collected" in reload.content.decode()
    member.refresh_from_db()
    assert member.balance == before + 20
    assert LedgerEntry.objects.filter(member=member, purchase__isnull=False).count() == 1
    claim.refresh_from_db()
    assert claim.claimed_by == member


def test_a_second_member_scanning_it_gets_a_clear_no(member_client, fake_line, line_shop, claim):
    member_client.post(url_of(claim))
    other = Client()
    nok = register(other, fake_line, line_shop, user_id=NOK, phone="089-999-1111")

    response = other.get(url_of(claim))
    post = other.post(url_of(claim))

    assert response.status_code == post.status_code == 409
    assert "already been collected" in post.content.decode()
    nok.refresh_from_db()
    assert not LedgerEntry.objects.filter(member=nok, purchase__isnull=False).exists()


def test_an_expired_code_gets_a_clear_no(member_client, claim):
    with time_machine.travel(claim.expires_at + dt.timedelta(seconds=5)):
        page = member_client.get(url_of(claim))
        post = member_client.post(url_of(claim))

    assert page.status_code == post.status_code == 410
    assert "expired" in post.content.decode()
    assert not LedgerEntry.objects.filter(purchase__isnull=False).exists()


def test_an_unknown_code_gets_a_clear_no(member_client, line_shop):
    response = member_client.get(
        reverse("member-claim", kwargs={"shop_slug": line_shop.slug, "token": "x" * 22})
    )
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_a_signed_in_line_user_who_is_not_a_member_is_sent_to_sign_up(fake_line, line_shop, claim):
    client = Client()
    liff_sign_in(client, fake_line, line_shop, NOK)

    response = client.get(url_of(claim))

    assert response.status_code == 302
    assert response["Location"] == reverse("member:signup", kwargs={"shop_slug": line_shop.slug})
    assert not LedgerEntry.objects.filter(purchase__isnull=False).exists()
