"""The member pages in a real phone browser (Debian Chromium, 390 × 844, Thai), signed in through
the fake LINE platform's own LINE Login page: a newcomer signs up from the landing page; someone
signing up with a pending member's phone proves it with a code from the fake SMS gateway and the
points collected with that phone move to their card; the card shows balance, expiring points
and a QR code that refreshes; history; download my data; delete my account.
Screenshots: test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
import time_machine
from django.core.management import call_command
from openpyxl import load_workbook

from loyalty.line.fake import DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET
from loyalty.management.commands.seed_demo import DEMO_PENDING_PHONE, DEMO_SLUG
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.models import Member
from shops.models import Branch, Shop
from tests.browser.conftest import shot
from tests.line_fixtures import NOK, SOMCHAI, fake_line
from tests.sms_fixtures import fake_sms, last_code

__all__ = ["fake_line", "fake_sms"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(live_server, fake_line):
    """The demo shop, as `make run` has it, on the fake LINE platform's demo channel."""
    fake_line.add_channel(channel_id=DEMO_CHANNEL_ID, channel_secret=DEMO_CHANNEL_SECRET)
    call_command("seed_demo", stdout=io.StringIO())
    return Shop.objects.get(slug=DEMO_SLUG)


def sign_in_with_fake_line(page, display_name: str) -> None:
    """On our sign-in page, tap "Sign in with LINE", then pick the test user on LINE's page."""
    page.click("[data-testid=line-login]")
    page.wait_for_selector("button.user")
    page.click(f"button.user:has-text('{display_name}')")


def fill_signup(page, *, phone: str, birthday: str = "1992-03-15") -> None:
    page.fill("input[name=first_name]", "สมชาย")
    page.fill("input[name=last_name]", "ใจดี")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=birthday]", birthday)
    page.select_option("select[name=branch]", label="สาขาสยาม")
    occupation = page.locator("fieldset:has-text('อาชีพ')")
    occupation.locator("label:has-text('พนักงานออฟฟิศ')").click()
    page.locator("fieldset:has-text('ชอบอะไรที่ร้านเรา') label:has-text('กาแฟ')").click()
    page.check("input[name=accept_terms]")


def test_newcomer_signs_up_through_fake_line_and_sees_the_card(
    phone_page, demo, fake_line, settings
):
    settings.LANDING_LIST_SHOPS = True  # as in the demo: the landing page links the member pages
    page = phone_page

    # -- from the landing page to the member pages
    page.goto("/")
    shot(page, "01-landing")
    page.click("[data-testid=face-member]")
    page.wait_for_selector("[data-testid=line-login]")
    assert demo.name in page.inner_text("h1")
    shot(page, "02-sign-in")

    # -- the fake LINE Login page, then back to the sign-up form
    page.click("[data-testid=line-login]")
    page.wait_for_selector("button.user")
    shot(page, "03-fake-line")
    page.click("button.user:has-text('สมชาย ใจดี')")
    page.wait_for_selector("[data-testid=signup-form]")
    assert not page.is_checked("input[name=marketing]")  # never ticked in advance
    shot(page, "04-signup")

    # -- a Buddhist Era year typed as a Common Era date is refused with a hint
    fill_signup(page, phone="0812345678", birthday="2535-03-15")
    page.click("[data-testid=signup-submit]")
    page.wait_for_selector("[data-field=birthday] .errorlist")
    assert "1992" in page.inner_text("[data-field=birthday] .errorlist")
    assert not Member.objects.filter(line_user_id=SOMCHAI).exists()
    shot(page, "05-signup-error")

    # -- corrected: the member card, with the welcome points and a QR code
    page.fill("input[name=birthday]", "1992-03-15")
    page.check("input[name=accept_terms]")
    page.click("[data-testid=signup-submit]")
    page.wait_for_selector("[data-testid=member-card]")
    assert page.inner_text("[data-testid=balance]") == "50"
    assert page.inner_text("[data-testid=member-name]") == "สมชาย ใจดี"
    assert re.fullmatch(r"\d{4} \d{4}", page.inner_text("[data-qr-code]"))
    assert page.locator("[data-qr-svg] svg").is_visible()
    assert page.inner_text("[data-testid=tier-name]").upper() == "SILVER"
    shot(page, "06-card")
    member = Member.objects.get(line_user_id=SOMCHAI)
    assert member.status == Member.Status.REGISTERED
    assert {t.name for t in member.tags.all()} == {"ชอบกาแฟ", "พนักงานออฟฟิศ"}


