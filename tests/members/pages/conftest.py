"""Fixtures for the member pages: a shop connected to the fake LINE platform, and signing a LINE
user in the way a page does (LIFF's ID token, or the LINE Login round trip), never by writing
the session by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from loyalty.line.fake import FakeLineServer
from members.models import Member
from shops.models import Branch, PolicyDocument, Shop, ShopLineChannel, Tier
from shops.services import policy_document_publish
from tests.factories import BranchFactory, MemberFactory, ShopFactory
from tests.line_fixtures import (
    LOGIN_CHANNEL_ID,
    LOGIN_CHANNEL_SECRET,
    NOK,
    PLOY,
    SOMCHAI,
    fake_line,
    unreachable_line,
)
from tests.sms_fixtures import fake_sms

__all__ = ["NOK", "PLOY", "SOMCHAI", "fake_line", "fake_sms", "unreachable_line"]

OTHER_LOGIN_CHANNEL_ID = "1650000077"
OTHER_LOGIN_CHANNEL_SECRET = "other-login-secret-0123456789abcdef"


def connect_line(shop: Shop, *, channel_id=LOGIN_CHANNEL_ID, secret=LOGIN_CHANNEL_SECRET, liff=""):
    return ShopLineChannel.objects.create(
        shop=shop, login_channel_id=channel_id, login_channel_secret=secret, liff_id=liff
    )


def publish_documents(shop: Shop) -> None:
    policy_document_publish(shop=shop, kind=PolicyDocument.Kind.TERMS, title="Terms", body="T")
    policy_document_publish(shop=shop, kind=PolicyDocument.Kind.PRIVACY, title="Privacy", body="P")


@pytest.fixture
def line_shop(db, fake_line) -> Shop:
    """A shop with a branch, terms and privacy, 50 welcome points, connected to the fake LINE."""
    shop = ShopFactory(
        name="Café Aroi",
        slug="cafe",
        welcome_points=50,
        expiry_mode="months_after",
        expiry_months=12,
        tiers_enabled=False,
    )
    BranchFactory(shop=shop, name="Siam", code="BKK01")
    publish_documents(shop)
    connect_line(shop)
    return shop


@pytest.fixture
def other_line_shop(db, fake_line) -> Shop:
    """A second shop on its own LINE Login channel."""
    fake_line.add_channel(
        channel_id=OTHER_LOGIN_CHANNEL_ID, channel_secret=OTHER_LOGIN_CHANNEL_SECRET
    )
    shop = ShopFactory(name="SHOP-B-SECRET", slug="shop-b", welcome_points=0)
    connect_line(shop, channel_id=OTHER_LOGIN_CHANNEL_ID, secret=OTHER_LOGIN_CHANNEL_SECRET)
    return shop


def liff_sign_in(client, fake_line: FakeLineServer, shop: Shop, user_id: str = SOMCHAI):
    """Sign in as LIFF does: the page posts the ID token LINE gave it; the server asks LINE."""
    channel = ShopLineChannel.objects.get(shop=shop)
    token = fake_line.mint_id_token(channel_id=channel.login_channel_id, user_id=user_id)
    response = client.post(
        reverse("member:liff", kwargs={"shop_slug": shop.slug}), {"id_token": token}
    )
    assert response.status_code == 200, response.content
    return response


def line_login_round_trip(client, fake_line: FakeLineServer, shop: Shop, user_id: str = SOMCHAI):
    """Sign in through LINE Login: our login page → the fake authorize page (a test user picked
    with ``auto_user``) → our callback. Returns the callback's response."""
    start = client.get(reverse("member:login", kwargs={"shop_slug": shop.slug}), {"start": "1"})
    assert start.status_code == 302, start.content
    authorize = requests.get(
        start["Location"] + f"&auto_user={user_id}", allow_redirects=False, timeout=5
    )
    assert authorize.status_code == 302, authorize.text
    callback = urlsplit(authorize.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(callback.query).items()}
    return client.get(callback.path, query)


def signup_data(**overrides) -> dict:
    data = {
        "first_name": "Somchai",
        "last_name": "Jaidee",
        "phone": "081-234-5678",
        "birthday": "1992-03-15",
        "accept_terms": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def branch_of(shop: Shop) -> Branch:
    return Branch.objects.filter(shop=shop).first()


def register(client, fake_line, shop, user_id=SOMCHAI, **overrides) -> Member:
    """Sign in and sign up through the pages; returns the new member."""
    liff_sign_in(client, fake_line, shop, user_id)
    data = signup_data(**overrides)
    branch = branch_of(shop)
    if branch is not None:
        data.setdefault("branch", branch.pk)
    response = client.post(reverse("member:signup", kwargs={"shop_slug": shop.slug}), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Member.objects.get(shop=shop, line_user_id=user_id)


@pytest.fixture
def member_client(client, fake_line, line_shop):
    """A browser signed in to ``line_shop`` as a registered member (Somchai)."""
    member = register(client, fake_line, line_shop)
    client.member = member
    return client


def tiers_for(shop: Shop) -> list[Tier]:
    shop.tiers_enabled = True
    shop.save(update_fields=["tiers_enabled"])
    return [
        Tier.objects.create(shop=shop, name="Silver", threshold=0, colour="#9CA3AF"),
        Tier.objects.create(
            shop=shop, name="Gold", threshold=1000, earn_multiplier=Decimal("1.00")
        ),
    ]


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


__all__ += ["MemberFactory"]
