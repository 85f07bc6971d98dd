"""Members in the back office: search (a phone in any typed form) and the list filters."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from loyalty.phones import phone_search
from members.admin import phone_search_filter
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
    from members.line.binding import member_bind

    # a Customer ID alone is not a binding: the shop does not know the LINE user
    assert listed(owner_client, bound="yes") == set()
    member_bind(member=somchai, line_user_id="U" + "1" * 32, via="admin", actor="test")
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


@pytest.fixture
def third(shop):
    # ends in 5678 like somchai, begins differently; 5678 also in the middle of nobody else's
    return MemberFactory(shop=shop, phone="+66923455678", first_name="Third", customer_id=None)


@pytest.mark.parametrize("typed", ["5678", "๕๖๗๘", " 5678 "])
def test_search_finds_members_by_the_last_4_digits(owner_client, somchai, somying, third, typed):
    assert listed(owner_client, q=typed) == {somchai.pk, third.pk}


def test_the_last_digits_match_the_end_only(owner_client, somchai, somying):
    # 2345 is inside somchai's +66812345678 but not its end
    assert listed(owner_client, q="2345") == set()


@pytest.mark.parametrize("typed", ["081", "0812", "081-2", "081 234", "+6681", "+66 81"])
def test_search_finds_members_by_the_beginning_of_the_number(
    owner_client, somchai, somying, third, typed
):
    assert listed(owner_client, q=typed) == {somchai.pk}


def test_a_prefix_and_the_last_digits_never_reach_another_shop(
    owner_client, shop, other_shop, somchai
):
    MemberFactory(shop=other_shop, phone="+66812345678")

    assert listed(owner_client, q="0812") == {somchai.pk}
    assert listed(owner_client, q="5678") == {somchai.pk}


def test_digits_also_find_a_numeric_customer_id(owner_client, shop, somchai):
    numbered = MemberFactory(shop=shop, phone="+66870000000", customer_id="5678")

    assert listed(owner_client, q="5678") == {somchai.pk, numbered.pk}


def test_two_digits_are_not_a_phone_search(owner_client, somchai, somying):
    # too short to mean a number: no phone matches ("78" ends somchai's number)
    assert listed(owner_client, q="78") == set()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_a_prefix_search_can_use_the_shop_phone_index(shop):

    # given a shop with enough members that reading them all costs more than the index
    Member.objects.bulk_create(
        Member(shop=shop, phone=f"+66{800000000 + i * 37}") for i in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE members_member")
    wanted = phone_search_filter(phone_search("0812"))
    query = Member.objects.filter(shop=shop).filter(wanted).order_by()
    with connection.cursor() as cursor:
        sql, params = query.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "member_phone_unique_per_shop" in plan, plan
    index_condition = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert ">= '+66812'" in index_condition, plan
