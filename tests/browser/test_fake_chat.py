"""The fake LINE chat in a real browser (Debian Chromium): at 360 px it looks like a phone's LINE
chat (nothing wider than the screen), the OA's card and links are there, and tapping "add friend"
and sending a message reach the shop's webhook; at 1280 px it stays a phone-wide column.
Screenshots: test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import uuid

import pytest
import requests
from django.urls import reverse

from members.line.models import LineFriend, WebhookEvent
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


def push(fake_line, to: str, *messages: dict) -> None:
    response = requests.post(
        f"{fake_line.base_url}/v2/bot/message/push",
        json={"to": to, "messages": list(messages)},
        headers={
            "Authorization": f"Bearer {MESSAGING_ACCESS_TOKEN}",
            "X-Line-Retry-Key": str(uuid.uuid4()),
        },
        timeout=5,
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def wired(fake_line, live_server, settings):
    """A shop whose webhook the fake posts to (tasks run at once), and two messages to Nok."""
    from members.line.selectors import webhook_channels_forget

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    webhook_channels_forget()
    shop = ShopFactory(name="คาเฟ่อร่อย (Café Aroi)")
    ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        messaging_channel_secret=MESSAGING_CHANNEL_SECRET,
    )
    url = live_server.url + reverse("line-webhook", kwargs={"shop_slug": shop.slug})
    fake_line.add_channel(
        MESSAGING_CHANNEL_ID, MESSAGING_CHANNEL_SECRET, webhook_url=url, name=shop.name
    )
    push(
        fake_line,
        NOK,
        {
            "type": "text",
            "text": f"คุณได้รับ 12 พอยท์ ยอดคงเหลือ 340 พอยท์ ดูบัตร: {live_server.url}/m/x/",
        },
        {
            "type": "template",
            "altText": "คูปองพร้อมใช้",
            "template": {
                "type": "buttons",
                "title": "อเมริกาโน่เย็นฟรี",
                "text": "แลกได้ถึง 31 ธ.ค.",
                "actions": [{"type": "uri", "label": "ดูคูปอง", "uri": f"{live_server.url}/"}],
            },
        },
    )
    return shop


def open_chat(browser, fake_line, width: int):
    context, page = _new_page(
        browser,
        viewport={"width": width, "height": 780},
        is_mobile=width < 500,
        has_touch=width < 500,
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    page.goto(f"{fake_line.base_url}/__fake__/chat/{NOK}")
    return context, page


def test_a_chat_on_a_phone_shows_the_oas_messages_and_its_buttons_reach_the_shop(
    browser, fake_line, wired
):
    context, page = open_chat(browser, fake_line, 360)
    try:
        assert page.inner_text("header .oa") == "คาเฟ่อร่อย (Café Aroi)"
        assert page.locator(".row.in .bubble.text a").count() == 1
        assert page.locator(".card a.btn:has-text('ดูคูปอง')").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        shot(page, "01-chat-360", full_page=False)

        # when Nok adds the OA as a friend and writes to it
        page.click("button.follow")
        page.wait_for_selector(".note.event [data-status='200']")
        page.fill("#text", "ขอเมนูหน่อยค่ะ")
        page.click("button.send")
        page.wait_for_selector(".row.out .bubble:has-text('ขอเมนูหน่อยค่ะ')")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        shot(page, "02-after-follow-and-message", full_page=False)
    finally:
        context.close()

    # then the shop has her as a friend and stored her message once
    assert LineFriend.objects.get(shop=wired, line_user_id=NOK).state == LineFriend.State.FRIEND
    assert list(
        WebhookEvent.objects.filter(shop=wired).order_by("pk").values_list("event_type", flat=True)
    ) == ["follow", "message"]


def test_on_a_wide_screen_the_chat_stays_a_phone_wide_column(browser, fake_line, wired):
    context, page = open_chat(browser, fake_line, 1280)
    try:
        box = page.locator(".phone").bounding_box()
        assert box is not None and box["width"] <= 480
        shot(page, "01-chat-1280", full_page=False)
    finally:
        context.close()
