"""The staff app in a real phone browser (Debian Chromium, 390 × 844, Thai): a cashier is invited,
makes an account and signs in; adds points by phone, to a new pending member, by scanning a
member's QR code with the camera; makes a points QR code that a member collects in their own
browser through LINE sign-in; a double tap adds points once; a deactivated cashier is signed out.
Screenshots: test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
import segno
from django.urls import reverse
from PIL import Image

from members.ledger.models import LedgerEntry
from members.models import Member
from members.qr import member_code_issue
from members.staff.models import PointsClaim
from shops.models import User
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DEFAULT_TIMEOUT_MS, shot
from tests.factories import (
    DEFAULT_PASSWORD,
    BranchFactory,
    MemberFactory,
    ShopFactory,
    TierFactory,
    UserFactory,
)
from tests.line_fixtures import LOGIN_CHANNEL_ID, LOGIN_CHANNEL_SECRET, NOK, SOMCHAI, fake_line

__all__ = ["fake_line"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(db):
    return ShopFactory(
        name="คาเฟ่อร่อย",
        slug="cafe-aroi",
        thb_per_point=Decimal("25.00"),
        expiry_mode="never",
        tiers_enabled=True,
        welcome_points=0,
    )


@pytest.fixture
def branch(shop):
    return BranchFactory(shop=shop, name="สาขาสยาม", code="SIAM")


@pytest.fixture
def cashier(shop, branch):
    user = UserFactory(username="nok", first_name="นก", shop=shop, role=User.Role.CASHIER)
    user.branches.add(branch)
    return user


@pytest.fixture
def somchai(shop):
    gold = TierFactory(shop=shop, name="Gold", threshold=0, earn_multiplier=Decimal("1.50"))
    return MemberFactory(
        shop=shop,
        first_name="สมชาย",
        last_name="ใจดี",
        phone="+66812345678",
        tier=gold,
        line_user_id=SOMCHAI,
    )


def sign_in(page, username="nok", password=DEFAULT_PASSWORD) -> None:
    page.goto("/staff/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[data-testid=sign-in]")
    page.wait_for_selector("[data-testid=find-phone]")


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_invite_then_account_then_sign_in(phone_page, desktop_page, shop, branch):
    owner = UserFactory(username="owner", shop=shop, role=User.Role.OWNER)
    admin, page = desktop_page, phone_page

    # The owner makes an invite for the Siam branch in the back office.
    admin.goto("/admin/")
    admin.fill("input[name=username]", owner.username)
    admin.fill("input[name=password]", DEFAULT_PASSWORD)
    admin.click("#login-form button[type=submit]")
    admin.goto(reverse("admin:shops_staffinvite_add"))
    admin.select_option("select[name=branch]", str(branch.pk))
    admin.fill("input[name=name]", "นก กะเช้า")
    admin.click("button[name=_save]")
    admin.wait_for_selector("[data-testid=invite-created]")
    link = admin.inner_text("[data-testid=invite-link]").strip()
    assert admin.locator("[data-testid=invite-qr] svg").count() == 1
    shot(admin, "01-invite-created")

    # The new cashier opens it on their phone and makes an account.
    page.goto(link)
    assert page.locator("html").get_attribute("lang") == "th"
    assert "สาขาสยาม" in page.inner_text("[data-testid=invite-where]")
    shot(page, "02-join-form")
    page.fill("input[name=name]", "นก")
    page.fill("input[name=username]", "nok.siam")
    page.fill("input[name=password1]", "kafe-aroi-2026!")
    page.fill("input[name=password2]", "kafe-aroi-2026!")
    page.click("[data-testid=join]")
    page.wait_for_selector("[data-testid=sign-in]")
    assert page.input_value("input[name=username]") == "nok.siam"
    user = User.objects.get(username="nok.siam")
    assert (user.role, list(user.branches.all())) == ("cashier", [branch])

    # ... and signs in: the Siam branch is theirs, no choice to make.
    page.fill("input[name=password]", "kafe-aroi-2026!")
    shot(page, "03-sign-in")
    page.click("[data-testid=sign-in]")
    page.wait_for_selector("[data-testid=find-phone]")
    assert page.inner_text("[data-testid=branch-name]") == "สาขาสยาม"
    no_horizontal_scroll(page)
    shot(page, "04-find-member")

    # The link works once.
    page.goto(link)
    assert page.locator("[data-testid=invite-error]").count() == 1
    shot(page, "05-invite-used")


def test_add_points_by_phone(phone_page, cashier, somchai):
    page = phone_page
    sign_in(page)

    page.fill("input[name=phone]", "081 234 5678")
    page.click("[data-testid=find-phone]")
    page.wait_for_selector("[data-testid=member-card]")
    assert page.inner_text("[data-testid=member-name]") == "สมชาย ใจดี"
    assert page.inner_text("[data-testid=member-phone]") == "081-xxx-5678"
    assert page.inner_text("[data-testid=member-tier]") == "Gold"
    assert page.inner_text("[data-testid=member-balance]") == "0"

    page.fill("input[name=amount]", "500")
    # A function, not an expression string: Playwright evals a string, which the page's
    # Content-Security-Policy (rightly) refuses.
    page.wait_for_function(
        "() => document.querySelector('[data-testid=live-points]').textContent.includes('30')"
    )
    page.fill("input[name=receipt_no]", "R-0042")
    no_horizontal_scroll(page)
    shot(page, "01-spend")
    page.click("[data-testid=review]")
    page.wait_for_selector("[data-testid=confirm]")
    assert page.inner_text("[data-testid=confirm-points]") == "+30"  # 500 / 25 × 1.5
    shot(page, "02-confirm")
    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=done]")
    assert page.inner_text("[data-testid=done-balance]") == "30"
    shot(page, "03-done")

    entry = LedgerEntry.objects.get()
    assert (entry.member, entry.points, entry.branch.code) == (somchai, 30, "SIAM")
    assert entry.purchase.receipt_no == "R-0042"

    page.click("[data-testid=nav-today]")
    page.wait_for_selector("[data-testid=today-list]")
    assert "30" in page.inner_text("[data-testid=total-mine]")
    assert page.locator("[data-testid=nav-coupon][aria-disabled=true]").count() in (0, 1)
    shot(page, "04-today")


def test_bad_spends_get_clear_messages(phone_page, cashier, somchai):
    page = phone_page
    sign_in(page)
    page.goto(reverse("staff:member", args=[somchai.public_id]))
    for amount in ("0", "-5", "abc", "10000000"):
        page.fill("input[name=amount]", amount)
        page.click("[data-testid=review]")
        page.wait_for_selector("[data-testid=amount-errors]")
    shot(page, "01-too-large")
    assert not LedgerEntry.objects.exists()


def test_points_for_a_new_phone_go_to_a_pending_member(phone_page, cashier):
    page = phone_page
    sign_in(page)

    page.fill("input[name=phone]", "๐๘๙-๙๙๙-๑๒๓๔")  # Thai digits
    page.click("[data-testid=find-phone]")
    page.wait_for_selector("[data-testid=new-member-note]")
    assert page.inner_text("[data-testid=member-phone]") == "089-999-1234"
    shot(page, "01-new-member")
    page.fill("input[name=amount]", "250")
    page.click("[data-testid=review]")
    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=pending-note]")
    shot(page, "02-done-pending")

    member = Member.objects.get()
    assert (member.status, member.phone, member.balance) == ("pending", "+66899991234", 10)


def test_a_double_tap_or_a_resubmit_adds_points_once(phone_page, cashier, somchai):
    page = phone_page
    sign_in(page)
    page.goto(reverse("staff:member", args=[somchai.public_id]))
    page.fill("input[name=amount]", "500")
    page.click("[data-testid=review]")
    page.wait_for_selector("[data-testid=confirm]")

    # The same confirm form posted twice more behind the page's back, as a flaky network
    # retrying would, then the double tap itself.
    statuses = page.evaluate(
        """async () => {
            const form = document.querySelector('[data-testid=confirm]').closest('form');
            const send = () => fetch(form.action, {method: 'POST', body: new FormData(form),
                                                   credentials: 'same-origin'});
            const answers = await Promise.all([send(), send()]);
            return answers.map(r => r.status);
        }"""
    )
    assert statuses == [200, 200]  # both redirected to the same "done" page
    page.dblclick("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=done]")
    shot(page, "01-done")

    assert LedgerEntry.objects.count() == 1
    somchai.refresh_from_db()
    assert somchai.balance == 30


def test_find_a_member_by_scanning_their_qr_code(browser, live_server, tmp_path, cashier, somchai):
    """The camera (Chromium's fake camera playing a video of the member's QR code) is read by the
    page's scanner: BarcodeDetector where the browser has it, else the vendored jsQR."""
    code = member_code_issue(member=somchai).code
    video = tmp_path / "qr.y4m"
    write_y4m(video, qr_image(code))
    # A browser of its own: the fake camera is a launch option.
    camera_browser = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(
            base_url=live_server.url,
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="th-TH",
            permissions=["camera"],
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page = context.new_page()
        sign_in(page)
        page.click("[data-testid=scan]")
        page.wait_for_selector("[data-testid=member-card]")
        assert page.inner_text("[data-testid=member-name]") == "สมชาย ใจดี"
        shot(page, "01-found-by-qr")
    finally:
        camera_browser.close()


def test_the_vendored_decoder_reads_a_member_card_qr_code(phone_page, cashier):
    page = phone_page
    sign_in(page)
    png = segno.make_qr("12345678", error="m").png_data_uri(scale=8, border=4)

    text = page.evaluate(
        """async (src) => {
            const img = new Image();
            img.src = src;
            await img.decode();
            const canvas = document.createElement('canvas');
            canvas.width = img.width; canvas.height = img.height;
            canvas.getContext('2d').drawImage(img, 0, 0);
            return await window.StaffApp.decode(canvas);
        }""",
        png,
    )

    assert text == "12345678"
    assert page.evaluate("window.StaffApp.codeFromText('https://x.example/c/1234 5678')") == (
        "12345678"
    )


def test_a_points_qr_code_collected_by_a_member_in_line(
    browser, phone_page, live_server, fake_line, shop, cashier, somchai
):
    from shops.models import ShopLineChannel

    ShopLineChannel.objects.create(
        shop=shop, login_channel_id=LOGIN_CHANNEL_ID, login_channel_secret=LOGIN_CHANNEL_SECRET
    )
    MemberFactory(shop=shop, first_name="Nok", phone="+66899990000", line_user_id=NOK)
    till = phone_page
    sign_in(till)

    # The cashier types the spend and shows the QR code.
    till.click("[data-testid=nav-claim]")
    till.fill("input[name=amount]", "500")
    till.click("[data-testid=make-claim]")
    till.wait_for_selector("[data-testid=claim-qr] svg")
    link = till.get_attribute("[data-testid=claim-link]", "href")
    shot(till, "01-cashier-shows-qr")

    # The member scans it with LINE: their own phone, signed in through LINE.
    customer = new_phone(browser, live_server)
    customer.goto(link)
    customer.click("[data-testid=line-login]")
    customer.click(f"button.user[value='{SOMCHAI}']")  # the fake LINE's account picker
    customer.wait_for_selector("[data-testid=collect]")
    assert customer.inner_text("[data-testid=claim-points]").startswith("+30")
    shot(customer, "02-member-sees-points")
    customer.click("[data-testid=collect]")
    customer.wait_for_selector("[data-testid=claim-collected]")
    assert customer.inner_text("[data-testid=claim-balance]") == "30"
    shot(customer, "03-member-collected")

    # The cashier's screen notices by itself.
    till.wait_for_selector(".claim[data-state=claimed]")
    assert "สมชาย ใจดี" in till.inner_text("[data-testid=claim-state]")
    shot(till, "04-cashier-sees-collected")

    # Someone else scanning the same code gets a clear no and nothing.
    other = new_phone(browser, live_server)
    other.goto(link)
    other.click("[data-testid=line-login]")
    other.click(f"button.user[value='{NOK}']")
    other.wait_for_selector("[data-testid=claim-error]")
    shot(other, "05-second-scan-refused")

    assert LedgerEntry.objects.filter(purchase__isnull=False).count() == 1
    assert PointsClaim.objects.get().claimed_by == somchai
    somchai.refresh_from_db()
    assert somchai.balance == 30
    customer.context.close()
    other.context.close()


def test_a_deactivated_cashier_is_signed_out(phone_page, desktop_page, shop, cashier):
    page = phone_page
    sign_in(page)
    owner = UserFactory(username="owner", shop=shop, role=User.Role.OWNER)

    admin = desktop_page
    admin.goto("/admin/")
    admin.fill("input[name=username]", owner.username)
    admin.fill("input[name=password]", DEFAULT_PASSWORD)
    admin.click("#login-form button[type=submit]")
    admin.goto(reverse("admin:shops_user_change", args=[cashier.pk]))
    admin.uncheck("input[name=is_active]")
    admin.click("button[name=_save]")
    admin.wait_for_load_state("domcontentloaded")
    cashier.refresh_from_db()
    assert cashier.is_active is False

    page.click("[data-testid=nav-today]")
    page.wait_for_selector("[data-testid=sign-in]")
    assert page.url.split("?")[0].endswith(reverse("staff:login"))
    shot(page, "01-signed-out")


# --- helpers ------------------------------------------------------------------------------------


def new_phone(browser, live_server):
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
    return context.new_page()


def qr_image(text: str, size: int = 480) -> Image.Image:
    """The member card's QR code on a white frame, as a camera would see it."""
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=10, border=4)
    code = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    code = code.resize((size - 80, size - 80), Image.NEAREST)
    frame = Image.new("RGB", (640, size), "white")
    frame.paste(code, ((640 - code.width) // 2, 40))
    return frame


def write_y4m(path: Path, image: Image.Image, frames: int = 10) -> None:
    """A short YUV4MPEG2 (4:2:0) video of ``image`` for Chromium's fake camera (it loops)."""
    width, height = image.size
    y, cb, cr = image.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + planes)


def test_the_cashier_confirms_a_members_phone_at_the_counter(phone_page, shop, branch, cashier):
    import datetime as dt

    from members.ledger import services as ledger
    from members.ledger.actors import Actor
    from members.signup.services import member_register

    # given a phone with points from the store, and a member who signed up typing it
    ledger.points_earn(
        shop=shop,
        phone="0898765432",
        amount="500",
        branch=branch,
        idempotency_key="store-1",
        actor=Actor.system(channel="store"),
    )
    member = member_register(
        shop=shop,
        line_user_id=NOK,
        first_name="พลอย",
        last_name="ดีใจ",
        phone="089-876-5432",
        birthday=dt.date(1995, 5, 5),
        accepted_terms=True,
    ).member
    code = member_code_issue(member=member).code
    page = phone_page
    sign_in(page)

    # when the cashier scans (types) the member's card code
    page.fill("input[name=code]", code)
    page.click("[data-testid=find-code]")
    page.wait_for_selector("[data-testid=phone-claim]")
    assert "089-876-5432" in page.inner_text("[data-testid=phone-claim]")
    no_horizontal_scroll(page)
    shot(page, "01-member-with-claim")

    # then confirms the phone after checking it
    page.click("[data-testid=phone-confirm-link]")
    page.wait_for_selector("[data-testid=phone-claim-detail]")
    assert "20" in page.inner_text("[data-testid=phone-claim-detail]")
    shot(page, "02-confirm-page")
    page.check("input[name=checked]")
    page.click("[data-testid=confirm-phone]")
    page.wait_for_selector("[data-testid=member-balance]")
    assert page.inner_text("[data-testid=member-balance]") == "20"
    assert page.locator("[data-testid=phone-claim]").count() == 0
    shot(page, "03-confirmed")
    assert Member.objects.get(pk=member.pk).phone == "+66898765432"
