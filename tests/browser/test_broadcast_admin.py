"""The broadcast composer in a real browser (Debian Chromium, Thai), at 1280 and 390 px: an owner
writes a text (with a placeholder button) and a balance card, sees them in the LINE preview,
sends a test to a staff LINE account, checks the count and LINE's quota, confirms, and the fake
LINE platform receives the broadcast. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.broadcasts.models import Broadcast
from loyalty.outbox.tasks import outbox_drain
from shops.models import User
from tests.browser.conftest import _new_page
from tests.browser.test_line_friends_admin import sign_in
from tests.campaigns.broadcasts.conftest import everyone, friend, line_shop
from tests.factories import UserFactory
from tests.line_fixtures import NOK, SOMCHAI, fake_line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["fake_line", "line_shop"]

ADD_URL = reverse("admin:campaigns_broadcast_add")


@pytest.fixture
def owner(line_shop):
    return UserFactory(username="owner-bc", shop=line_shop, role=User.Role.OWNER)


def no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_owner_composes_tests_and_confirms_a_broadcast(
    browser, live_server, owner, line_shop, fake_line, settings, tmp_path, width
):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    settings.SITE_URL = live_server.url  # the cards' buttons open member pages here
    friend(line_shop, NOK, first_name="นก")
    friend(line_shop, SOMCHAI, first_name="สมชาย")  # the staff's own LINE account
    everyone(line_shop, name="ลูกค้าทุกคน")
    fake_line.set_quota(500, used=100)
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
        page.fill("input[name=name]", "โปรปีใหม่")
        page.get_by_label("ลูกค้าทุกคน").check()
        # The composer: a text with a placeholder, then a balance card.
        page.click("[data-add=text]")
        page.fill("[data-testid=text]", "สวัสดี")
        page.click("[data-placeholder=name]")
        page.click("[data-add=card]")
        page.select_option("[data-testid=card-template]", "balance")
        preview = page.locator("[data-testid=preview]")
        assert "สวัสดีคุณนก" in preview.inner_text()
        assert preview.locator(".bc-flex").count() == 1
        no_sideways_scroll(page, width)
        page.screenshot(path=str(tmp_path / f"01-compose-{width}.png"), full_page=True)

        page.click("[data-testid=save-test]")
        page.wait_for_selector("[data-testid=broadcast-test-send]")
        broadcast = Broadcast.objects.get()
        assert broadcast.messages == [
            {"type": "text", "text": "สวัสดี{name}"},
            {"type": "card", "template": "balance"},
        ]
        page.locator(f"input[value='{SOMCHAI}']").check()
        page.click("[data-testid=test-submit]")
        page.get_by_text("กำลังส่งข้อความทดสอบ").wait_for()
        outbox_drain(seconds=5)
        assert fake_line.texts_to(SOMCHAI) == ["สวัสดีสมชาย"]
        assert fake_line.texts_to(NOK) == []
        page.screenshot(path=str(tmp_path / f"02-test-sent-{width}.png"), full_page=True)

        page.click("[data-testid=to-confirm]")
        page.wait_for_selector("[data-testid=broadcast-confirm]")
        assert page.inner_text("[data-testid=count-line]").strip() == "2"
        assert page.inner_text("[data-testid=quota-used]").strip() == "101"  # the test push too
        assert page.inner_text("[data-testid=quota-uses]").strip() == "4"  # 2 people × 2
        no_sideways_scroll(page, width)
        page.screenshot(path=str(tmp_path / f"03-confirm-{width}.png"), full_page=True)

        page.click("[data-testid=confirm]")
        page.wait_for_url("**/campaigns/broadcast/")
        outbox_drain(seconds=5)
        broadcast.refresh_from_db()
        assert broadcast.state == Broadcast.State.SENT
        assert fake_line.texts_to(NOK) == ["สวัสดีนก"]
        assert fake_line.texts_to(SOMCHAI) == ["สวัสดีสมชาย", "สวัสดีสมชาย"]
        assert len(fake_line.messages_to(NOK, "flex")) == 1
        assert "โปรปีใหม่" in page.inner_text("#result_list")
        page.screenshot(path=str(tmp_path / f"04-list-{width}.png"), full_page=True)
    finally:
        context.close()
