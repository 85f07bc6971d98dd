"""The demo owner sets up the shop in a real browser, in Thai, then reads the back office in English
(issue 2, "Done when")."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from PIL import Image, ImageDraw

from loyalty.management.commands.seed_demo import DEMO_PASSWORD, DEMO_SLUG
from shops.models import Branch, PolicyDocument, Shop, Tag, Tier
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

README_SCREENSHOT = Path(settings.BASE_DIR) / "docs" / "img" / "admin-dashboard.png"


@pytest.fixture
def demo(live_server):
    call_command("seed_demo", stdout=io.StringIO())
    return Shop.objects.get(slug=DEMO_SLUG)


@pytest.fixture
def logo_file(tmp_path) -> Path:
    """A PNG logo with transparency, made with Pillow."""
    image = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((16, 16, 496, 496), fill=(6, 199, 85, 255))
    draw.rectangle((176, 150, 336, 362), fill=(255, 255, 255, 255))
    path = tmp_path / "cafe-logo.png"
    image.save(path)
    return path


def sign_in(page, username: str = "owner") -> None:
    page.goto("/admin/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("[data-testid=dashboard]")


def save(page) -> None:
    page.click("button[name=_save]")
    page.wait_for_load_state("domcontentloaded")


def expect_saved(page) -> None:
    """The admin answered with its success message, not the form again with errors."""
    errors = page.locator(".errornote, .errorlist")
    assert errors.count() == 0, errors.all_inner_texts()


def test_demo_owner_sets_up_the_shop_in_thai_then_reads_english(phone_page, demo, logo_file):
    page = phone_page

    # -- sign in: the back office speaks Thai by default
    page.goto("/admin/")
    assert page.locator("html").get_attribute("lang") == "th"
    assert "เข้าสู่ระบบ" in page.inner_text("#login-form")
    shot(page, "01-login")
    sign_in(page)
    shot(page, "02-dashboard")

    # -- add a branch (the code typed in lower case is stored in capitals)
    page.goto("/admin/shops/branch/add/")
    assert "บันทึก" in page.inner_text("button[name=_save]")  # "Save"
    page.fill("input[name=name]", "สาขาทองหล่อ")
    page.fill("input[name=code]", "bkk03")
    page.fill("textarea[name=address]", "ซอยทองหล่อ 10 วัฒนา กรุงเทพฯ")
    shot(page, "03-branch-form")
    save(page)
    expect_saved(page)
    assert Branch.objects.filter(shop=demo, code="BKK03", name="สาขาทองหล่อ").exists()
    shot(page, "04-branches")

    # -- add a tier
    page.goto("/admin/shops/tier/add/")
    page.fill("input[name=name]", "Diamond")
    page.fill("input[name=threshold]", "20000")
    page.fill("input[name=earn_multiplier]", "2.00")
    page.fill("textarea[name=benefits]", "รับพอยท์ 2 เท่า และเครื่องดื่มฟรีในวันเกิด")
    save(page)
    expect_saved(page)
    assert Tier.objects.filter(shop=demo, name="Diamond", threshold=20000).exists()

    # -- add a tag
    page.goto("/admin/shops/tag/add/")
    page.fill("input[name=name]", "ลูกค้าประจำ")
    save(page)
    expect_saved(page)
    assert Tag.objects.filter(shop=demo, name="ลูกค้าประจำ").exists()

    # -- upload a logo
    page.goto(f"/admin/shops/shop/{demo.pk}/change/")
    page.set_input_files("input[name=logo]", str(logo_file))
    shot(page, "05-shop-profile")
    save(page)
    expect_saved(page)
    demo.refresh_from_db()
    assert demo.logo.name.endswith(".png")
    assert demo.logo_thumbnail

    # -- publish a new version of the privacy policy
    page.goto("/admin/shops/policydocument/add/?kind=privacy")
    body = page.locator("textarea[name=body]")
    assert "นโยบายความเป็นส่วนตัว" in body.input_value()  # starts from the current version
    body.fill(body.input_value() + "\n\nฉบับปรับปรุง: เพิ่มการใช้คุกกี้เพื่อวิเคราะห์การใช้งาน")
    page.select_option("select[name=kind]", "privacy")
    shot(page, "06-privacy-form")
    save(page)
    expect_saved(page)
    versions = list(
        PolicyDocument.objects.filter(shop=demo, kind="privacy")
        .order_by("version")
        .values_list("version", flat=True)
    )
    assert versions == [1, 2]
    shot(page, "07-documents")

    # -- switch to English: the same back office, English labels
    page.goto("/")
    page.click("button[name=language][value=en]")
    page.goto("/admin/shops/branch/")
    assert page.locator("html").get_attribute("lang") == "en"
    text = page.inner_text("body")
    assert "สาขาทองหล่อ" in text  # the data stays as typed
    assert re.search(r"Add branch|Branches", text)
    page.goto("/admin/shops/tier/add/")
    assert "Save" in page.inner_text("button[name=_save]")
    assert "บันทึก" not in page.inner_text("button[name=_save]")
    assert "Tier name" in page.inner_text("#tier_form")
    shot(page, "08-english")


def test_dashboard_screenshot_for_the_readme(desktop_page, live_server, demo):
    page = desktop_page
    # The README is in English; the back office reads the same in Thai.
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}]
    )
    sign_in(page)
    cards = page.locator("[data-testid=dashboard]")
    assert "300" in cards.inner_text()  # the demo's members

    path = shot(page, "dashboard", full_page=False)

    with Image.open(path) as image:
        assert image.size == (1440, 900)
    # Refresh the README's picture on request (its numbers change with the date, and a test run
    # should not leave the working tree changed), or when it is missing.
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") or not README_SCREENSHOT.exists():
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOT)
