"""The segment builder and the RFM grid in a real browser (Debian Chromium, Thai), at 1280 and
390 px: an owner adds three conditions (a tag, a lowest balance, a product bought), sees the count
and the first members change as each one is set (and an incomplete condition's problem on its
own row), saves, and opens the RFM grid, whose numbers are the nightly scores; and, at 390 px,
the "can redeem a reward now" and "sign-up answer" controls count what the server counts. No page
is wider than the screen. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.segments.conditions import parse_conditions, segment_members
from campaigns.segments.models import Segment
from campaigns.segments.rfm import RfmGroup
from campaigns.segments.services import rfm_refresh
from members.ledger.actors import Actor
from members.ledger.earning import LineItem
from members.ledger.services import points_earn
from members.line.models import LineFriend
from members.signup.models import SignupAnswer, SignupQuestion
from shops.models import User
from tests.browser.conftest import _new_page
from tests.browser.test_line_friends_admin import sign_in
from tests.factories import (
    MemberFactory,
    RewardFactory,
    ShopFactory,
    SignupChoiceFactory,
    SignupQuestionFactory,
    TagFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def owner():
    shop = ShopFactory(name="คาเฟ่อร่อย")
    vip = TagFactory(shop=shop, name="VIP")
    TagFactory(shop=shop, name="ลูกค้าใหม่")
    for n in range(6):
        line_user_id = f"U{n:032x}"
        member = MemberFactory(
            shop=shop,
            first_name=f"สมาชิก{n}",
            line_user_id=line_user_id,
            bound_at=timezone.now() if n % 3 else None,
        )
        if n % 3 == 1:
            LineFriend.objects.create(shop=shop, line_user_id=line_user_id, state="friend")
        if n < 4:
            member.tags.add(vip)
        # a store visit for some, an online order with items for others
        points_earn(
            shop=shop,
            member=member,
            amount=str(100 * (n + 1)),
            idempotency_key=f"browser-{n}",
            actor=Actor.system(channel="store" if n % 2 else "online"),
            items=[LineItem(name="ลาเต้เย็น", sku="LATTE", quantity=Decimal(1), price=Decimal(n + 1))]
            if n % 2 == 0
            else (),
        )
    rfm_refresh(shop_id=shop.pk, now=timezone.now() + dt.timedelta(minutes=1))
    return UserFactory(username="owner-seg", shop=shop, role=User.Role.OWNER)


def no_overflow(page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width + 1, f"the page is {scroll}px wide on a {width}px screen"


def total(page) -> str:
    return page.inner_text("[data-testid=count-total]").strip()


def wait_total(page, expected: int) -> None:
    page.wait_for_function(
        "n => { const e = document.querySelector('[data-testid=count-total]');"
        " return e && e.textContent.trim() === n; }",
        arg=f"{expected:,}",
    )


def expected(shop, conditions) -> int:
    return segment_members(shop.pk, parse_conditions(shop.pk, conditions)).count()


@pytest.mark.parametrize("width", [1280, 390])
def test_an_owner_builds_a_segment_with_a_live_count_and_opens_the_rfm_grid(
    browser, live_server, owner, tmp_path, width
):
    shop = owner.shop
    vip = shop.tags.get(name="VIP")
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
        page.goto(reverse("admin:campaigns_segment_add"))
        page.fill("input[name=name]", "VIP ที่ซื้อลาเต้")

        # 1. a tag: the count follows the ticked tag
        page.select_option("[data-kind-select]", "tags")
        page.click("[data-add]")
        row = page.locator("[data-testid=condition]").nth(0)
        # nothing ticked yet: the row says what is missing, and there is no count
        row.locator("[data-row-errors] li").first.wait_for()
        assert "แท็ก" in row.inner_text() or "tag" in row.inner_text()
        row.get_by_label("VIP").check()
        wait_total(page, expected(shop, [{"kind": "tags", "tags": [vip.pk]}]))
        assert row.locator("[data-row-errors] li").count() == 0

        # 2. a lowest balance
        page.select_option("[data-kind-select]", "balance")
        page.click("[data-add]")
        page.locator("[data-testid=condition]").nth(1).locator("input[type=number]").first.fill("5")
        two = [{"kind": "tags", "tags": [vip.pk]}, {"kind": "balance", "min": 5}]
        wait_total(page, expected(shop, two))

        # 3. a product bought, suggested from the recorded items
        page.select_option("[data-kind-select]", "purchased")
        page.click("[data-add]")
        product = page.locator("[data-testid=condition]").nth(2).locator("[data-product='1']")
        product.fill("LAT")
        page.wait_for_function(
            "() => [...document.querySelectorAll('datalist option')].some(o => o.value === 'LATTE')"
        )
        product.fill("LATTE")
        three = [*two, {"kind": "purchased", "mode": "any", "products": ["LATTE"]}]
        want = expected(shop, three)
        assert want not in (0, expected(shop, two))  # each step really changed the count
        wait_total(page, want)
        assert page.locator("[data-testid=preview-row]").count() == want
        assert page.inner_text("[data-testid=count-line]").strip() != ""
        no_overflow(page, width)
        page.locator("[data-count]").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / f"segment-builder-{width}.png"), full_page=True)

        # saved through the form, as built
        page.click("button[name=_continue]")
        page.wait_for_url("**/change/")
        segment = Segment.objects.get()
        assert segment.shop == shop and segment.name == "VIP ที่ซื้อลาเต้"
        assert [c["kind"] for c in segment.conditions] == ["tags", "balance", "purchased"]
        assert segment.conditions[2]["products"] == ["LATTE"]
        wait_total(page, want)  # the saved segment opens with its count

        # the RFM grid: the nightly scores, a row per group, a segment from a group
        page.goto(reverse("admin:campaigns_segment_rfm"))
        page.wait_for_selector("[data-testid=rfm-grid]")
        rows = page.locator("[data-testid=rfm-row]")
        assert rows.count() == len(RfmGroup)
        shown = sum(
            int(rows.nth(i).locator("[data-testid=rfm-members]").inner_text().replace(",", ""))
            for i in range(rows.count())
        )
        assert shown == 6
        no_overflow(page, width)
        page.screenshot(path=str(tmp_path / f"rfm-grid-{width}.png"), full_page=True)
        page.click("[data-testid=rfm-refresh]")
        page.wait_for_selector("[data-testid=rfm-grid]")
        first = page.locator("[data-testid=rfm-row]").first
        first.locator("[data-testid=rfm-new-segment]").click()
        page.wait_for_selector("[data-testid=condition][data-kind=rfm]")
        assert page.locator("[data-testid=condition] input[type=checkbox]:checked").count() == 1
    finally:
        context.close()


def test_the_reward_and_sign_up_answer_controls_count_what_the_server_counts(
    browser, live_server, owner, tmp_path
):
    # given a reward some members can redeem now, and a sign-up question some answered
    shop = owner.shop
    members = list(shop.members.order_by("pk"))
    balances = sorted(m.balance for m in members)
    reward = RewardFactory(shop=shop, name="ลาเต้ฟรี", points_cost=balances[3])
    job = SignupQuestionFactory(shop=shop, label="อาชีพ", kind=SignupQuestion.Kind.MULTIPLE)
    student = SignupChoiceFactory(question=job, label="นักเรียน")
    SignupChoiceFactory(question=job, label="พนักงาน")
    can = set(
        segment_members(
            shop.pk, parse_conditions(shop.pk, [{"kind": "reward", "rewards": [reward.pk]}])
        )
    )
    # one student who can redeem it and one who cannot: the AND of both holds one of them
    for member in [next(m for m in members if m in can), next(m for m in members if m not in can)]:
        SignupAnswer.objects.create(shop=shop, member=member, question=job).choices.set([student])
    context, page = _new_page(
        browser,
        base_url=live_server.url,
        viewport={"width": 390, "height": 900},
        locale="th-TH",
        timezone_id="Asia/Bangkok",
        is_mobile=True,
        has_touch=True,
    )
    try:
        sign_in(page, owner.username)
        page.goto(reverse("admin:campaigns_segment_add"))

        # when the owner ticks the reward: the members who can redeem it now
        page.select_option("[data-kind-select]", "reward")
        page.click("[data-add]")
        page.locator("[data-testid=condition]").nth(0).get_by_label("ลาเต้ฟรี").check()
        can_redeem = [{"kind": "reward", "rewards": [reward.pk]}]
        want = expected(shop, can_redeem)
        assert 0 < want < len(members)
        wait_total(page, want)

        # and then "chose นักเรียน" for the sign-up question: both conditions (AND)
        page.select_option("[data-kind-select]", "signup_answer")
        page.click("[data-add]")
        row = page.locator("[data-testid=condition]").nth(1)
        row.locator("select").nth(1).select_option("chose")
        row.get_by_label("นักเรียน").check()
        both = [*can_redeem, {"kind": "signup_answer", "question": job.pk, "choices": [student.pk]}]
        want_both = expected(shop, both)
        assert want_both == 1
        wait_total(page, want_both)
        no_overflow(page, 390)
        page.screenshot(path=str(tmp_path / "segment-reward-answer-390.png"), full_page=True)

        # then the saved conditions are what the server counted
        page.fill("input[name=name]", "แลกลาเต้ได้ และเป็นนักเรียน")
        page.click("button[name=_continue]")
        page.wait_for_url("**/change/")
        assert Segment.objects.get().conditions == both
    finally:
        context.close()
