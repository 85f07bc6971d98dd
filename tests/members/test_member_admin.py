"""Members in the back office: search (a phone in any typed form) and the list filters."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.models import Member
from tests.factories import BranchFactory, MemberFactory, TagFactory, TierFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

CHANGELIST = "admin:members_member_changelist"


def listed(client, **params) -> set[int]:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return {member.pk for member in response.context["cl"].result_list}


@pytest.fixture
def somchai(shop):
    return MemberFactory(
        shop=shop, phone="+66812345678", first_name="สมชาย", last_name="ใจดี", customer_id="C-100"
    )


@pytest.fixture
def somying(shop):
    return MemberFactory(shop=shop, phone="+66898765432", first_name="Somying", customer_id=None)


@pytest.mark.parametrize(
    "typed", ["0812345678", "081-234-5678", "+66 81 234 5678", "66812345678", "๐๘๑๒๓๔๕๖๗๘"]
)
def test_search_finds_a_member_by_phone_in_any_form(owner_client, somchai, somying, typed):
    assert listed(owner_client, q=typed) == {somchai.pk}


def test_search_by_name_customer_id_and_email(owner_client, somchai, somying):
    Member.objects.filter(pk=somying.pk).update(email="somying@example.com")

    assert listed(owner_client, q="สมชาย") == {somchai.pk}
    assert listed(owner_client, q="C-100") == {somchai.pk}
    assert listed(owner_client, q="somying@example") == {somying.pk}


def test_search_never_finds_another_shops_member(owner_client, shop, other_shop, somchai):
    theirs = MemberFactory(shop=other_shop, phone="+66812345678", first_name="สมชาย")

    found = listed(owner_client, q="0812345678") | listed(owner_client, q="สมชาย")

    assert found == {somchai.pk}
    assert theirs.pk not in found


def test_filter_by_status(owner_client, shop, somchai):
    pending = MemberFactory(shop=shop, status=Member.Status.PENDING)

    assert listed(owner_client, status__exact="pending") == {pending.pk}
    assert listed(owner_client, status__exact="registered") == {somchai.pk}


def test_filter_by_bound_and_unbound(owner_client, somchai, somying):
    assert listed(owner_client, bound="yes") == {somchai.pk}
    assert listed(owner_client, bound="no") == {somying.pk}


def test_filter_by_tier_tag_and_branch(owner_client, shop, somchai, somying):
    gold = TierFactory(shop=shop, name="Gold")
    vip = TagFactory(shop=shop, name="VIP")
    siam = BranchFactory(shop=shop, name="Siam")
    Member.objects.filter(pk=somchai.pk).update(tier=gold, signup_branch=siam)
    somying.tags.add(vip)

    assert listed(owner_client, tier__id__exact=gold.pk) == {somchai.pk}
    assert listed(owner_client, tags__id__exact=vip.pk) == {somying.pk}
    assert listed(owner_client, signup_branch__id__exact=siam.pk) == {somchai.pk}


def test_filters_offer_only_the_shops_own_tiers_tags_and_branches(owner_client, shop, other_shop):
    TierFactory(shop=shop, name="Gold")
    TierFactory(shop=other_shop, name="SHOP-B-TIER")
    TagFactory(shop=other_shop, name="SHOP-B-TAG")
    BranchFactory(shop=other_shop, name="SHOP-B-BRANCH")
    MemberFactory(shop=shop)

    content = owner_client.get(reverse(CHANGELIST)).content.decode()

    assert "Gold" in content
    assert "SHOP-B" not in content


def test_list_shows_phones_in_local_form(owner_client, somchai):
    content = owner_client.get(reverse(CHANGELIST)).content.decode()

    assert "081-234-5678" in content
    assert "+66812345678" not in content
