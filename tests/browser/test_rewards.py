"""Rewards in real browsers (Debian Chromium, 390 × 844, Thai): a member signed in through the fake
LINE Login redeems a coupon and a cashier on their own phone uses it, once; a delivered reward goes
from the member's address through the owner's back office (preparing, shipped with a tracking
number) to the cashier handing it over in the store; a member redeems at the counter with a 6-digit
code and the cashier's confirmation takes the points once.
Screenshots: test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.models import EntryKind, LedgerEntry
from rewards.models import Coupon, Delivery, Redemption, SpotCode
from shops.models import ShopLineChannel, User
from shops.staffing.models import StaffAction
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, shot
from tests.factories import (
    DEFAULT_PASSWORD,
    BranchFactory,
    MemberFactory,
    RewardFactory,
    ShopFactory,
    UserFactory,
)
from tests.line_fixtures import LOGIN_CHANNEL_ID, LOGIN_CHANNEL_SECRET, SOMCHAI, fake_line

__all__ = ["fake_line"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLUG = "cafe-aroi"


@pytest.fixture
def shop(db, fake_line):
    shop = ShopFactory(
        name="คาเฟ่อร่อย",
        slug=SLUG,
        expiry_mode="never",
        tiers_enabled=False,
        welcome_points=0,
        coupon_validity_days=30,
    )
    ShopLineChannel.objects.create(
        shop=shop, login_channel_id=LOGIN_CHANNEL_ID, login_channel_secret=LOGIN_CHANNEL_SECRET
    )
    return shop


@pytest.fixture
def branch(shop):
    return BranchFactory(shop=shop, name="สาขาสยาม", code="SIAM")


@pytest.fixture
def cashier(shop, branch):
    user = UserFactory(username="nok", first_name="นก", shop=shop, role=User.Role.CASHIER)
    user.branches.add(branch)
    return user


@pytest.fixture
def owner(shop):
    return UserFactory(username="owner", shop=shop, role=User.Role.OWNER)


@pytest.fixture
def somchai(shop):
    """A registered member on LINE with 250 points."""
    member = MemberFactory(
        shop=shop, first_name="สมชาย", last_name="ใจดี", phone="+66812345678", line_user_id=SOMCHAI
    )
    ledger.points_adjust(
        member=member, points=250, note="ยอดยกมา", idempotency_key="seed", actor=Actor.system()
    )
    member.refresh_from_db()
    assert member.balance == 250
    return member


@pytest.fixture
def till(browser, live_server):
    """The cashier's own phone: another browser context, so nothing is shared with the member's."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


# --- helpers ------------------------------------------------------------------------------------


def url(name: str, **kwargs) -> str:
    return reverse(f"rewards:{name}", kwargs={"shop_slug": SLUG, **kwargs})


def member_signs_in(page, to: str) -> None:
    """Open a member page, tap "Sign in with LINE", pick Somchai on the fake LINE's page; back on
    the page asked for."""
    page.goto(to)
    page.click("[data-testid=line-login]")
    page.wait_for_selector("button.user")
    page.click(f"button.user[value='{SOMCHAI}']")
    page.wait_for_url(re.compile(re.escape(to) + r"$"))


def cashier_signs_in(page, username="nok", password=DEFAULT_PASSWORD) -> None:
    page.goto("/staff/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[data-testid=sign-in]")
    page.wait_for_selector("[data-testid=find-phone]")


