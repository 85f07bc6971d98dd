"""A shop on the fake LINE with both channels (Messaging API to send, LINE Login to sign in), a
broadcast with tracked links, and signing in the way the member pages do."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from campaigns.broadcasts.models import Broadcast, BroadcastMedia
from campaigns.broadcasts.services import broadcast_confirm, broadcast_save
from loyalty.outbox.tasks import outbox_drain
from shops.models import Shop, ShopLineChannel
from tests.campaigns.broadcasts.conftest import everyone, friend, q_sync
from tests.factories import ShopFactory, TagFactory
from tests.line_fixtures import (
    LOGIN_CHANNEL_ID,
    LOGIN_CHANNEL_SECRET,
    MESSAGING_ACCESS_TOKEN,
    MESSAGING_CHANNEL_ID,
    MESSAGING_CHANNEL_SECRET,
    NOK,
    fake_line,
)
from tests.members.pages.conftest import (
    OTHER_LOGIN_CHANNEL_ID,
    OTHER_LOGIN_CHANNEL_SECRET,
    liff_sign_in,
    line_login_round_trip,
)

__all__ = ["fake_line", "friend", "liff_sign_in", "line_login_round_trip", "q_sync"]

PROMO = "https://example.com/songkran"
MENU = "https://example.com/menu"


def connect(shop: Shop, *, login_id=LOGIN_CHANNEL_ID, login_secret=LOGIN_CHANNEL_SECRET):
    ShopLineChannel.objects.create(
        shop=shop,
        login_channel_id=login_id,
        login_channel_secret=login_secret,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        messaging_channel_secret=MESSAGING_CHANNEL_SECRET,
        messaging_access_token=MESSAGING_ACCESS_TOKEN,
    )


SITE = "https://loyalty.example"


@pytest.fixture
def cafe(db, fake_line, settings) -> Shop:
    settings.SITE_URL = SITE  # LINE takes full https URLs only
    shop = ShopFactory(name="Café Aroi", slug="cafe")
    connect(shop)
    return shop


@pytest.fixture
def other_cafe(db, fake_line) -> Shop:
    """A second shop on its own LINE Login channel."""
    fake_line.add_channel(
        channel_id=OTHER_LOGIN_CHANNEL_ID, channel_secret=OTHER_LOGIN_CHANNEL_SECRET
    )
    shop = ShopFactory(name="SHOP-B-SECRET", slug="shop-b")
    connect(shop, login_id=OTHER_LOGIN_CHANNEL_ID, login_secret=OTHER_LOGIN_CHANNEL_SECRET)
    return shop


def picture(shop: Shop) -> BroadcastMedia:
    buffer = io.BytesIO()
    Image.new("RGB", (1040, 1040), "orange").save(buffer, "PNG")
    media = BroadcastMedia(shop=shop, kind=BroadcastMedia.Kind.IMAGE, width=1040, height=1040)
    media.file.save("promo.png", ContentFile(buffer.getvalue()), save=False)
    media.save()
    return media


def with_links(shop: Shop, *, vip=None, songkran=None) -> Broadcast:
    """A draft whose first message is a button to the rewards page giving ``vip``, and whose second
    is a picture with two areas: the promotion (giving ``songkran``) and the menu (no tags)."""
    vip = vip or TagFactory(shop=shop, name="VIP")
    songkran = songkran or TagFactory(shop=shop, name="Songkran")
    media = picture(shop)
    return broadcast_save(
        shop=shop,
        name="Songkran",
        segment_ids=[everyone(shop).pk],
        messages=[
            {"type": "link", "page": "rewards", "label": "See rewards", "tags": [vip.pk]},
            {
                "type": "imagemap",
                "media": str(media.key),
                "alt_text": "Songkran",
                "areas": [
                    {
                        "x": 0,
                        "y": 0,
                        "width": 520,
                        "height": 1040,
                        "link": PROMO,
                        "tags": [songkran.pk],
                    },
                    {"x": 520, "y": 0, "width": 520, "height": 1040, "link": MENU},
                ],
            },
        ],
    )


def sent(shop: Shop, broadcast: Broadcast, recipients: int) -> Broadcast:
    """Confirm ``broadcast`` and let the outbox hand it to the fake LINE."""
    broadcast_confirm(broadcast=broadcast, recipients=recipients)
    outbox_drain(seconds=5)
    broadcast.refresh_from_db()
    return broadcast


@pytest.fixture
def nok(cafe):
    return friend(cafe, NOK, first_name="นก")
