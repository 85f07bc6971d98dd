"""The rich-menu editor's live preview in a real browser (Debian Chromium, Thai), at 1280 and
390 px: an owner picks a picture and sees it at once with the layout's areas drawn; switches to
custom rectangles and sees each rectangle as it is typed (an overlap drawn in red); saves, and
the saved menu is drawn the same from the stored picture. No page is wider than the screen.
Its screenshots (test-artifacts/screenshots/) are the ones in docs/img/rich-menus-editor-<width>.png,
copied by hand: a test run leaves the tracked docs alone."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image, ImageDraw

from campaigns.richmenus.layout import CUSTOM, Rect
from campaigns.richmenus.models import RichMenu
from shops.models import User
from tests.browser.conftest import _new_page, shot
from tests.browser.test_line_friends_admin import sign_in
from tests.factories import ShopFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADD_URL = reverse("admin:campaigns_richmenu_add")
LIVE = "svg[data-rich-menu-live-svg]"
# A big promotion banner on the left, two buttons stacked on the right.
AREAS = [
    (Rect(0, 0, 1600, 843), "url", "https://shop.example/promo"),
    (Rect(1600, 0, 900, 421), "card", ""),
    (Rect(1600, 421, 900, 422), "rewards", ""),
]


def banner() -> bytes:
    image = Image.new("RGB", (2500, 843), (6, 199, 85))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1599, 842), fill=(255, 183, 3))
    draw.rectangle((1600, 0, 2499, 420), fill=(33, 158, 188))
    draw.rectangle((1600, 421, 2499, 842), fill=(2, 48, 71))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def owner():
    shop = ShopFactory(name="คาเฟ่อร่อย")
    return UserFactory(username="owner-rme", shop=shop, role=User.Role.OWNER)


def live_areas(page, count: int) -> None:
    page.wait_for_selector(f"{LIVE}[data-areas='{count}']")


def fill_area(page, row: int, rect: Rect, action: str, value: str) -> None:
    page.fill(f"input[name=areas-{row}-index]", str(row + 1))
    page.select_option(f"select[name=areas-{row}-action]", action)
    page.fill(f"input[name=areas-{row}-value]", value)
    for name in ("x", "y", "width", "height"):
        page.fill(f"input[name=areas-{row}-{name}]", str(getattr(rect, name)))


def no_overflow(page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width + 1, f"the page is {scroll}px wide on a {width}px screen"


@pytest.mark.parametrize("width", [1280, 390])
def test_the_preview_follows_the_form_before_and_after_saving(
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
        page.goto(ADD_URL)
        # nothing picked yet: the preview says so
        page.wait_for_selector("[data-rich-menu-live] .rm-empty")

        # the picked picture shows at once, cut by the default layout (6 areas)
        picture = tmp_path / "menu.png"
        picture.write_bytes(banner())
        page.fill("input[name=name]", "เมนูโปรโมชัน")
        page.fill("input[name=chat_bar_text]", "เมนู")
        page.set_input_files("input[name=image]", str(picture))
        live_areas(page, 6)
        page.select_option("select[name=layout]", "2")
        live_areas(page, 2)

        # custom rectangles appear as they are typed, labelled with their action
        page.select_option("select[name=layout]", str(CUSTOM))
        live_areas(page, 0)
        for row, (rect, action, value) in enumerate(AREAS):
            fill_area(page, row, rect, action, value)
        live_areas(page, 3)
        labels = page.locator(LIVE).text_content()
        assert "1. ลิงก์เว็บไซต์" in labels and "2. บัตรสมาชิก" in labels, labels
        assert page.locator(f"{LIVE} .rm-bad").count() == 0

        # an overlap is drawn in red at once, and refused on save with the reason
        page.fill("input[name=areas-1-x]", "1500")
        page.wait_for_selector(f"{LIVE} .rm-bad")
        assert page.locator(f"{LIVE} .rm-bad").count() == 2
        page.click("button[name=_continue]")
        page.wait_for_selector(".errornote, .errorlist")
        assert "ทับ" in page.inner_text("body") or "overlap" in page.inner_text("body")
        assert not RichMenu.objects.exists()

        # fixed (the picture must be picked again after a refused form), saved
        page.set_input_files("input[name=image]", str(picture))
        page.fill("input[name=areas-1-x]", "1600")
        live_areas(page, 3)
        page.wait_for_selector(f"{LIVE} .rm-bad", state="detached")
        page.click("button[name=_continue]")
        page.wait_for_url("**/change/")

        menu = RichMenu.objects.get()
        assert menu.layout == CUSTOM
        assert [a.rect for a in menu.areas.all()] == [rect for rect, _a, _v in AREAS]
        # the saved picture is drawn live from the stored file, the server's drawing hidden
        live_areas(page, 3)
        assert page.locator("svg[data-rich-menu-preview]").count() == 1  # the server's is gone
        box = page.locator(LIVE).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        no_overflow(page, width)

        page.locator("[data-rich-menu-live]").scroll_into_view_if_needed()
        shot(page, f"editor-{width}", full_page=False)
    finally:
        context.close()
