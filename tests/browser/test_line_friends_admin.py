"""The LINE friends page in a real browser (Debian Chromium, Thai), at 1280 and 390 px: the counts
at the top, the filters (friend / blocked / bound / not bound), search by member name and by phone
as the shop writes it, and another shop's owner seeing none of it.
Screenshots: test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from django.urls import reverse
from django.utils import timezone

from members.line.services import line_friend_apply
from shops.models import User
from tests.browser.conftest import _new_page, shot
from tests.factories import DEFAULT_PASSWORD, MemberFactory, ShopFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FRIENDS_URL = reverse("admin:members_linefriend_changelist")


def line_id() -> str:
    return "U" + secrets.token_hex(16)


def befriend(shop, user_id: str, *, blocked: bool = False) -> str:
    """The friend as the webhook's follow (and unfollow) leave it, through the same service."""
    at = timezone.now() - dt.timedelta(days=3)
    line_friend_apply(shop_id=shop.pk, line_user_id=user_id, follow=True, at=at)
    if blocked:
        line_friend_apply(
            shop_id=shop.pk, line_user_id=user_id, follow=False, at=at + dt.timedelta(days=1)
        )
    return user_id


@pytest.fixture
def cafe():
    """Café Aroi: 4 friends (one of them the member มาลี, bound) and 2 who blocked the OA."""
    shop = ShopFactory(name="คาเฟ่อร่อย")
    mali = MemberFactory(shop=shop, first_name="มาลี", last_name="ศรีสุข", phone="+66812345678")
    bound = befriend(shop, line_id())
    mali.line_user_id = bound
    mali.save()  # the member gets her LINE id: the friend is bound (the binding signal)
    friends = [bound, *(befriend(shop, line_id()) for _ in range(3))]
    blocked = [befriend(shop, line_id(), blocked=True) for _ in range(2)]
    owner = UserFactory(username="owner-a", shop=shop, role=User.Role.OWNER)
    return {"shop": shop, "owner": owner, "friends": friends, "blocked": blocked, "bound": bound}


def sign_in(page, username: str) -> None:
    page.goto("/admin/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-form", state="detached")


def counts(page) -> dict[str, str]:
    return {
        key: page.inner_text(f"[data-testid=count-{key}]").strip()
        for key in ("friends", "blocked", "bound", "unbound")
    }


def listed_ids(page) -> set[str]:
    ids = page.locator("#result_list tbody [data-line-user-id]")
    return {ids.nth(n).get_attribute("data-line-user-id") for n in range(ids.count())}