def test_pending_phone_is_proven_by_sms_code_and_its_points_move_to_the_card(
    phone_page, demo, fake_line, fake_sms
):
    page = phone_page
    siam = Branch.objects.get(shop=demo, code="BKK01")
    # given a phone that collected points at the store, months ago and this week
    for when, amount, key in [
        (dt.datetime(2025, 12, 10, 5, tzinfo=dt.UTC), "1000", "old"),
        (dt.datetime.now(tz=dt.UTC), "500", "new"),
    ]:
        with time_machine.travel(when, tick=False):
            ledger.points_earn(
                shop=demo,
                phone="0898765432",
                amount=amount,
                branch=siam,
                idempotency_key=f"store-{key}",
                actor=Actor.system(channel="store"),
            )
    pending = Member.objects.get(shop=demo, phone="+66898765432")
    assert pending.status == Member.Status.PENDING and pending.balance == 60

    # -- signing up with that phone makes the account at once; the points wait for proof
    page.goto(f"/m/{DEMO_SLUG}/")
    sign_in_with_fake_line(page, "Nok")
    page.wait_for_selector("[data-testid=signup-form]")
    fill_signup(page, phone="089-876-5432")
    page.click("[data-testid=signup-submit]")
    page.wait_for_selector("[data-testid=phone-claim]")
    assert page.inner_text("[data-testid=balance]") == "50"
    assert "089-876-5432" in page.inner_text("[data-testid=phone-claim]")
    assert Member.objects.get(pk=pending.pk).balance == 60
    shot(page, "01-card-with-claim")

    # -- a code by SMS: it arrives at the fake gateway
    page.click("[data-testid=confirm-phone]")
    page.wait_for_selector("[data-testid=send-code]")
    shot(page, "02-confirm-phone")
    page.click("[data-testid=send-code]")
    page.wait_for_selector("[data-testid=code-form]")
    assert "089-876-5432" in page.inner_text("[data-testid=code-sent]")
    [sms] = fake_sms.messages
    assert sms.number == "0898765432" and "คาเฟ่อร่อย" in sms.text
    code = last_code(fake_sms, "+66898765432")
    shot(page, "03-code-sent")

    # -- a wrong code is refused, then the right one moves the points
    page.fill("input[name=code]", "000000" if code != "000000" else "111111")
    page.click("[data-testid=code-submit]")
    page.wait_for_selector("[data-field=code] .errorlist")
    shot(page, "04-wrong-code")
    page.fill("input[name=code]", code)
    page.click("[data-testid=code-submit]")
    page.wait_for_selector("[data-testid=member-card]")
    assert page.inner_text("[data-testid=balance]") == "110"
    assert page.locator("[data-testid=phone-claim]").count() == 0
    expiring = page.inner_text("[data-testid=expiring-points]")
    assert "40" in expiring and "ธ.ค. 2569" in expiring  # December 2025 + 12 months, in BE
    shot(page, "05-card-points-moved")
    assert Member.objects.get(pk=pending.pk).status == Member.Status.MERGED
    assert Member.objects.get(shop=demo, line_user_id=NOK).phone == "+66898765432"

    page.click("[data-testid=tab-history]")
    page.wait_for_selector("[data-testid=history]")
    history = page.inner_text("[data-testid=history]")
    assert history.count("สาขาสยาม") == 2
    shot(page, "06-history")


