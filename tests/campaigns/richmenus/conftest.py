from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from campaigns.richmenus.models import RichMenu, RichMenuArea
from shops.models import ShopLineChannel
from tests.line_fixtures import (
    MESSAGING_ACCESS_TOKEN,
    MESSAGING_CHANNEL_ID,
    MESSAGING_CHANNEL_SECRET,
    fake_line,
    unreachable_line,
)

__all__ = ["fake_line", "unreachable_line"]


def picture(size=(2500, 843), fmt="PNG", noise=False) -> bytes:
    """A picture of ``size``; with ``noise`` random pixels, which no encoder can make small."""
    if noise:
        import os

        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (6, 199, 85))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def make_menu(shop, *, name="Members", audience=RichMenu.Audience.DEFAULT, tier=None, layout=2):
    """A saved menu with a picture and one action per area (card, then rewards, then messages)."""
    menu = RichMenu(
        shop=shop, name=name, chat_bar_text="เมนู", layout=layout, audience=audience, tier=tier
    )
    menu.image.save("menu.png", ContentFile(picture()), save=False)
    menu.save()
    actions = [RichMenuArea.Action.CARD, RichMenuArea.Action.REWARDS]
    for index in range(1, layout + 1):
        action = actions[index - 1] if index <= len(actions) else RichMenuArea.Action.MESSAGE
        RichMenuArea.objects.create(
            shop=shop,
            menu=menu,
            index=index,
            action=action,
            value="" if action in actions else f"area {index}",
        )
    return menu


@pytest.fixture
def line_shop(shop):
    """The shop with its Messaging API channel on the fake LINE (id, secret and token)."""
    ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        messaging_channel_secret=MESSAGING_CHANNEL_SECRET,
        messaging_access_token=MESSAGING_ACCESS_TOKEN,
    )
    return shop


@pytest.fixture
def q_sync(settings):
    """django-q2 runs each task at once, in this process."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
