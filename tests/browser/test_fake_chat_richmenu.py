"""The fake LINE chat's rich menu in a real browser (Debian Chromium): the user's menu fills the
phone's width at 390 px and the chat's column at 1280 px, its chat bar closes and opens it, an area
that opens a member page is a link to a new tab where the picture shows it, and a tap on a message
area sends the text and the shop's keyword reply appears. Screenshots:
test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from campaigns.autoreplies.models import KeywordRule
from campaigns.richmenus.models import RichMenu, RichMenuArea
from campaigns.richmenus.services import rich_menu_publish
from shops.models import ShopLineChannel
from tests.browser.conftest import _new_page, shot
from tests.factories import ShopFactory
from tests.line_fixtures import (
    MESSAGING_ACCESS_TOKEN,
    MESSAGING_CHANNEL_ID,
    MESSAGING_CHANNEL_SECRET,
    NOK,
    fake_line,
)

__all__ = ["fake_line"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def menu_shop(fake_line, live_server, settings):
    """A shop whose webhook the fake posts to (tasks run at once), a keyword rule, and a default
    menu published: the left half opens the member card, the right half sends "เวลาเปิด"."""
    from members.line.selectors import webhook_channels_forget

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    settings.SITE_URL = live_server.url
    webhook_channels_forget()
    shop = ShopFactory(name="คาเฟ่อร่อย (Café Aroi)")
    ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        messaging_channel_secret=MESSAGING_CHANNEL_SECRET,
        messaging_access_token=MESSAGING_ACCESS_TOKEN,
    )
    url = live_server.url + reverse("line-webhook", kwargs={"shop_slug": shop.slug})
    fake_line.add_channel(
        MESSAGING_CHANNEL_ID, MESSAGING_CHANNEL_SECRET, webhook_url=url, name=shop.name
    )
    KeywordRule.objects.create(
        shop=shop, name="hours", keywords="เวลาเปิด", reply_unbound="เปิดทุกวัน 07:00–20:00 น."
    )
    picture = io.BytesIO()
    Image.new("RGB", (2500, 843), (6, 199, 85)).save(picture, format="PNG")
    menu = RichMenu(shop=shop, name="ทุกคน", chat_bar_text="เปิดเมนู", layout=2)
    menu.image.save("menu.png", ContentFile(picture.getvalue()), save=False)
    menu.save()
    RichMenuArea.objects.create(shop=shop, menu=menu, index=1, action="card")
    RichMenuArea.objects.create(shop=shop, menu=menu, index=2, action="message", value="เวลาเปิด")
    rich_menu_publish(menu_id=menu.pk)
    return shop


@pytest.mark.parametrize("width", [390, 1280])
def test_the_users_menu_fills_the_chat_and_a_message_tap_gets_the_keyword_reply(
    browser, fake_line, menu_shop, width
):
    context, page = _new_page(
        browser,
        viewport={"width": width, "height": 844},
        is_mobile=width < 500,
        has_touch=width < 500,
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    try:
        page.goto(f"{fake_line.base_url}/__fake__/chat/{NOK}")
        page.wait_for_function("document.querySelector('.richmenu .menu img').complete")
        # the menu is as wide as the chat (the whole phone at 390 px), nothing wider than the screen
        menu = page.locator(".richmenu .menu").bounding_box()
        column = page.locator(".phone").bounding_box()
        assert menu is not None and column is not None
        assert abs(menu["width"] - min(width, 480)) < 1 and abs(column["width"] - menu["width"]) < 1
        assert abs(menu["height"] - menu["width"] * 843 / 2500) < 2
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # the card area is the picture's left half, a link to the member card in a new tab
        card = page.locator("a.area[data-area='1']")
        box = card.bounding_box()
        assert box is not None and abs(box["width"] - menu["width"] / 2) < 1
        assert card.get_attribute("target") == "_blank"
        assert card.get_attribute("href").endswith(f"/m/{menu_shop.slug}/card/")
        shot(page, f"01-menu-{width}", full_page=False)

        # when the chat bar is tapped the menu closes, and opens again
        page.click(".richmenu summary.chatbar")
        page.wait_for_selector(".richmenu .menu", state="hidden")
        page.click(".richmenu summary.chatbar")
        page.wait_for_selector(".richmenu .menu", state="visible")

        # when the message area is tapped, the text goes out and the shop's reply comes in
        page.click("form.area[data-area='2'] button")
        page.wait_for_selector(".row.out .bubble:has-text('เวลาเปิด')")
        page.wait_for_selector(".row.in .bubble:has-text('เปิดทุกวัน 07:00–20:00 น.')")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"02-reply-{width}", full_page=False)
    finally:
        context.close()