def test_owner_sees_counts_filters_and_search_of_the_friends_at_1280(browser, live_server, cafe):
    context, page = _new_page(
        browser,
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    try:
        sign_in(page, cafe["owner"].username)
        page.goto(FRIENDS_URL)

        # the counts, in Thai
        assert counts(page) == {"friends": "4", "blocked": "2", "bound": "1", "unbound": "5"}
        header = page.inner_text("[data-testid=line-friend-counts]")
        assert "เพื่อน" in header and "บล็อก" in header and "ผูกกับสมาชิกแล้ว" in header
        assert listed_ids(page) == {*cafe["friends"], *cafe["blocked"]}
        # the bound friend's member is a link to the member
        link = page.locator("#result_list a:has-text('มาลี')")
        assert link.count() == 1
        assert "/admin/members/member/" in link.get_attribute("href")
        shot(page, "01-friends")

        # the count cards filter: blocked, then bound, then not bound
        page.click("[data-testid=line-friend-counts] a[href='?state=blocked']")
        page.wait_for_url("**state=blocked")
        assert listed_ids(page) == set(cafe["blocked"])
        assert "บล็อก" in page.inner_text("#result_list")
        shot(page, "02-blocked")
        page.goto(FRIENDS_URL + "?bound=yes")
        assert listed_ids(page) == {cafe["bound"]}
        page.goto(FRIENDS_URL + "?bound=no&state=friend")
        assert listed_ids(page) == set(cafe["friends"]) - {cafe["bound"]}

        # search by the member's name, and by her phone as the shop writes it
        for term in ("มาลี", "081-234-5678"):
            page.goto(FRIENDS_URL)
            page.fill("input[name=q]", term)
            page.press("input[name=q]", "Enter")
            page.wait_for_url("**q=*")
            assert listed_ids(page) == {cafe["bound"]}, term
        shot(page, "03-search-phone")
    finally:
        context.close()


def test_the_friends_page_fits_a_phone_at_390(phone_page, cafe):
    page = phone_page
    sign_in(page, cafe["owner"].username)
    page.goto(FRIENDS_URL)
    assert counts(page) == {"friends": "4", "blocked": "2", "bound": "1", "unbound": "5"}
    for key in ("friends", "blocked", "bound", "unbound"):
        box = page.locator(f"[data-testid=count-{key}]").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, key
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert len(listed_ids(page)) == 6
    shot(page, "01-phone")


def test_another_shops_owner_sees_none_of_the_friends(desktop_page, cafe):
    # given another shop with one friend of its own
    other = ShopFactory(name="ร้านข้างๆ")
    own = befriend(other, line_id())
    UserFactory(username="owner-b", shop=other, role=User.Role.OWNER)

    # when its owner opens the friends page
    page = desktop_page
    sign_in(page, "owner-b")
    page.goto(FRIENDS_URL)

    # then the counts and the list are that shop's alone
    assert counts(page) == {"friends": "1", "blocked": "0", "bound": "0", "unbound": "1"}
    assert listed_ids(page) == {own}
    body = page.inner_text("body")
    assert not any(user_id in body for user_id in [*cafe["friends"], *cafe["blocked"]])
    assert "มาลี" not in body
    shot(page, "01-other-shop")


@pytest.mark.parametrize("width", [1280, 390])
def test_owner_reads_the_webhook_events_in_thai(browser, live_server, cafe, width):
    # given three events LINE delivered: a follow and an unfollow (processed), a message (no
    # handler yet); and one of another shop
    from members.line.services import webhook_events_process, webhook_events_store
    from tests.members.line import payloads

    now_ms = int(timezone.now().timestamp() * 1000)
    user = cafe["friends"][1]
    ids = webhook_events_store(
        shop_id=cafe["shop"].pk,
        events=[
            payloads.follow(user_id=user, at_ms=now_ms),
            payloads.text_message(user_id=user, at_ms=now_ms + 1, text="<b>สวัสดี</b>"),
            payloads.unfollow(user_id=user, at_ms=now_ms + 2),
        ],
    )
    webhook_events_process(shop_id=cafe["shop"].pk, event_ids=ids)
    other = ShopFactory()
    theirs = line_id()
    webhook_events_store(shop_id=other.pk, events=[payloads.follow(user_id=theirs, at_ms=now_ms)])

    context, page = _new_page(
        browser,
        base_url=live_server.url,
        viewport={"width": width, "height": 900},
        is_mobile=width < 500,
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    try:
        sign_in(page, cafe["owner"].username)
        # when the owner follows the sidebar's link (on a phone the sidebar is behind its button)
        page.goto(reverse("admin:members_webhookevent_changelist"))

        # then the page counts the shop's three events, with their outcomes in Thai
        results = page.inner_text("#result_list")
        assert results.count("ประมวลผลแล้ว") == 2 and results.count("ไม่มีตัวจัดการ") == 1
        assert "3 เหตุการณ์เว็บฮุก LINE" in page.inner_text("body")
        assert listed_ids(page) == {user}
        assert theirs not in page.content()
        if width < 500:
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"01-events-{width}")

        # and the message's own page shows the raw event, escaped
        page.click("#result_list tbody tr:has-text('message') a >> nth=0")
        page.wait_for_selector("pre")
        assert "<b>สวัสดี</b>" in page.inner_text("pre")
        shot(page, f"02-event-{width}")
    finally:
        context.close()
