"""The SMS opt-out page on a small phone (360 px): Thai and English, nothing wider than the
screen, and the button records the opt-out."""

from __future__ import annotations

import pytest

from campaigns.sms.links import opt_out_token
from campaigns.sms.models import SmsOptOut
from tests.browser.conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_opt_out_page_fits_a_360_px_phone_and_records_the_opt_out(phone_page, shop):
    page = phone_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"/s/{opt_out_token(shop.pk, '+66812345678')}")

    assert page.get_by_text("ยกเลิกรับ SMS การตลาดจาก Shop A").is_visible()
    assert page.get_by_text("Stop marketing SMS from Shop A").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "ask")
    page.click("[data-testid=opt-out]")
    page.wait_for_selector("[data-testid=done]")
    shot(page, "done")

    assert SmsOptOut.objects.get(shop=shop).phone == "+66812345678"
