"""LINE notifications in a real browser (Debian Chromium, Thai): the owner reads every notice with
its preview at 1280 px and on a 390 px phone, types a text with a wrong placeholder and is told
which, then saves a good one; a member turns LINE news off on the profile page of a phone.
Screenshots: test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from members.models import Member
from members.notifications.models import NoticeKind, NotificationSetting
from shops.models import User
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, shot
from tests.browser.test_member_pages import demo, fill_signup, sign_in_with_fake_line
from tests.factories import DEFAULT_PASSWORD, ShopFactory, UserFactory
from tests.line_fixtures import SOMCHAI, fake_line

__all__ = ["demo", "fake_line"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_width(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")


def sign_in_admin(page, user) -> None:
    page.goto("/admin/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-form", state="detached")


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_owner_edits_a_notice_text_and_is_told_which_placeholder_is_wrong(
    browser, live_server, width, height
):
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
    try:
        sign_in_admin(page, owner)
        page.goto(reverse("admin:members_notificationsetting_changelist"))

        # every kind, with its Thai and English preview
        body = page.inner_text("body")
        assert "การแจ้งเตือนทาง LINE" in body
        assert "คุณสมชาย ได้รับ 50 พอยท์" in body and "Somchai, you earned 50 points" in body
        shot(page, f"01-list-{width}")

        earned = NotificationSetting.objects.get(shop=shop, kind=NoticeKind.EARNED)
        page.goto(reverse("admin:members_notificationsetting_change", args=[earned.pk]))
        page.fill("textarea[name=text_th]", "รับ {pointz} พอยท์")
        page.click("button[name=_continue]")
        page.wait_for_load_state("domcontentloaded")
        assert "ไม่รู้จักตัวแปร {pointz}" in page.inner_text("body")
        shot(page, f"02-wrong-placeholder-{width}")
        if width <= 390:
            assert fits_width(page)

        page.fill("textarea[name=text_th]", "รับ {points} พอยท์ คงเหลือ {balance}")
        page.click("button[name=_continue]")
        page.wait_for_selector("[data-testid=preview-th]")
        assert page.inner_text("[data-testid=preview-th]").startswith("รับ 50 พอยท์ คงเหลือ 1,250")
        shot(page, f"03-saved-{width}")
        earned.refresh_from_db()
        assert earned.text_th == "รับ {points} พอยท์ คงเหลือ {balance}"
    finally:
        context.close()


def test_member_turns_line_news_off_on_a_phone(phone_page, demo, fake_line):
    page = phone_page
    page.goto(f"/m/{demo.slug}/")
    sign_in_with_fake_line(page, "สมชาย ใจดี")
    page.wait_for_selector("[data-testid=signup-form]")
    fill_signup(page, phone="0812224444")
    page.click("[data-testid=signup-submit]")
    page.wait_for_selector("[data-testid=member-card]")

    page.click("[data-testid=tab-profile]")
    panel = page.locator("[data-testid=notices-panel]")
    panel.scroll_into_view_if_needed()
    assert "การแจ้งเตือนทาง LINE" in panel.inner_text()
    shot(page, "01-news-on")

    page.click("[data-testid=notices-off]")
    page.wait_for_selector("[data-testid=notices-on]")
    assert "รับเฉพาะข้อความยืนยัน" not in page.inner_text("[data-testid=notices-panel]")
    assert "เฉพาะการยืนยัน" in page.inner_text("[data-testid=notices-panel]")
    assert fits_width(page)
    shot(page, "02-news-off")
    assert Member.objects.get(shop=demo, line_user_id=SOMCHAI).notices_opt_out is True