def test_the_confirm_phone_page_fits_a_small_phone(browser, live_server, demo, fake_line, fake_sms):
    from tests.browser.conftest import _new_page

    context, page = _new_page(
        browser,
        base_url=live_server.url,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    try:
        page.goto(f"/m/{DEMO_SLUG}/")
        sign_in_with_fake_line(page, "Ploy")
        page.wait_for_selector("[data-testid=signup-form]")
        fill_signup(page, phone=DEMO_PENDING_PHONE)
        page.click("[data-testid=signup-submit]")
        page.click("[data-testid=confirm-phone]")
        page.click("[data-testid=send-code]")
        page.wait_for_selector("[data-testid=code-form]")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, width  # nothing wider than the screen
        assert page.locator("[data-testid=fake-inbox]").count() == 0  # not DEBUG
        shot(page, "01-360px")
    finally:
        context.close()


def test_card_qr_code_refreshes_every_minute(phone_page, demo, fake_line):
    page = phone_page
    page.clock.install()
    page.goto(f"/m/{DEMO_SLUG}/")
    sign_in_with_fake_line(page, "Ploy")
    page.wait_for_selector("[data-testid=signup-form]")
    fill_signup(page, phone="0861112222")
    page.click("[data-testid=signup-submit]")
    page.wait_for_selector("[data-testid=member-qr]")
    # The refresh script is deferred: its timer exists once the page has loaded, not as soon as
    # the code is on screen (moving the clock before that would move it past no timer at all).
    page.wait_for_load_state("load")
    first = page.inner_text("[data-qr-code]")

    page.clock.run_for(61_000)
    page.wait_for_function(
        "first => document.querySelector('[data-qr-code]').textContent !== first", arg=first
    )

    second = page.inner_text("[data-qr-code]")
    assert re.fullmatch(r"\d{4} \d{4}", second) and second != first
    shot(page, "01-refreshed-code")


def test_member_downloads_their_data_then_deletes_their_account(phone_page, demo, fake_line):
    page = phone_page
    page.goto(f"/m/{DEMO_SLUG}/")
    sign_in_with_fake_line(page, "สมชาย ใจดี")
    page.wait_for_selector("[data-testid=signup-form]")
    fill_signup(page, phone="0812223333")
    page.click("[data-testid=signup-submit]")
    page.wait_for_selector("[data-testid=member-card]")

    page.click("[data-testid=tab-profile]")
    page.wait_for_selector("[data-testid=my-data]")
    shot(page, "01-profile")
    with page.expect_download() as download:
        page.click("[data-testid=download-json]")
    with open(download.value.path(), encoding="utf-8") as file:
        data = json.load(file)
    assert data["profile"]["phone"] == "+66812223333"
    assert data["history"][0]["kind"] == "welcome"
    with page.expect_download() as download:
        page.click("[data-testid=download-xlsx]")
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as file:
        book = load_workbook(io.BytesIO(file.read()), read_only=True)
    # the file is for the person: Thai sheet names and headers on the Thai pages, not code keys
    assert "ประวัติพอยท์" in book.sheetnames
    history = list(book["ประวัติพอยท์"].iter_rows(values_only=True))
    assert history[0][:3] == ("รหัสรายการ", "เวลา", "ประเภท")
    assert history[1][2] == "พอยท์ต้อนรับ"

    page.click("[data-testid=delete-account]")
    page.wait_for_selector("[data-testid=delete-form]")
    page.click("[data-testid=delete-confirm]")  # not confirmed yet: refused
    page.wait_for_selector("[data-testid=delete-form] .errorlist")
    shot(page, "02-delete-confirm")
    page.check("input[name=confirm]")
    page.click("[data-testid=delete-confirm]")
    page.wait_for_selector("[data-testid=account-deleted]")
    shot(page, "03-deleted")

    member = Member.objects.get(shop=demo, status=Member.Status.ERASED)
    assert member.phone is None and member.first_name == "" and member.line_user_id is None
    assert member.ledger_entries.count() == 1
    page.goto(f"/m/{DEMO_SLUG}/card/")
    page.wait_for_selector("[data-testid=line-login]")  # signed out
