"""Reply kinds in a real browser (Debian Chromium, Thai), at 1280 px and on a 390 px phone: the
owner makes a tappable picture, is told in Thai which area line falls outside the picture, fixes
it and sees the kind in the list; the greeting page has the coupons switch. No page scrolls
sideways on the phone. Screenshots: test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.urls import reverse
from PIL import Image

from campaigns.autoreplies.models import Greeting, KeywordRule
from shops.models import User
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, shot
from tests.browser.test_notifications_admin import fits_width, sign_in_admin
from tests.factories import ShopFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = [(1280, 800), (390, 844)]


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (6, 199, 85)).save(out, format="JPEG")
    return out.getvalue()


def owner_page(browser, live_server, width, height):
    cache.clear()
    shop = ShopFactory(name="คาเฟ่อร่อย", language="th")
    owner = UserFactory(username=f"owner-{width}", shop=shop, role=User.Role.OWNER)
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    sign_in_admin(page, owner)
    return shop, context, page


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_owner_makes_a_tappable_picture_and_fixes_an_area_outside_it(
    browser, live_server, width, height
):
    shop, context, page = owner_page(browser, live_server, width, height)
    other = ShopFactory(name="SHOP-B", slug="shop-b")
    KeywordRule.objects.create(shop=other, name="SECRET-RULE", keywords="x", reply_unbound="x")
    try:
        page.goto(reverse("admin:campaigns_keywordrule_add"))
        page.fill("input[name=name]", "เมนูแนะนำ")
        page.fill("textarea[name=keywords]", "เมนู")
        page.fill("textarea[name=reply_unbound]", "เมนูแนะนำวันนี้")
        page.select_option("select[name=kind]", "imagemap")
        page.set_input_files(
            "input[name=image]",
            {"name": "menu.jpg", "mimeType": "image/jpeg", "buffer": jpeg(1040, 520)},
        )
        # the second area runs 80 px below a 1040 × 520 picture
        page.fill(
            "textarea[name=imagemap_areas]",
            "0, 0, 520, 520, https://example.com/menu\n520, 400, 520, 200, คูปอง",
        )
        shot(page, f"01-form-{width}")
        if width <= 390:
            assert fits_width(page)
        page.click("button[name=_save]")
        page.wait_for_selector("text=บรรทัด 2")
        assert "พื้นที่เกินขอบรูปภาพ" in page.inner_text("body")
        shot(page, f"02-area-error-{width}")
        if width <= 390:
            assert fits_width(page)
        assert not KeywordRule.objects.filter(shop=shop).exists()

        # the picture has to be chosen again after a refused form, as in any browser form
        page.set_input_files(
            "input[name=image]",
            {"name": "menu.jpg", "mimeType": "image/jpeg", "buffer": jpeg(1040, 520)},
        )
        page.fill(
            "textarea[name=imagemap_areas]",
            "0, 0, 520, 520, https://example.com/menu\n520, 0, 520, 520, คูปอง",
        )
        page.click("button[name=_save]")
        page.wait_for_selector("[data-testid=kind]")
        kind = page.inner_text("[data-testid=kind]")
        assert "รูปภาพที่กดได้" in kind
        assert "SECRET-RULE" not in page.inner_text("body")
        shot(page, f"03-list-{width}")
        if width <= 390:
            assert fits_width(page)
        saved = KeywordRule.objects.get(shop=shop)
        assert saved.kind == "imagemap" and saved.image

        page.goto(reverse("admin:campaigns_keywordrule_change", args=[saved.pk]))
        picture = page.wait_for_selector("[data-testid=picture]")
        assert page.evaluate("(img) => img.naturalWidth", picture) == 240
        shot(page, f"04-change-{width}")
        if width <= 390:
            assert fits_width(page)
    finally:
        context.close()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_owner_turns_off_the_coupons_keyword_on_the_greeting_page(
    browser, live_server, width, height
):
    shop, context, page = owner_page(browser, live_server, width, height)
    try:
        page.goto(reverse("admin:campaigns_greeting_add"))
        label = page.wait_for_selector("label[for=id_coupons_keyword]")
        assert "คูปอง" in label.inner_text()
        assert page.is_checked("input[name=coupons_keyword]")
        page.fill("textarea[name=new_unbound]", "ยินดีต้อนรับสู่ {shop}")
        page.uncheck("input[name=coupons_keyword]")
        shot(page, f"01-greeting-{width}")
        if width <= 390:
            assert fits_width(page)
        page.click("button[name=_save]")
        page.wait_for_url("**/campaigns/greeting/")
        greeting = Greeting.objects.get(shop=shop)
        assert greeting.coupons_keyword is False and greeting.points_keyword is True
        shot(page, f"02-greetings-{width}")
        if width <= 390:
            assert fits_width(page)
    finally:
        context.close()
