from __future__ import annotations

import pytest

from shops.models import ShopLineChannel
from tests.line_fixtures import (
    MESSAGING_ACCESS_TOKEN,
    MESSAGING_CHANNEL_ID,
    MESSAGING_CHANNEL_SECRET,
    fake_line,
)

__all__ = ["fake_line"]


@pytest.fixture
def line_shop(shop, fake_line):
    """The shop with its Messaging API channel on the fake LINE platform."""
    ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        messaging_channel_secret=MESSAGING_CHANNEL_SECRET,
        messaging_access_token=MESSAGING_ACCESS_TOKEN,
    )
    return shop


@pytest.fixture(autouse=True)
def _fresh_webhook_channels():
    """The webhook keeps channels per process for a while; every test starts without."""
    from members.line.selectors import webhook_channels_forget

    webhook_channels_forget()
    yield
    webhook_channels_forget()
