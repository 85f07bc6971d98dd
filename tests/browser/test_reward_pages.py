"""The member's reward pages in a phone browser at 360 px: catalogue, coupon with QR and barcode,
a delivery, a platform code copied, the counter code counting down. Screenshots in
test-artifacts/screenshots/test_reward_pages_on_a_360_px_phone-*.png."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from members.models import Member
from rewards import services
from tests.browser.conftest import shot
from tests.factories import RewardFactory
from tests.members.pages.conftest import fake_line, line_shop, register
from tests.rewards.conftest import give

__all__ = ["fake_line", "line_shop"]
SLUG = "cafe"


def url(name: str, slug: str = SLUG, **kwargs) -> str:
    return reverse(f"rewards:{name}", kwargs={"shop_slug": slug, **kwargs})


def reload(member: Member) -> Member:
    member.refresh_from_db()
    return member


# --- in a phone browser ---------------------------------------------------------------------------


def _png(colour: str) -> ContentFile:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (480, 480), colour).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="reward.png")


@pytest.mark.django_db(transaction=True)
def test_reward_pages_on_a_360_px_phone(client, fake_line, line_shop, live_server, browser):
    """Catalogue → reward → confirm → coupon with QR and barcode; a delivery with its address; a
    code for Shopee copied; the counter code counting down. Screenshots in test-artifacts."""
    # given a member with 450 points, signed in (the session cookie handed to the browser)
    member = give(register(client, fake_line, line_shop), 400)
    latte = RewardFactory(
        shop=line_shop, name="ลาเต้เย็น ฟรี 1 แก้ว", points_cost=100, stock=3, order=1,
        image=_png("#a16207"), description="เลือกนมได้", terms="1 สิทธิ์ต่อการซื้อ 1 ครั้ง",
    )  # fmt: skip
    RewardFactory(shop=line_shop, name="กระเป๋าผ้า", kind="delivery", points_cost=120, order=2)
    shopee = RewardFactory(
        shop=line_shop, name="ส่วนลด ฿50", kind="custom_code", platform="Shopee", points_cost=20,
        order=3,
    )  # fmt: skip
    services.reward_codes_add(reward=shopee, codes=["SHP-50-XYZ"])
    RewardFactory(shop=line_shop, name="ครัวซองต์", points_cost=40, spot_redemption=True, order=4)
    RewardFactory(shop=line_shop, name="ชุดของขวัญปีใหม่", points_cost=2000, order=5)
    RewardFactory(
        shop=line_shop, name="เค้กวันเกิด", points_cost=10, order=6,
        active_from=timezone.now() + dt.timedelta(days=5),
    )  # fmt: skip
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 360, "height": 780},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    try:
        # the catalogue: what can be redeemed now first
        page.goto(url("catalogue"))
        first_tile = page.locator("[data-testid=offer]").first
        assert first_tile.get_attribute("data-reward") == str(latte.public_id)
        assert first_tile.get_attribute("data-reason") == ""
        assert page.locator("[data-testid=not-yet] [data-testid=offer]").count() == 2
        _no_sideways_scroll(page)
        shot(page, "01-catalogue")

        # a reward, its confirmation, its coupon
        page.click(f"[data-reward='{latte.public_id}'] a")
        page.wait_for_selector("[data-testid=reward-detail]")
        shot(page, "02-detail")
        page.click("[data-testid=redeem-link]")
        page.wait_for_selector("[data-testid=redeem-form]")
        shot(page, "03-confirm")
        page.click("[data-testid=confirm-redeem]")
        page.wait_for_selector("[data-testid=coupon]")
        assert page.locator("[data-testid=coupon-qr] svg").is_visible()
        assert page.locator("[data-testid=coupon-barcode] svg").bounding_box()["width"] > 200
        _no_sideways_scroll(page)
        shot(page, "04-coupon")

        # a delivered reward: no address yet, then the tracking page
        page.goto(url("catalogue"))
        page.click("[data-testid=offer]:has-text('กระเป๋าผ้า') a")
        page.click("[data-testid=redeem-link]")
        page.wait_for_selector("[data-testid=address-form]")
        page.fill("textarea[name=address]", "99 ถ.สุขุมวิท แขวงคลองเตย เขตคลองเตย กรุงเทพฯ")
        page.fill("input[name=postcode]", "10110")
        shot(page, "05-address")
        page.click("[data-testid=confirm-redeem]")
        page.wait_for_selector("[data-testid=delivery-steps]")
        _no_sideways_scroll(page)
        shot(page, "06-delivery")

        # a Shopee code, copied
        page.goto(url("detail", reward_id=shopee.public_id))
        page.click("[data-testid=redeem-link]")
        page.click("[data-testid=confirm-redeem]")
        page.wait_for_selector("[data-testid=external-code]")
        assert page.inner_text("[data-testid=external-code-value]") == "SHP-50-XYZ"
        page.click("[data-testid=copy-code]")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=copy-code]').classList.contains('is-done')"
        )
        shot(page, "07-shopee-code")

        # at the counter: a code that counts down, nothing deducted
        page.goto(url("catalogue"))
        page.click("[data-testid=offer]:has-text('ครัวซองต์') a")
        page.click("[data-testid=counter-button]")
        page.wait_for_selector("[data-testid=spot-code]")
        first = page.inner_text("[data-countdown]")
        page.wait_for_function(
            "first => document.querySelector('[data-countdown]').textContent !== first", arg=first
        )
        assert re.fullmatch(r"[45]:\d\d", page.inner_text("[data-countdown]"))
        shot(page, "08-counter")
        assert reload(member).balance == 450 - 100 - 120 - 20

        # my coupons
        page.goto(url("coupons"))
        assert page.locator("[data-testid=coupon-item]").count() == 2
        shot(page, "09-my-coupons")
    finally:
        context.close()


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width}px wide on a 360px screen"
