"""The landing page: it names the shops on the server only where the operator turns that on
(``LANDING_LIST_SHOPS``: on in the demo, off in production)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import ShopFactory
from tests.loyalty.test_settings import PRODUCTION_ENV, run_python

pytestmark = pytest.mark.django_db


@pytest.fixture
def shops(db):
    return [ShopFactory(name="Secret Noodles", slug="secret-noodles"), ShopFactory(name="Aroi")]


def test_the_landing_page_lists_no_shop_when_the_setting_is_off(client, settings, shops):
    settings.LANDING_LIST_SHOPS = False

    content = client.get(reverse("landing")).content.decode()

    assert "Secret Noodles" not in content
    assert "secret-noodles" not in content
    assert 'data-testid="face-member"' not in content
    assert 'data-testid="face-admin"' in content  # the faces themselves are still linked


def test_the_landing_page_lists_the_shops_when_the_operator_turns_it_on(client, settings, shops):
    settings.LANDING_LIST_SHOPS = True

    content = client.get(reverse("landing")).content.decode()

    assert "Secret Noodles" in content
    assert 'data-testid="face-member"' in content


def test_the_setting_is_off_in_production_and_on_in_the_demo():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.LANDING_LIST_SHOPS)"
    )

    assert run_python(code, **PRODUCTION_ENV).stdout.strip() == "False"
    assert run_python(code, **PRODUCTION_ENV, LANDING_LIST_SHOPS="true").stdout.strip() == "True"
    assert run_python(code, DEBUG="true").stdout.strip() == "True"
