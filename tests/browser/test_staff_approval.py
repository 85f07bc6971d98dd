"""A big purchase on a cashier's phone (Debian Chromium, 390 × 844, Thai): a decimal comma is
refused while typing, 25,000 THB asks for a manager, a wrong PIN is refused, the manager's PIN
approves, the cashier confirms, and Today shows who approved.
Screenshots: test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from members.ledger.models import LedgerEntry
from shops.models import User
from tests.browser.conftest import shot
from tests.factories import DEFAULT_PASSWORD, BranchFactory, MemberFactory, ShopFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PIN = "135790"


@pytest.fixture
def people(db):
    shop = ShopFactory(
        name="คาเฟ่อร่อย",
        slug="cafe-aroi",
        thb_per_point=Decimal("25.00"),
        expiry_mode="never",
        welcome_points=0,
    )
    branch = BranchFactory(shop=shop, name="สาขาสยาม", code="SIAM")
    cashier = UserFactory(username="nok", first_name="นก", shop=shop, role=User.Role.CASHIER)
    cashier.branches.add(branch)
    manager = UserFactory(username="boss", first_name="สมศรี", shop=shop, role=User.Role.MANAGER)
    manager.set_approval_pin(PIN)
    manager.save()
    member = MemberFactory(shop=shop, first_name="สมชาย", last_name="ใจดี", phone="+66812345678")
    return cashier, manager, member


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_a_manager_approves_a_big_purchase_on_the_cashiers_phone(phone_page, people):
    cashier, manager, member = people
    page = phone_page
    page.goto("/staff/")
    page.fill("input[name=username]", "nok")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("[data-testid=sign-in]")
    page.wait_for_selector("[data-testid=find-phone]")
    page.goto(reverse("staff:member", args=[member.public_id]))

    # A decimal comma is refused while typing, never read as 1,250.
    page.fill("input[name=amount]", "12,50")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=live-points]').textContent.includes('จุลภาค')"
    )
    shot(page, "01-decimal-comma")

    # 25,000 THB: the cashier cannot add it alone.
    page.fill("input[name=amount]", "25,000")
    page.click("[data-testid=review]")
    page.wait_for_selector("[data-testid=approval]")
    assert page.locator("[data-testid=confirm]").count() == 0
    assert "20,000.00" in page.inner_text("[data-testid=approval]")
    no_horizontal_scroll(page)
    shot(page, "02-approval-asked")

    # A wrong PIN is refused and nothing is written.
    page.fill("input[name=username]", "boss")
    page.fill("input[name=secret]", "000000")
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=approval-errors]")
    shot(page, "03-wrong-pin")
    assert not LedgerEntry.objects.exists()

    # The manager's PIN approves; the cashier confirms.
    page.fill("input[name=username]", "boss")
    page.fill("input[name=secret]", PIN)
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=approved-by]")
    assert "สมศรี" in page.inner_text("[data-testid=approved-by]")
    no_horizontal_scroll(page)
    shot(page, "04-approved")
    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=done]")
    assert page.inner_text("[data-testid=done-balance]") == "1,000"
    entry = LedgerEntry.objects.get()
    assert (entry.points, entry.created_by, entry.approved_by) == (1000, cashier, manager)

    page.click("[data-testid=nav-today]")
    page.wait_for_selector("[data-testid=tx-approved]")
    assert "สมศรี" in page.inner_text("[data-testid=tx-approved]")
    shot(page, "05-today")
