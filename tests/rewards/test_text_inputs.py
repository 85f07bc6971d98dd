"""Rewards text (addresses, reward names, codes, tracking numbers) refuses the characters typed
text may not contain (``loyalty.text``), saying which and where, and writes nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from loyalty.errors import InvalidInput
from members.ledger.actors import Actor
from rewards import services
from rewards.models import Delivery, Redemption, Reward, RewardCode
from shops.apikeys import api_key_create
from tests.admin_forms import admin_change_data, errors_text
from tests.factories import MemberFactory, RewardFactory
from tests.members.pages.conftest import fake_line, line_shop
from tests.members.pages.conftest import member_client as _member_client
from tests.members.test_api import Api
from tests.rewards.conftest import give
from tests.rewards.test_member_rewards import ADDRESS, redeem_url, rendered_key

__all__ = ["fake_line", "line_shop"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
member_client = _member_client


def test_api_redemption_refuses_a_control_character_in_the_address(shop):
    api = Api(api_key_create(shop=shop, name="t")[1])
    member = give(MemberFactory(shop=shop), 100)
    gift = RewardFactory(shop=shop, kind="delivery", points_cost=10)
    body = {"member_id": str(member.public_id), "reward_id": str(gift.public_id)}

    refused = api.post("/redemptions", {**body, "address": {**ADDRESS, "recipient": "Som\x07"}})
    accepted = api.post(
        "/redemptions", {**body, "address": {**ADDRESS, "address": "99 Sukhumvit\nBangkok"}}
    )

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["details"][0]["field"] == "address.recipient"
    assert "invisible control character (U+0007) at position 4" in error["message"]
    assert accepted.status_code == 201  # a line break is fine in an address
    assert Delivery.objects.get().address == "99 Sukhumvit\nBangkok"


def test_the_delivery_form_refuses_a_control_character_in_the_address(member_client, line_shop):
    give(member_client.member, 200)
    reward = RewardFactory(shop=line_shop, kind="delivery", points_cost=50)
    key = rendered_key(member_client.get(redeem_url(reward)))

    response = member_client.post(
        redeem_url(reward),
        {"key": key, "saved": "new", **ADDRESS, "address": "99 Sukhumvit\x0b Bangkok"},
    )

    assert "“Address” contains an invisible control character (U+000B) at position 13" in str(
        response.context["form"].errors["address"]
    )
    assert not Redemption.objects.exists()


def test_the_address_service_refuses_what_a_form_would(shop):
    # Every caller of the service gets the rule, not only the forms and the API.
    member = give(MemberFactory(shop=shop), 100)
    gift = RewardFactory(shop=shop, kind="delivery", points_cost=10)
    with pytest.raises(InvalidInput) as refused:
        services.reward_redeem(
            member=member,
            reward=gift,
            idempotency_key="k",
            actor=Actor.member(),
            address=services.Address(**{**ADDRESS, "address": "1 Road\uffff"}),
        )
    assert "(U+FFFF)" in str(refused.value) and refused.value.field == "address"
    assert not Redemption.objects.exists()


def test_admin_reward_form_refuses_uffff_in_the_name(owner_client, shop):
    reward = RewardFactory(shop=shop, name="Latte")
    url = reverse("admin:rewards_reward_change", args=[reward.pk])
    data = admin_change_data(owner_client.get(url))
    data["name"] = "Lat\ufffft\xe9"

    response = owner_client.post(url, data)

    assert "contains a code that is not a character (U+FFFF) at position 4" in errors_text(response)
    assert Reward.objects.get(pk=reward.pk).name == "Latte"


def test_codes_with_a_control_character_are_refused_pasted_or_in_a_file(owner_client, shop):
    reward = RewardFactory(shop=shop, kind="custom_code", code_source="pool")
    url = reverse("admin:rewards_reward_add_codes", args=[reward.pk])

    pasted = owner_client.post(url, {"pasted": "AAA1\nBB\x07B2\n"})
    in_a_file = owner_client.post(
        url, {"file": SimpleUploadedFile("codes.csv", b"code\nAAA1\nCC\x1fC3\n")}
    )

    assert "“or paste codes” contains an invisible control character (U+0007) at position 8" in (
        str(pasted.context["form"].errors["pasted"])
    )
    # a file names the code, its character shown as U+FFFD
    assert "“CC\ufffdC3” contains an invisible control character (U+001F) at position 3" in (
        str(in_a_file.context["form"].non_field_errors())
    )
    assert not RewardCode.objects.exists()


def test_a_tracking_number_with_a_control_character_is_refused(owner_client, shop):
    gift = RewardFactory(shop=shop, kind="delivery", points_cost=10)
    redemption, _ = services.reward_redeem(
        member=give(MemberFactory(shop=shop), 10),
        reward=gift,
        idempotency_key="d",
        actor=Actor.member(),
        address=services.Address(**ADDRESS),
    )
    ship = reverse("admin:rewards_delivery_mark_shipped", args=[redemption.delivery.pk])

    response = owner_client.post(ship, {"carrier": "Kerry", "tracking_number": "KEX\x1f1"})

    assert "“tracking number” contains an invisible control character (U+001F)" in (
        response.content.decode()
    )
    assert Delivery.objects.get().status == "pending"
