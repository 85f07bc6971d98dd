"""The rich-menu editor in a real browser (Debian Chromium, Thai), at 1280 and 390 px: an owner
uploads a picture, sets an action per area, saves, and sees the preview with the areas drawn on the
picture; the list shows the menu's sync state. Screenshots:
test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.richmenus.models import RichMenu
from shops.models import User
from tests.browser.conftest import _new_page, shot
from tests.browser.test_line_friends_admin import sign_in
from tests.campaigns.richmenus.conftest import picture
from tests.factories import ShopFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADD_URL = reverse("admin:campaigns_richmenu_add")
LIST_URL = reverse("admin:campaigns_richmenu_changelist")


@pytest.fixture
def owner():
    shop = ShopFactory(name="คาเฟ่อร่อย")
    return UserFactory(username="owner-rm", shop=shop, role=User.Role.OWNER)


def add_menu(page, tmp_path) -> None:
    image = tmp_path / "menu.png"
    image.write_bytes(picture((2500, 843)))
    page.goto(ADD_URL)
    page.fill("input[name=name]", "เมนูสมาชิก")
    page.fill("input[name=chat_bar_text]", "เมนู")
    page.set_input_files("input[name=image]", str(image))
    page.select_option("select[name=layout]", "2")
    for i, (action, value) in enumerate([("card", ""), ("message", "โปรวันนี้")]):
        page.select_option(f"select[name=areas-{i}-action]", action)
        page.fill(f"input[name=areas-{i}-index]", str(i + 1))
        page.fill(f"input[name=areas-{i}-value]", value)
    page.click("button[name=_continue]")
    page.wait_for_url("**/change/")
    page.wait_for_selector("svg[data-rich-menu-preview]")


def check_preview(page, width: int) -> None:
    preview = page.locator("svg[data-rich-menu-preview]")
    assert preview.locator("rect").count() == 2
    labels = preview.text_content()
    assert "1. บัตรสมาชิก" in labels and "2. ส่งข้อความ" in labels
    box = preview.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_owner_builds_a_menu_and_sees_its_areas_on_the_picture(
    browser, live_server, owner, tmp_path, width
):
    context, page = _new_page(
        browser,
        base_url=live_server.url,
        viewport={"width": width, "height": 900},
        locale="th-TH",
        timezone_id="Asia/Bangkok",
        is_mobile=width < 500,
        has_touch=width < 500,
    )
    try:
        sign_in(page, owner.username)
        add_menu(page, tmp_path)
        menu = RichMenu.objects.get()
        assert menu.shop_id == owner.shop_id and menu.areas.count() == 2
        check_preview(page, width)
        shot(page, "01-editor")

        page.goto(LIST_URL)
        row = page.inner_text("#result_list")
        assert "เมนูสมาชิก" in row and "ฉบับร่าง" in row
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, "02-list")
    finally:
        context.close()
