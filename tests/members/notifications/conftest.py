"""Fixtures for member notifications: a shop with a Messaging API channel on the fake LINE
platform, members with LINE accounts, and ``line_inbox`` to send the outbox and read what arrived."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from loyalty.outbox.tasks import outbox_drain
from shops.models import ShopLineChannel
from tests.factories import MemberFactory, ShopFactory, TierFactory
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN, NOK, PLOY, SOMCHAI, fake_line
from tests.members.pages.conftest import line_shop, member_client

__all__ = ["NOK", "PLOY", "SOMCHAI", "fake_line", "line_shop", "member_client"]
SITE = "https://points.example"


@pytest.fixture(autouse=True)
def _site_and_cache(settings):
    # The shop's settings are cached by shop; links in messages are full URLs on SITE_URL.
    settings.SITE_URL = SITE
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def nshop(db):
    shop = ShopFactory(
        name="ร้านกาแฟดี",
        thb_per_point=Decimal("25.00"),
        expiry_mode="never",
        tiers_enabled=True,
        welcome_points=0,
        language="th",
    )
    TierFactory(shop=shop, name="Silver", threshold=0)
    TierFactory(shop=shop, name="Gold", threshold=100)
    ShopLineChannel.objects.create(shop=shop, messaging_access_token=MESSAGING_ACCESS_TOKEN)
    return shop


@pytest.fixture
def nok(nshop):
    return MemberFactory(
        shop=nshop, first_name="นก", line_user_id=NOK, tier=nshop.tiers.get(name="Silver")
    )


def send_outbox() -> int:
    """What the django-q2 worker does after the cause commits: send every due outbox row."""
    return outbox_drain()
