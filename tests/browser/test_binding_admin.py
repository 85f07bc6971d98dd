"""Binding a LINE account in the back office, in a real browser (Debian Chromium, Thai), at a
desktop width and a phone width: the owner picks one of the shop's unbound LINE friends on the
member page's "Bind LINE account", then unbinds with the confirmation.
Screenshots: test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.line.models import BindingRecord, LineFriend
from members.models import Member
from shops.models import User
from tests.browser.conftest import _new_page, shot
from tests.factories import DEFAULT_PASSWORD, MemberFactory, ShopFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINE_ID = "U" + "4af49806" * 4


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_owner_binds_a_friend_then_unbinds(browser, live_server, width, height):
    # given a member known by phone and a LINE friend of the shop nobody is bound to
    shop = ShopFactory(name="คาเฟ่อร่อย")
    owner = UserFactory(username="owner", shop=shop, role=User.Role.OWNER)
    member = MemberFactory(shop=shop, phone="+66812345678", first_name="สมชาย", last_name="ใจดี")
    LineFriend.objects.create(shop=shop, line_user_id=LINE_ID, state="friend")
    context, page = _new_page(
        browser,
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    try:
        page.goto("/admin/")
        page.fill("input[name=username]", owner.username)
        page.fill("input[name=password]", DEFAULT_PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#login-form", state="detached")

        # when the owner opens the member and chooses "Bind LINE account"
        page.goto(reverse("admin:members_member_change", args=[member.pk]))
        assert "ยังไม่ผูกบัญชี" in page.inner_text("[data-testid=binding-status]")
        bind_path = reverse("admin:members_member_bind_line", args=[member.pk])
        assert page.locator(f"a[href='{bind_path}']").count() == 1  # the page's action
        page.goto(bind_path)
        page.wait_for_selector("[data-testid=binding-action]")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, "01-bind-form")
        page.select_option("select[name=friend]", label=LINE_ID)
        page.click("[data-testid=binding-submit]")
        page.wait_for_selector("[data-testid=binding-records]")

        # then the member is bound, the page says so and shows the record
        assert LINE_ID in page.inner_text("[data-testid=binding-status]")
        assert "ระบบหลังร้าน" in page.inner_text("[data-testid=binding-records]")
        shot(page, "02-bound")
        assert Member.objects.get(pk=member.pk).line_user_id == LINE_ID

        # when the owner unbinds, confirming on the page that asks
        page.goto(reverse("admin:members_member_unbind_line", args=[member.pk]))
        assert LINE_ID in page.inner_text("[data-testid=binding-action]")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, "03-unbind-confirm")
        page.click("[data-testid=binding-submit]")
        page.wait_for_selector("[data-testid=binding-records]")

        # then the member is not bound, and both changes are recorded with the owner
        assert "ยังไม่ผูกบัญชี" in page.inner_text("[data-testid=binding-status]")
        shot(page, "04-unbound")
        assert not Member.objects.get(pk=member.pk).is_bound
        assert [(r.action, r.actor) for r in BindingRecord.objects.order_by("pk")] == [
            ("bound", "admin: owner"),
            ("unbound", "admin: owner"),
        ]
    finally:
        context.close()
