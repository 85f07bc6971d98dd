"""The shared lookups (members.selectors, shops.selectors) and the URL helpers (loyalty.links)."""

from __future__ import annotations

import uuid

import pytest
from django.test import RequestFactory

from loyalty.links import absolute_url, media_url
from members.selectors import member_by_phone, member_by_public_id
from shops.selectors import active_shops, branch_by_code
from tests.factories import BranchFactory, MemberFactory, ShopFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed", ["0812345678", "081-234-5678", "+66 81 234 5678", "66812345678", "๐๘๑๒๓๔๕๖๗๘"]
)
def test_member_by_phone_finds_the_member_however_the_phone_is_typed(typed):
    member = MemberFactory(phone="+66812345678")
    assert member_by_phone(shop=member.shop, phone=typed) == member


def test_member_by_phone_is_none_for_another_shop_an_unknown_phone_or_no_phone(
    django_assert_num_queries,
):
    member = MemberFactory(phone="+66812345678")
    assert member_by_phone(shop=ShopFactory(), phone="0812345678") is None
    assert member_by_phone(shop=member.shop, phone="0899999999") is None
    with django_assert_num_queries(0):
        assert member_by_phone(shop=member.shop, phone="not a phone") is None
        assert member_by_phone(shop=member.shop, phone="") is None


def test_member_by_public_id_is_scoped_to_the_shop_and_loads_the_tier(django_assert_num_queries):
    member = MemberFactory()
    with django_assert_num_queries(1):
        found = member_by_public_id(shop=member.shop, public_id=str(member.public_id))
        assert found == member
        assert found.tier == member.tier
    assert member_by_public_id(shop=ShopFactory(), public_id=member.public_id) is None
    assert member_by_public_id(shop=member.shop, public_id=uuid.uuid4()) is None
    assert member_by_public_id(shop=member.shop, public_id="not-a-uuid") is None


def test_branch_by_code_reads_the_code_as_typed_and_skips_closed_branches():
    branch = BranchFactory(code="BKK01")
    closed = BranchFactory(shop=branch.shop, code="OLD01", is_active=False)
    assert branch_by_code(shop=branch.shop, code=" bkk01 ") == branch
    assert branch_by_code(shop=branch.shop, code=closed.code) is None
    assert branch_by_code(shop=ShopFactory(), code="BKK01") is None
    assert branch_by_code(shop=branch.shop, code="") is None


def test_active_shops_lists_open_shops_by_name():
    b, a = ShopFactory(name="B shop"), ShopFactory(name="A shop")
    ShopFactory(name="0 closed", is_active=False)
    assert active_shops(limit=20) == [a, b]
    assert active_shops(limit=1) == [a]


def test_absolute_url_prefers_site_url_then_the_request_host(settings):
    request = RequestFactory().get("/", HTTP_HOST="testserver")
    settings.SITE_URL = ""
    assert absolute_url(request, "/staff/") == "http://testserver/staff/"
    assert absolute_url(None, "/staff/") == "/staff/"
    settings.SITE_URL = "https://loyalty.example/"
    assert absolute_url(request, "/staff/") == "https://loyalty.example/staff/"


def test_media_url_makes_stored_paths_absolute_and_leaves_full_urls(settings):
    settings.SITE_URL = ""
    request = RequestFactory().get("/", HTTP_HOST="testserver")
    assert media_url(request, "/media/shops/x.png") == "http://testserver/media/shops/x.png"
    assert media_url(request, "https://cdn.example/x.png") == "https://cdn.example/x.png"
    assert media_url(request, "") == ""
    assert media_url(request, None) == ""
