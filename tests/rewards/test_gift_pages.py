"""A coupon the shop gave (a broadcast's coupon push) on every page that shows a redemption: the
member's coupon list and coupon page, the back office's redemption list, its cancel page and the
export say "Gift from the shop", never "0 points"; cancelling it there gives the stock back and
moves no points."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.ledger.models import LedgerEntry
from rewards import services
from tests.conftest import admin_messages
from tests.factories import MemberFactory, RewardFactory
from tests.members.pages.conftest import fake_line, line_shop
from tests.members.pages.conftest import member_client as _member_client

__all__ = ["fake_line", "line_shop"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
member_client = _member_client


def gift(reward, member):
    gifts = services.coupons_gift(reward=reward, member_ids=[member.pk], key_prefix="push:1")
    return gifts.given[member.pk]


def test_the_members_pages_say_a_gift_is_from_the_shop(member_client, line_shop):
    reward = RewardFactory(shop=line_shop, name="Free latte", stock=3)
    coupon = gift(reward, member_client.member)

    listing = member_client.get(
        reverse("rewards:coupons", kwargs={"shop_slug": line_shop.slug})
    ).content.decode()
    page = member_client.get(
        reverse(
            "rewards:coupon",
            kwargs={"shop_slug": line_shop.slug, "redemption_id": coupon.redemption.public_id},
        )
    ).content.decode()

    assert "Free latte" in listing and "Gift from the shop" in listing
    assert "Gift from the shop" in page and "Points used" not in page


def test_the_back_office_shows_and_cancels_a_gift_without_points(shop, manager_client):
    reward = RewardFactory(shop=shop, name="Free latte", stock=3)
    coupon = gift(reward, MemberFactory(shop=shop))
    redemption = coupon.redemption

    listing = manager_client.get(reverse("admin:rewards_redemption_changelist")).content.decode()
    cancel = reverse("admin:rewards_redemption_cancel_redemption", args=[redemption.pk])
    form = manager_client.get(cancel).content.decode()
    response = manager_client.post(cancel, {"note": "sent by mistake"}, follow=True)

    assert "Gift from the shop" in listing
    assert "no points were used" in form and "Cancel the gift" in form
    assert admin_messages(response) == [
        "Gift cancelled: the stock and the member's limit are back."
    ]
    redemption.refresh_from_db()
    reward.refresh_from_db()
    assert (redemption.status, reward.stock) == ("cancelled", 3)
    assert not LedgerEntry.objects.exists()
