"""Member pages and the staff app speak the shop's language, not the phone's; the switch on the
page changes it and the choice is remembered. The back office keeps Django's rule."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from shops.models import User
from tests.factories import BranchFactory, ShopFactory, UserFactory
from tests.line_fixtures import fake_line
from tests.members.pages.conftest import register
from tests.members.staff.conftest import staff_client

__all__ = ["fake_line"]

pytestmark = pytest.mark.django_db

ENGLISH_PHONE = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
THAI_PHONE = {"HTTP_ACCEPT_LANGUAGE": "th-TH,th;q=0.9"}


def _html_lang(response) -> str:
    html = response.content.decode()
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def _member_of(client, fake_line, *, language: str):
    from tests.members.pages.conftest import connect_line, publish_documents

    shop = ShopFactory(slug="cafe", language=language, welcome_points=0)
    BranchFactory(shop=shop)
    publish_documents(shop)
    connect_line(shop)
    register(client, fake_line, shop)
    return shop


def _switch(client, language: str, next_url: str):
    response = client.post(reverse("set_language"), {"language": language, "next": next_url})
    assert response.status_code == 302
    return response


def test_a_thai_shops_member_pages_are_thai_on_an_english_phone(client, fake_line):
    shop = _member_of(client, fake_line, language="th")

    response = client.get(reverse("member:card", args=[shop.slug]), **ENGLISH_PHONE)

    assert response.status_code == 200
    assert _html_lang(response) == "th"
    assert "บัตรสมาชิก" in response.content.decode()  # "Card"


def test_an_english_shops_member_pages_are_english_on_a_thai_phone(client, fake_line):
    shop = _member_of(client, fake_line, language="en")

    response = client.get(reverse("member:card", args=[shop.slug]), **THAI_PHONE)

    assert _html_lang(response) == "en"
    assert ">Card<" in response.content.decode()


def test_the_member_pages_sign_in_follows_the_shop_too(client, fake_line):
    shop = ShopFactory(slug="cafe-en", language="en")

    response = client.get(reverse("member:login", args=[shop.slug]), **THAI_PHONE)

    assert _html_lang(response) == "en"


def test_the_switch_on_a_member_page_changes_the_language_and_is_remembered(client, fake_line):
    shop = _member_of(client, fake_line, language="th")
    card = reverse("member:card", args=[shop.slug])
    page = client.get(card).content.decode()
    assert 'name="language" value="en"' in page  # the switch is on the card

    switched = _switch(client, "en", card)

    assert switched["Location"] == card
    cookie = switched.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert int(cookie["max-age"]) >= 30 * 24 * 3600  # remembered, not only for this visit
    assert _html_lang(client.get(card, **THAI_PHONE)) == "en"
    assert _html_lang(client.get(reverse("member:history", args=[shop.slug]))) == "en"
    # And back.
    _switch(client, "th", card)
    assert _html_lang(client.get(card, **ENGLISH_PHONE)) == "th"


@pytest.fixture
def english_shop_cashier():
    shop = ShopFactory(language="en")
    branch = BranchFactory(shop=shop)
    cashier = UserFactory(shop=shop, role=User.Role.CASHIER)
    cashier.branches.add(branch)
    return cashier


def test_the_staff_app_speaks_the_shops_language_not_the_phones(english_shop_cashier):
    client = staff_client(english_shop_cashier)

    response = client.get(reverse("staff:home"), **THAI_PHONE)

    assert _html_lang(response) == "en"
    assert "Add points" in response.content.decode()


def test_a_thai_shops_staff_app_is_thai_on_an_english_phone():
    shop = ShopFactory(language="th")
    branch = BranchFactory(shop=shop)
    cashier = UserFactory(shop=shop, role=User.Role.CASHIER)
    cashier.branches.add(branch)
    client = staff_client(cashier)

    response = client.get(reverse("staff:today"), **ENGLISH_PHONE)

    assert _html_lang(response) == "th"
    assert "วันนี้ที่สาขานี้" in response.content.decode()


def test_the_staff_sign_in_page_is_thai_on_an_english_phone_until_switched():
    client = Client()
    login = reverse("staff:login")

    assert _html_lang(client.get(login, **ENGLISH_PHONE)) == "th"
    _switch(client, "en", login)
    assert _html_lang(client.get(login, **THAI_PHONE)) == "en"


def test_the_staff_switch_is_on_the_page_and_remembered(english_shop_cashier):
    client = staff_client(english_shop_cashier)
    home = reverse("staff:home")
    assert 'name="language" value="th"' in client.get(home).content.decode()

    _switch(client, "th", home)

    assert _html_lang(client.get(home, **ENGLISH_PHONE)) == "th"
    assert _html_lang(client.get(reverse("staff:today"))) == "th"


def test_the_back_office_still_follows_the_browser(client):
    """Unchanged: the admin is the owner's own screen (choice, then browser, then Thai)."""
    login = reverse("admin:login")

    assert _html_lang(client.get(login, **ENGLISH_PHONE)) == "en"
    assert _html_lang(client.get(login)) == "th"
