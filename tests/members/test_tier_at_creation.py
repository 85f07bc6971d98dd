"""A new member has its tier from the moment it exists — the base tier (threshold 0) or the tier its
opening points reach — whichever way it was created: the Open API, an import, the staff app's
phone, a sign-up, the back office. Not null until a first earn."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from django.test import Client

from members import services
from members.ledger.actors import Actor
from members.ledger.services import points_earn
from members.models import Member
from members.signup.services import member_register
from shops.apikeys import api_key_create
from tests.factories import ShopFactory, TierFactory
from tests.members.imports.conftest import HEADER, commit, make_xlsx, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_root(tmp_path, settings):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def tiered_shop(db):
    shop = ShopFactory(
        thb_per_point=Decimal("25.00"), expiry_mode="never", tiers_enabled=True, welcome_points=0
    )
    shop.silver = TierFactory(shop=shop, name="Silver", threshold=0)
    shop.gold = TierFactory(shop=shop, name="Gold", threshold=100)
    return shop


def test_a_member_created_by_the_api_has_the_base_tier_at_once(tiered_shop):
    # given an API key of a shop whose lowest tier needs no points
    _key, raw = api_key_create(shop=tiered_shop, name="web shop")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    # when the API creates a member
    created = client.post(
        "/api/v1/members",
        json.dumps({"phone": "0812345678"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    # then the answer and the row carry the base tier, before any earn
    assert created.status_code == 201, created.content
    assert created.json()["tier"]["name"] == "Silver"
    member = Member.objects.get(public_id=created.json()["id"])
    assert member.tier == tiered_shop.silver
    assert member.tier_changed_at is not None


def test_imported_members_have_their_tier_with_or_without_opening_points(tmp_path, tiered_shop):
    # given a file with a member without points and one whose points reach Gold
    path = make_xlsx(
        tmp_path / "members.xlsx",
        [HEADER, ["0812345678", "A", "", 0, "", "", ""], ["0898765432", "B", "", 150, "", "", ""]],
    )
    # when it is imported
    job = commit(upload(tiered_shop, path))
    assert job.state == job.State.DONE, job.state
    # then both have a tier at once
    tiers = dict(Member.objects.filter(shop=tiered_shop).values_list("phone", "tier__name"))
    assert tiers == {"+66812345678": "Silver", "+66898765432": "Gold"}


def test_an_import_without_points_or_tier_columns_still_gives_the_base_tier(tmp_path, tiered_shop):
    path = make_xlsx(tmp_path / "m.xlsx", [["เบอร์โทร", "ชื่อ"], ["0812345678", "A"]])

    commit(upload(tiered_shop, path))

    assert Member.objects.get(shop=tiered_shop).tier == tiered_shop.silver


def test_an_import_that_names_a_higher_tier_keeps_it(tmp_path, tiered_shop):
    path = make_xlsx(
        tmp_path / "m.xlsx", [["เบอร์โทร", "ชื่อ", "ระดับสมาชิก"], ["0812345678", "A", "Gold"]]
    )

    job = commit(upload(tiered_shop, path))

    assert job.state == job.State.DONE, list(job.errors.values_list("code", flat=True))
    assert Member.objects.get(shop=tiered_shop).tier == tiered_shop.gold


def test_no_tier_when_the_shop_does_not_use_tiers_or_its_lowest_tier_needs_points(tmp_path):
    off = ShopFactory(tiers_enabled=False)
    TierFactory(shop=off, threshold=0)
    high = ShopFactory(tiers_enabled=True)
    TierFactory(shop=high, threshold=500)

    for shop in (off, high):
        member, created = services.member_get_or_create(shop=shop, phone="0812345678")
        assert created
        assert member.tier is None


def test_a_pending_member_created_by_an_earn_by_phone_has_its_tier(tiered_shop):
    result = points_earn(
        shop=tiered_shop,
        phone="0812345678",
        amount=Decimal("50.00"),
        idempotency_key="k1",
        actor=Actor.system(),
    )

    assert result.member_created
    assert Member.objects.get(pk=result.member.pk).tier == tiered_shop.silver


def test_a_member_who_signs_up_without_welcome_points_has_the_base_tier(tiered_shop):
    registration = member_register(
        shop=tiered_shop,
        line_user_id="U" + "1" * 32,
        first_name="สมชาย",
        last_name="ใจดี",
        phone="0812345678",
        birthday=None,
        accepted_terms=True,
    )

    assert registration.member.tier == tiered_shop.silver


def test_a_member_added_in_the_back_office_starts_at_the_base_tier_or_its_floor(tiered_shop):
    plain = services.member_save(member=Member(shop=tiered_shop, phone="+66812345678"))
    floored = services.member_save(
        member=Member(shop=tiered_shop, phone="+66898765432", manual_tier=tiered_shop.gold)
    )

    assert plain.tier == tiered_shop.silver
    assert floored.tier == tiered_shop.gold


def test_an_existing_member_saved_again_keeps_its_tier_as_set(tiered_shop):
    member = services.member_save(member=Member(shop=tiered_shop, phone="+66812345678"))
    member.tier = None

    services.member_save(member=member)

    assert Member.objects.get(pk=member.pk).tier is None
