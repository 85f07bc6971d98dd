"""Keyword replies in a real browser (Debian Chromium, Thai), at 1280 px and on a 390 px phone: the
owner adds a rule, sees how it matches in the list, and the page fits the phone's width.
Screenshots: test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from campaigns.autoreplies.models import KeywordRule
from shops.models import User
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, shot
from tests.browser.test_notifications_admin import fits_width, sign_in_admin
from tests.factories import ShopFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_owner_adds_a_keyword_reply_and_sees_how_it_matches(browser, live_server, width, height):
    cache.clear()
    shop = ShopFactory(name="คาเฟ่อร่อย", language="th")
    owner = UserFactory(username=f"owner-{width}", shop=shop, role=User.Role.OWNER)
    other = ShopFactory(name="SHOP-B", slug="shop-b")
    KeywordRule.objects.create(shop=other, name="SECRET-RULE", keywords="x", reply_unbound="x")
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in_admin(page, owner)
        page.goto(reverse("admin:campaigns_keywordrule_add"))
        page.fill("input[name=name]", "เวลาเปิดร้าน")
        page.select_option("select[name=match]", "contains")
        page.fill("textarea[name=keywords]", "เปิดกี่โมง\nเวลา เปิด")
        page.fill("textarea[name=reply_unbound]", "ร้านเปิด ๙ โมงเช้า")
        page.fill("textarea[name=reply_bound]", "คุณ{name} ร้านเปิด 9 โมงค่ะ")
        shot(page, f"01-form-{width}")
        if width <= 390:
            assert fits_width(page)
        page.click("button[name=_save]")
        page.wait_for_selector("[data-testid=matching]")

        body = page.inner_text("body")
        assert "ตอบกลับอัตโนมัติ" in body and "SECRET-RULE" not in body
        matching = page.inner_text("[data-testid=matching]")
        assert "มีคำว่า" in matching and "“เวลาเปิด”" in matching
        shot(page, f"02-list-{width}")
        if width <= 390:
            assert fits_width(page)
        assert KeywordRule.objects.get(shop=shop).name == "เวลาเปิดร้าน"
    finally:
        context.close()