def owner_signs_in(page, owner) -> None:
    page.goto("/admin/")
    page.fill("input[name=username]", owner.username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-form", state="detached")


def spendable(page) -> str:
    return page.inner_text("[data-testid=spendable] strong").strip()


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def post_twice_behind_the_pages_back(page, selector: str) -> list[int]:
    """Post the form of ``selector`` twice at once, as a flaky network retrying would."""
    return page.evaluate(
        """async (selector) => {
            const form = document.querySelector(selector).closest('form');
            const send = () => fetch(form.action, {method: 'POST', body: new FormData(form),
                                                   credentials: 'same-origin'});
            const answers = await Promise.all([send(), send()]);
            return answers.map(r => r.status);
        }""",
        selector,
    )


def form_fields(page, selector: str) -> dict:
    """The action and the fields of the form of ``selector``, as the browser would post them."""
    return page.evaluate(
        """(selector) => {
            const form = document.querySelector(selector).closest('form');
            return {action: form.action, fields: Object.fromEntries(new FormData(form))};
        }""",
        selector,
    )


def resubmit(page, form: dict) -> None:
    """Post ``form`` again from the current page, as a browser resubmitting it does."""
    with page.expect_navigation():
        page.evaluate(
            """({action, fields}) => {
                const form = document.createElement('form');
                form.method = 'post';
                form.action = action;
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement('input');
                    input.type = 'hidden'; input.name = name; input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            form,
        )


def redeem_entries(member) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(member=member, kind=EntryKind.REDEEM))


# --- a coupon used in the store -----------------------------------------------------------------


def test_member_redeems_a_coupon_and_the_cashier_uses_it_once(
    phone_page, till, shop, cashier, somchai
):
    latte = RewardFactory(
        shop=shop, name="ลาเต้เย็น ฟรี 1 แก้ว", points_cost=100, terms="1 สิทธิ์ต่อบิล", order=1
    )
    RewardFactory(shop=shop, name="ชุดของขวัญปีใหม่", points_cost=2000, order=2)
    page = phone_page

    # -- the member opens the catalogue through LINE sign-in
    member_signs_in(page, url("catalogue"))
    assert page.locator("html").get_attribute("lang") == "th"
    assert spendable(page) == "250"
    assert page.locator("[data-testid=redeemable] [data-testid=offer]").count() == 1
    assert page.locator("[data-testid=not-yet] [data-testid=offer]").count() == 1
    no_horizontal_scroll(page)
    shot(page, "01-member-catalogue")

    # -- the reward, then the confirmation step: nothing is taken before "confirm"
    page.click(f"[data-testid=offer][data-reward='{latte.public_id}'] a")
    page.wait_for_selector("[data-testid=reward-detail]")
    assert page.inner_text("[data-testid=cost]") == "100"
    shot(page, "02-member-reward")
    page.click("[data-testid=redeem-link]")
    page.wait_for_selector("[data-testid=redeem-form]")
    assert page.inner_text("[data-testid=balance-after]") == "150"
    assert not Redemption.objects.exists()
    shot(page, "03-member-confirm")
    page.click("[data-testid=confirm-redeem]")

    # -- the coupon: code as text, a QR code and a barcode
    page.wait_for_selector("[data-testid=coupon][data-state=active]")
    coupon = Coupon.objects.select_related("redemption").get()
    assert (coupon.member, coupon.status, coupon.redemption.reward) == (somchai, "issued", latte)
    shown_code = page.inner_text("[data-testid=coupon-code]").strip()
    assert shown_code == f"{coupon.code[:4]} {coupon.code[4:]}"
    assert page.locator("[data-testid=coupon-qr] svg").is_visible()
    assert page.locator("[data-testid=coupon-barcode] svg").is_visible()
    assert page.locator("[data-testid=coupon-barcode] svg").bounding_box()["width"] > 200
    no_horizontal_scroll(page)
    shot(page, "04-member-coupon")
    somchai.refresh_from_db()
    assert somchai.balance == 150

    # -- the cashier, on their own phone, types the code the member shows
    cashier_signs_in(till)
    till.click("[data-testid=nav-coupon]")
    till.wait_for_selector("[data-testid=find-coupon]")
    till.fill("input[name=code]", shown_code.lower())
    shot(till, "05-cashier-types-code")
    till.click("[data-testid=find-coupon]")
    till.wait_for_selector("[data-testid=coupon-review]")
    assert till.inner_text("[data-testid=reward-name]") == "ลาเต้เย็น ฟรี 1 แก้ว"
    assert till.inner_text("[data-testid=member-name]") == "สมชาย ใจดี"
    assert till.inner_text("[data-testid=coupon-code]") == coupon.code
    assert till.locator("[data-testid=coupon-status].is-issued").count() == 1
    assert till.locator("[data-testid=refusal]").count() == 0
    no_horizontal_scroll(till)
    shot(till, "06-cashier-review")
    coupon.refresh_from_db()
    assert coupon.status == "issued"  # looking changes nothing

    # -- confirm: the same form posted twice behind the page's back, then a double tap
    confirm_form = form_fields(till, "[data-testid=confirm]")
    assert post_twice_behind_the_pages_back(till, "[data-testid=confirm]") == [200, 200]
    till.dblclick("[data-testid=confirm]")
    till.wait_for_selector("[data-testid=done]")
    assert till.inner_text("[data-testid=reward-name]") == "ลาเต้เย็น ฟรี 1 แก้ว"
    assert till.inner_text("[data-testid=member-name]") == "สมชาย ใจดี"
    assert "สาขาสยาม" in till.inner_text("[data-testid=done-when]")
    done_url = till.url
    shot(till, "07-cashier-done")

    # -- "back" and confirm again (Chromium would ask to resubmit the form): the same use, shown
    resubmit(till, confirm_form)
    till.wait_for_selector("[data-testid=done]")
    assert till.url == done_url
    shot(till, "08-cashier-resubmitted")

    # -- a fresh look at the same code says it was used
    till.goto(reverse("staff:coupon"))
    till.fill("input[name=code]", coupon.code)
    till.click("[data-testid=find-coupon]")
    till.wait_for_selector("[data-testid=refusal][data-code=coupon_used]")
    assert till.locator("[data-testid=confirm]").count() == 0
    shot(till, "09-cashier-used-already")

    coupon.refresh_from_db()
    assert (coupon.status, coupon.used_branch.code, coupon.used_by) == ("used", "SIAM", cashier)
    assert StaffAction.objects.filter(kind=StaffAction.Kind.COUPON_USE).count() == 1

    # -- the member's "my coupons": not ready any more, under "used"
    page.goto(url("coupons"))
    page.wait_for_selector("[data-testid=coupon-tabs]")
    assert page.locator("[data-testid=no-coupons]").count() == 1  # nothing ready to use
    page.click("[data-testid=tab-used]")
    page.wait_for_selector("[data-testid=tab-used][aria-current=page]")
    assert page.locator("[data-testid=coupon-item]").count() == 1
    assert "ลาเต้เย็น ฟรี 1 แก้ว" in page.inner_text("[data-testid=coupon-item]")
    shot(page, "10-member-used-tab")
    page.click("[data-testid=coupon-item] a")
    page.wait_for_selector("[data-testid=coupon][data-state=used]")
    assert "สาขาสยาม" in page.inner_text("[data-testid=coupon-status]")
    assert page.locator("[data-testid=coupon-qr] svg").count() == 0  # nothing left to scan
    shot(page, "11-member-coupon-used")

    # -- one redemption, one redeem entry in the ledger and in the member's history
    assert Redemption.objects.count() == 1
    entries = redeem_entries(somchai)
    assert [e.points for e in entries] == [-100]
    somchai.refresh_from_db()
    assert somchai.balance == 150
    page.click("[data-testid=tab-history]")
    page.wait_for_selector("[data-testid=history]")
    assert page.locator("[data-testid=history] .kind-redeem").count() == 1
    assert "-100" in page.inner_text("[data-testid=history] .kind-redeem").replace("−", "-")
    assert page.inner_text("[data-testid=history-balance]") == "150"
    shot(page, "12-member-history")


# --- a delivered reward -------------------------------------------------------------------------


def test_a_delivery_from_redemption_to_delivered(
    phone_page, desktop_page, till, shop, branch, cashier, owner, somchai
):
    tote = RewardFactory(
        shop=shop, name="กระเป๋าผ้า", kind="delivery", points_cost=120, terms="จัดส่งภายใน 7 วัน"
    )
    page, admin = phone_page, desktop_page

    # -- the member redeems the tote bag with an address
    member_signs_in(page, url("detail", reward_id=tote.public_id))
    page.wait_for_selector("[data-testid=reward-detail]")
    page.click("[data-testid=redeem-link]")
    page.wait_for_selector("[data-testid=address-form]")
    assert page.input_value("input[name=recipient]") == "สมชาย ใจดี"  # their own, to start with
    page.fill("textarea[name=address]", "99 ถ.สุขุมวิท แขวงคลองเตย เขตคลองเตย กรุงเทพฯ")
    page.fill("input[name=postcode]", "10110")
    no_horizontal_scroll(page)
    shot(page, "01-member-address")
    page.click("[data-testid=confirm-redeem]")
    page.wait_for_selector("[data-testid=delivery-steps]")
    assert page.locator("[data-step=pending][aria-current=step]").count() == 1
    assert "10110" in page.inner_text("[data-testid=delivery-address]")
    shot(page, "02-member-delivery-waiting")
    delivery = Delivery.objects.select_related("redemption").get()
    assert (delivery.member, delivery.status, delivery.postcode) == (somchai, "pending", "10110")
    assert delivery.address.startswith("99 ถ.สุขุมวิท")
    somchai.refresh_from_db()
    assert somchai.balance == 130
    delivery_page = page.url

    # -- the owner moves it to "preparing" with the bulk action
    owner_signs_in(admin, owner)
    admin.goto(reverse("admin:rewards_delivery_changelist"))
    admin.check(f"input[name=_selected_action][value='{delivery.pk}']")
    admin.select_option("select[name=action]", "mark_preparing")
    admin.click("button[name=index]")
    admin.wait_for_load_state("domcontentloaded")
    assert admin.locator(".errornote, .errorlist").count() == 0
    shot(admin, "03-owner-preparing")
    delivery.refresh_from_db()
    assert delivery.status == "preparing"

    page.reload()
    page.wait_for_selector("[data-step=preparing][aria-current=step]")
    shot(page, "04-member-preparing")

    # -- then "shipped", from the delivery's own page, with a carrier and a tracking number
    admin.goto(reverse("admin:rewards_delivery_change", args=[delivery.pk]))
    ship = reverse("admin:rewards_delivery_mark_shipped", args=[delivery.pk])
    admin.click(f"a[href='{ship}']")
    admin.wait_for_selector("input[name=tracking_number]")
    admin.fill("input[name=carrier]", "Kerry Express")
    admin.fill("input[name=tracking_number]", "KEX123456789TH")
    shot(admin, "05-owner-ship-form")
    admin.click("[data-testid=reward-form] button[type=submit]")
    admin.wait_for_url(
        re.compile(re.escape(reverse("admin:rewards_delivery_change", args=[delivery.pk])) + "$")
    )
    shot(admin, "06-owner-shipped")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.carrier, delivery.tracking_number) == (
        "shipped",
        "Kerry Express",
        "KEX123456789TH",
    )

    # -- the member sees it shipped, with the tracking number to copy
    page.goto(delivery_page)
    page.wait_for_selector("[data-step=shipped][aria-current=step]")
    tracking = page.inner_text("[data-testid=tracking]")
    assert "Kerry Express" in tracking and "KEX123456789TH" in tracking
    assert page.get_attribute("[data-testid=copy-tracking]", "data-copy") == "KEX123456789TH"
    no_horizontal_scroll(page)
    shot(page, "07-member-shipped")

    # -- the member collects it in the store: the cashier finds them and hands it over
    cashier_signs_in(till)
    till.click("[data-testid=nav-delivery]")
    till.wait_for_selector("[data-testid=find-phone]")
    till.fill("input[name=phone]", "081-234-5678")
    till.click("[data-testid=find-phone]")
    till.wait_for_selector("[data-testid=deliveries]")
    assert till.inner_text("[data-testid=member-name]") == "สมชาย ใจดี"
    assert till.locator("[data-testid=delivery]").count() == 1
    assert "KEX123456789TH" in till.inner_text("[data-testid=delivery]")
    no_horizontal_scroll(till)
    shot(till, "08-cashier-gifts")
    till.dblclick("[data-testid=hand-over]")
    till.wait_for_selector("[data-testid=done]")
    assert till.inner_text("[data-testid=reward-name]") == "กระเป๋าผ้า"
    assert "สาขาสยาม" in till.inner_text("[data-testid=done-when]")
    shot(till, "09-cashier-handed-over")
    till.click("[data-testid=more-deliveries]")
    till.wait_for_selector("[data-testid=no-deliveries]")

    delivery.refresh_from_db()
    assert (delivery.status, delivery.handed_over_branch) == ("delivered", branch)
    assert StaffAction.objects.filter(kind=StaffAction.Kind.DELIVERY_HANDOVER).count() == 1

    # -- and the member's page says delivered, picked up at the Siam branch
    page.reload()
    page.wait_for_selector("[data-step=delivered][aria-current=step]")
    assert page.locator("[data-testid=delivery-steps] .r-step.is-done").count() == 4
    assert "สาขาสยาม" in page.inner_text("[data-step=delivered]")
    shot(page, "10-member-delivered")
    somchai.refresh_from_db()
    assert somchai.balance == 130
    assert [e.points for e in redeem_entries(somchai)] == [-120]


# --- redeemed at the counter --------------------------------------------------------------------


def test_a_counter_redemption_takes_the_points_once_when_the_cashier_confirms(
    phone_page, till, shop, cashier, somchai
):
    croissant = RewardFactory(shop=shop, name="ครัวซองต์", points_cost=40, spot_redemption=True)
    page = phone_page

    # -- the member taps "redeem at the counter": a 6-digit code counting down
    member_signs_in(page, url("detail", reward_id=croissant.public_id))
    page.wait_for_selector("[data-testid=counter-button]")
    assert page.locator("[data-testid=redeem-link]").count() == 0
    page.click("[data-testid=counter-button]")
    page.wait_for_selector("[data-testid=counter][data-state=open]")
    shown = page.inner_text("[data-testid=spot-code]").strip()
    assert re.fullmatch(r"\d{3}\u2009\d{3}", shown), shown
    spot = SpotCode.objects.get()
    assert (spot.member, spot.reward, spot.code) == (
        somchai,
        croissant,
        shown.replace("\u2009", ""),
    )
    first = page.inner_text("[data-countdown]")
    assert re.fullmatch(r"[45]:\d\d", first), first
    page.wait_for_function(
        "first => document.querySelector('[data-countdown]').textContent !== first", arg=first
    )
    no_horizontal_scroll(page)
    shot(page, "01-member-counter-code")

    # -- nothing is deducted yet, on the page and in the ledger
    peek = page.context.new_page()
    peek.goto(url("catalogue"))
    assert spendable(peek) == "250"
    peek.close()
    somchai.refresh_from_db()
    assert somchai.balance == 250
    assert not Redemption.objects.exists() and not redeem_entries(somchai)

    # -- the cashier types the code the member shows
    cashier_signs_in(till)
    till.click("[data-testid=nav-coupon]")
    till.wait_for_selector("[data-testid=find-coupon]")
    till.fill("input[name=code]", shown.replace("\u2009", " "))
    till.click("[data-testid=find-coupon]")
    till.wait_for_selector("[data-testid=coupon-review]")
    assert till.inner_text("[data-testid=reward-name]") == "ครัวซองต์"
    assert till.inner_text("[data-testid=member-name]") == "สมชาย ใจดี"
    assert till.inner_text("[data-testid=spot-points]").replace("−", "-") == "-40"
    shot(till, "02-cashier-review")

    # -- confirm, with the same form posted twice more and a double tap
    assert post_twice_behind_the_pages_back(till, "[data-testid=confirm]") == [200, 200]
    till.dblclick("[data-testid=confirm]")
    till.wait_for_selector("[data-testid=done]")
    assert re.match(r"[−-]40\b", till.inner_text("[data-testid=done-points]"))
    assert till.inner_text("[data-testid=member-name]") == "สมชาย ใจดี"
    shot(till, "03-cashier-done")

    # -- the member's page notices by itself and moves on to the (used) coupon
    page.wait_for_selector("[data-testid=coupon][data-state=used]")
    shot(page, "04-member-redeemed")
    page.goto(url("catalogue"))
    assert spendable(page) == "210"
    shot(page, "05-member-balance")

    # -- the same code typed again deducts nothing more
    till.goto(reverse("staff:coupon"))
    till.fill("input[name=code]", spot.code)
    with till.expect_response(lambda r: r.request.method == "POST") as answer:
        till.click("[data-testid=find-coupon]")
    assert answer.value.status == 409  # "already confirmed", not "unknown"
    till.wait_for_selector("[data-testid=code-errors]")
    assert till.locator("[data-testid=confirm]").count() == 0
    shot(till, "06-cashier-code-again")

    spot.refresh_from_db()
    assert spot.redemption is not None
    assert Redemption.objects.count() == 1
    assert [e.points for e in redeem_entries(somchai)] == [-40]
    somchai.refresh_from_db()
    assert somchai.balance == 210
