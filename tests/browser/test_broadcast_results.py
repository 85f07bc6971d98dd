"""The results page on a phone (390 px, Thai): an owner signs in, opens a sent broadcast's results
and reads them without scrolling sideways. Saves screenshots."""

from __future__ import annotations

import pytest

from shops.models import User
from tests.browser.conftest import shot
from tests.campaigns.broadcasts.test_results_admin import sent_broadcast
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-test-password-123"


def test_an_owner_reads_the_results_on_a_phone(phone_page, shop):
    broadcast = sent_broadcast(shop, holdout_percent=30)
    owner = UserFactory(username="owner-results", shop=shop, role=User.Role.OWNER)
    owner.set_password(PASSWORD)
    owner.save()
    page = phone_page

    page.goto("/admin/")
    page.fill("input[name=username]", owner.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-form", state="detached")
    page.goto(f"/admin/campaigns/broadcast/{broadcast.pk}/results/")

    page.wait_for_selector("[data-testid=broadcast-results]")
    assert page.inner_text("[data-testid=count-audience]") == "7"
    assert "ส่งถึงแล้ว" in page.inner_text("[data-testid=counts]")
    content = page.locator("[data-testid=broadcast-results]")
    box = content.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    shot(page, "01-results-phone")
