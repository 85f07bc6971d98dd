"""Segments in the back office: the list, the builder (save, edit, each problem shown on its own
condition), the count endpoint (its numbers are ``segment_members``' and the LINE reach of those
members), the pickers, the RFM grid and its refresh button; and nothing of another shop is
visible, countable, pickable or changeable from there."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from campaigns.segments.conditions import parse_conditions, segment_members
from campaigns.segments.models import MemberRfm, Segment
from campaigns.segments.rfm import RfmGroup
from campaigns.segments.services import rfm_refresh
from members.ledger.actors import Actor
from members.ledger.earning import LineItem
from members.ledger.services import points_earn
from members.line.models import LineFriend
from members.models import Member
from members.signup.models import SignupQuestion
from rewards.models import Reward
from shops.models import User
from tests.factories import (
    FACTORIES,
    BranchFactory,
    MemberFactory,
    TagFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

COUNT = reverse("admin:campaigns_segment_count")
ADD = reverse("admin:campaigns_segment_add")
RFM = reverse("admin:campaigns_segment_rfm")
SECRET = "SHOP-B-SECRET"


def earn(shop, member=None, *, amount, channel, key, items=(), phone=None, branch=None):
    return points_earn(
        shop=shop,
        member=member,
        phone=phone,
        amount=amount,
        idempotency_key=key,
        actor=Actor.system(channel=channel),
        branch=branch,
        items=[LineItem(name=n, sku=s, quantity=Decimal(1), price=Decimal(p)) for s, n, p in items],
    )


def bound(shop, n, state=None, **kwargs):
    line_user_id = f"U{shop.pk:04d}{n:028d}"
    member = MemberFactory(shop=shop, line_user_id=line_user_id, bound_at=timezone.now(), **kwargs)
    if state:
        LineFriend.objects.create(shop=shop, line_user_id=line_user_id, state=state)
    return member


@pytest.fixture
def world(shop, other_shop):
    """Shop A's members as use makes them (store, online, API and imported purchases, a pending
    member known only by phone, a member without a name, a blocked account) and shop B's things,
    all named SHOP-B-SECRET."""
    branch = BranchFactory(shop=shop, name="สาขาสยาม")
    gold = TierFactory(shop=shop, name="Gold")
    vip = TagFactory(shop=shop, name="VIP")
    TagFactory(shop=shop, name="ลูกค้าใหม่")
    reward = FACTORIES[Reward](shop=shop, name="กาแฟฟรี")
    question = FACTORIES[SignupQuestion](shop=shop, label="ชอบกาแฟแบบไหน", kind="single")
    friend = bound(shop, 1, LineFriend.State.FRIEND, first_name="สมใจ", tier=gold)
    blocked = bound(shop, 2, LineFriend.State.BLOCKED, first_name="บล็อก")
    api = bound(shop, 3, first_name="เอพีไอ")  # bound by the Open API, never added the OA
    nameless = MemberFactory(shop=shop, first_name="", last_name="", line_display_name="")
    MemberFactory(shop=shop, first_name="ปิดบัญชี", status=Member.Status.BLOCKED)
    for member in (friend, blocked):
        member.tags.add(vip)
    earn(shop, friend, amount="500", channel="store", key="s1", branch=branch,
         items=[("LATTE", "ลาเต้เย็น", "60")])  # fmt: skip
    earn(shop, blocked, amount="300", channel="online", key="o1", items=[("MOCHA", "มอคค่า", "70")])
    earn(shop, api, amount="200", channel="api", key="a1", items=[("LATTE", "ลาเต้เย็น", "60")])
    earn(shop, nameless, amount="100", channel="import", key="i1")
    pending = earn(shop, amount="150", channel="store", key="p1", phone="0899999999").member
    rfm_refresh(shop_id=shop.pk, now=timezone.now() + dt.timedelta(minutes=1))

    b_tag = TagFactory(shop=other_shop, name=f"{SECRET}-tag")
    b_member = MemberFactory(shop=other_shop, first_name=SECRET, phone="+66812223333")
    b_member.tags.add(b_tag)
    earn(other_shop, b_member, amount="900", channel="store", key="b1",
         items=[("BSECRET", f"{SECRET}-latte", "90")])  # fmt: skip
    rfm_refresh(shop_id=other_shop.pk)
    b_reward = FACTORIES[Reward](shop=other_shop, name=f"{SECRET}-reward")
    b_segment = Segment.objects.create(
        shop=other_shop, name=f"{SECRET}-segment", conditions=[{"kind": "tags", "tags": [b_tag.pk]}]
    )
    vips = Segment.objects.create(
        shop=shop, name="VIP", conditions=[{"kind": "tags", "tags": [vip.pk]}]
    )
    return {
        "shop": shop, "vip": vip, "gold": gold, "branch": branch, "reward": reward,
        "question": question, "friend": friend, "blocked": blocked, "api": api,
        "nameless": nameless, "pending": pending, "segment": vips, "b_tag": b_tag,
        "b_member": b_member, "b_reward": b_reward, "b_segment": b_segment,
    }  # fmt: skip


def count(client, conditions, **extra):
    response = client.post(
        COUNT, json.dumps({"conditions": conditions, **extra}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def builder(response) -> dict:
    return response.context["builder"]


# --- pages --------------------------------------------------------------------------------------


def test_the_list_shows_each_segment_with_its_members_now(owner_client, world):
    response = owner_client.get(reverse("admin:campaigns_segment_changelist"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "VIP" in html
    assert 'data-testid="segment-count">2<' in html  # friend + blocked, both tagged VIP
    assert SECRET not in html


def test_a_segment_whose_tag_was_deleted_is_listed_as_needing_a_fix(owner_client, world):
    world["vip"].delete()

    response = owner_client.get(reverse("admin:campaigns_segment_changelist"))

    assert 'data-testid="segment-broken"' in response.content.decode()


def test_the_builder_offers_the_shops_own_choices_only(owner_client, world):
    response = owner_client.get(ADD)

    assert response.status_code == 200
    data = builder(response)
    assert {t["label"] for t in data["tags"]} == {"VIP", "ลูกค้าใหม่"}
    assert [r["label"] for r in data["rewards"]] == ["กาแฟฟรี"]
    assert [q["label"] for q in data["questions"]] == ["ชอบกาแฟแบบไหน"]
    assert [b["label"] for b in data["branches"]] == ["สาขาสยาม"]
    assert len(data["rfm"]) == 11 and len(data["months"]) == 12
    # every kind conditions.py reads (reward and signup_answer once they land there), no other
    assert {"all", "rfm", "purchased", "tags", "members", "last_visit_branch"} <= set(data["kinds"])
    with translation.override("th"):
        unknown = [[gettext("This kind of condition is not available.")]]
    assert count(owner_client, [{"kind": "no-such-kind"}])["errors"] == unknown
    for kind in data["kinds"]:
        assert count(owner_client, [{"kind": kind}])["errors"] != unknown
    assert SECRET not in response.content.decode()


def test_the_change_page_shows_the_saved_conditions_and_picked_members(owner_client, world):
    segment = world["segment"]
    segment.conditions = [*segment.conditions, {"kind": "members", "members": [world["api"].pk]}]
    segment.save()

    response = owner_client.get(reverse("admin:campaigns_segment_change", args=[segment.pk]))

    assert response.status_code == 200
    data = builder(response)
    assert data["conditions"] == segment.conditions
    assert data["member_labels"] == {
        str(world["api"].pk): "เอพีไอ Member · 081-xxx-" + (world["api"].phone[-4:])
    }


# --- saving ---------------------------------------------------------------------------------------


def test_saving_a_new_segment_and_editing_it(owner_client, world, shop):
    conditions = [
        {"kind": "tags", "mode": "any", "tags": [world["vip"].pk]},
        {"kind": "purchased", "mode": "any", "products": ["LATTE"], "since": "2026-01-01"},
    ]

    response = owner_client.post(
        ADD, {"name": "  ลูกค้าลาเต้ ", "conditions": json.dumps(conditions), "_continue": "1"}
    )

    assert response.status_code == 302
    segment = Segment.objects.get(shop=shop, name="ลูกค้าลาเต้")
    assert segment.conditions == conditions
    assert response["Location"] == reverse("admin:campaigns_segment_change", args=[segment.pk])

    # edit: another name, one condition fewer
    response = owner_client.post(
        reverse("admin:campaigns_segment_change", args=[segment.pk]),
        {"name": "ลาเต้", "conditions": json.dumps(conditions[1:])},
    )

    assert response.status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.conditions) == ("ลาเต้", conditions[1:])


def test_each_problem_is_shown_on_its_own_condition_in_thai(owner_client, world, shop):
    conditions = [
        {"kind": "tags", "mode": "any", "tags": []},
        {"kind": "all"},
        {"kind": "balance", "min": 500, "max": 100},
        {"kind": "tags", "tags": [world["b_tag"].pk]},
        {"kind": "nonsense"},
    ]

    response = owner_client.post(ADD, {"name": "เสีย", "conditions": json.dumps(conditions)})

    assert response.status_code == 200
    assert not Segment.objects.filter(name="เสีย").exists()
    with translation.override("th"):
        expected = [
            [gettext("choose at least one tag.")],
            [],
            [gettext("the lowest balance is above the highest.")],
            [gettext("some of the tags are not this shop's.")],
            [gettext("This kind of condition is not available.")],
        ]
        numbered = gettext("Condition %(n)s: %(message)s") % {"n": 3, "message": expected[2][0]}
    assert builder(response)["errors"] == expected
    assert builder(response)["conditions"] == conditions  # kept as typed, to fix
    html = response.content.decode()
    assert numbered in html  # the summary above the rows names each condition
    assert SECRET not in html


def test_problems_read_in_english_for_an_english_screen(owner_client, world, english):
    response = owner_client.post(
        ADD, {"name": "x", "conditions": json.dumps([{"kind": "birth_month", "months": [13]}])}
    )

    assert builder(response)["errors"] == [["months are 1 to 12."]]
    assert "Condition 1: months are 1 to 12." in response.content.decode()


def test_a_segment_needs_a_name_and_a_condition_and_a_free_name(owner_client, world):
    response = owner_client.post(ADD, {"name": "", "conditions": "[]"})
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"name", "conditions"}

    response = owner_client.post(ADD, {"name": "VIP", "conditions": '[{"kind": "all"}]'})
    assert response.status_code == 200
    with translation.override("th"):
        taken = gettext("The shop already has a segment named “%(name)s”.") % {"name": "VIP"}
    assert response.context["adminform"].form.errors == {"name": [taken]}
    assert Segment.objects.filter(name="VIP").count() == 1

    response = owner_client.post(ADD, {"name": "x", "conditions": "not json"})
    assert response.status_code == 200
    assert "conditions" in response.context["adminform"].form.errors


# --- the count ------------------------------------------------------------------------------------


CASES = [
    [{"kind": "all"}],
    [{"kind": "tags", "mode": "any", "tags": ["vip"]}],
    [{"kind": "purchased", "mode": "any", "products": ["latte"]}],
    [{"kind": "purchased", "mode": "none", "products": ["LATTE"]}, {"kind": "bound"}],
    [{"kind": "pending"}],
    [{"kind": "rfm", "groups": list(RfmGroup.values)}],
    [{"kind": "last_visit_branch", "branches": ["branch"]}],
    [{"kind": "tier", "tiers": ["gold"]}],
]


@pytest.mark.parametrize("conditions", CASES, ids=lambda c: "+".join(x["kind"] for x in c))
def test_the_count_is_segment_members_split_by_reach_on_line(owner_client, world, conditions):
    conditions = json.loads(
        json.dumps(conditions)
        .replace('"vip"', str(world["vip"].pk))
        .replace('"branch"', str(world["branch"].pk))
        .replace('"gold"', str(world["gold"].pk))
    )
    shop = world["shop"]
    members = list(segment_members(shop.pk, parse_conditions(shop.pk, conditions)))
    friends = set(
        LineFriend.objects.filter(shop=shop, state="friend").values_list("line_user_id", flat=True)
    )
    blocked = set(
        LineFriend.objects.filter(shop=shop, state="blocked").values_list("line_user_id", flat=True)
    )

    answer = count(owner_client, conditions)

    on_line = [m for m in members if m.bound_at and m.line_user_id in friends]
    assert answer["ok"] is True
    assert answer["total"] == len(members)
    assert answer["line_reachable"] == len(on_line)
    assert answer["not_reachable"] == {
        "total": len(members) - len(on_line),
        "not_bound": sum(1 for m in members if not m.bound_at),
        "blocked": sum(1 for m in members if m.bound_at and m.line_user_id in blocked),
        "not_friend": sum(
            1
            for m in members
            if m.bound_at and m.line_user_id not in friends and m.line_user_id not in blocked
        ),
    }
    expected = sorted(members, key=lambda m: (m.created_at, m.pk), reverse=True)[:10]
    assert [row["balance"] for row in answer["preview"]] == [m.balance for m in expected]
    for row in answer["preview"]:
        assert "x" in row["phone"] or row["phone"] == ""  # masked, never the whole number


def test_everyone_is_every_targetable_member_of_this_shop(owner_client, world):
    answer = count(owner_client, [{"kind": "all"}])

    # five of A's members can be targeted (the blocked account cannot); B's member is not one
    assert answer["total"] == 5
    assert answer["line_reachable"] == 1
    assert answer["not_reachable"]["blocked"] == 1
    names = {row["name"] for row in answer["preview"]}
    assert SECRET not in json.dumps(answer, ensure_ascii=False)
    assert "ปิดบัญชี Member" not in names


def test_an_incomplete_condition_answers_its_problem_instead_of_a_count(owner_client, world):
    answer = count(owner_client, [{"kind": "all"}, {"kind": "purchased", "products": []}])

    assert answer["ok"] is False
    assert "total" not in answer
    assert answer["errors"][0] == []
    assert len(answer["errors"][1]) == 1


def test_nothing_to_count_says_so(owner_client, world):
    assert count(owner_client, [])["problems"]
    response = owner_client.post(COUNT, "{not json", content_type="application/json")
    assert response.json()["ok"] is False


# --- pickers --------------------------------------------------------------------------------------


def test_member_search_by_phone_or_name_finds_the_shops_members_only(owner_client, world):
    url = reverse("admin:campaigns_segment_member_search")
    friend = world["friend"]

    by_name = owner_client.get(url, {"q": "สมใจ"}).json()["members"]
    by_phone = owner_client.get(url, {"q": friend.phone_local}).json()["members"]
    other = owner_client.get(url, {"q": SECRET}).json()["members"]
    other_phone = owner_client.get(url, {"q": "081-222-3333"}).json()["members"]

    assert [m["id"] for m in by_name] == [friend.pk]
    assert [m["id"] for m in by_phone] == [friend.pk]
    assert other == other_phone == []


def test_pasted_phones_and_customer_ids_become_members(owner_client, world):
    api = world["api"]
    api.customer_id = "CUST-42"
    api.save()
    text = f"{world['friend'].phone_local}\nCUST-42\n0899999999\n081-222-3333\nnobody"

    answer = owner_client.post(
        reverse("admin:campaigns_segment_member_resolve"),
        json.dumps({"text": text}),
        content_type="application/json",
    ).json()

    assert {m["id"] for m in answer["members"]} == {
        world["friend"].pk,
        api.pk,
        world["pending"].pk,
    }
    assert answer["unknown"] == ["081-222-3333", "nobody"]  # B's member is unknown here


def test_product_suggestions_come_from_the_shops_recorded_items(owner_client, world):
    url = reverse("admin:campaigns_segment_products")

    assert set(owner_client.get(url, {"q": "lat"}).json()["products"]) == {"LATTE", "ลาเต้เย็น"}
    assert owner_client.get(url, {"q": "BSECRET"}).json()["products"] == []
    assert SECRET not in json.dumps(owner_client.get(url, {"q": ""}).json())


# --- the RFM grid ---------------------------------------------------------------------------------


def test_the_rfm_grid_counts_the_members_a_segment_of_the_group_would_hold(owner_client, world):
    shop = world["shop"]

    response = owner_client.get(RFM)

    assert response.status_code == 200
    rows = {row.group: row for row, _url in response.context["rows"]}
    assert list(rows) == list(RfmGroup)
    for group, row in rows.items():
        conditions = parse_conditions(shop.pk, [{"kind": "rfm", "groups": [group.value]}])
        assert row.members == segment_members(shop.pk, conditions).count(), group
    assert sum(row.members for row in rows.values()) == 5
    assert sum(row.spend for row in rows.values()) == Decimal("1250.00")
    html = response.content.decode()
    assert f"{ADD}?rfm=champions" in html
    assert SECRET not in html


def test_a_group_opens_a_new_segment_of_that_group(owner_client, world):
    response = owner_client.get(ADD, {"rfm": "at_risk"})

    assert builder(response)["conditions"] == [{"kind": "rfm", "groups": ["at_risk"]}]
    assert owner_client.get(ADD, {"rfm": "nonsense"}).context["builder"]["conditions"] == []


def test_refresh_now_recomputes_the_shops_scores(owner_client, world, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    shop = world["shop"]
    MemberRfm.objects.filter(shop=shop).delete()
    b_scores = MemberRfm.objects.filter(shop=world["b_member"].shop).count()

    response = owner_client.post(RFM)

    assert response.status_code == 302
    assert MemberRfm.objects.filter(shop=shop).count() == 5
    assert MemberRfm.objects.filter(shop=world["b_member"].shop).count() == b_scores
    assert owner_client.get(RFM).context["computed"] is not None


# --- who may ------------------------------------------------------------------------------------


def test_another_shops_segment_cannot_be_opened_or_changed(owner_client, world):
    b_segment = world["b_segment"]
    for view in ("change", "delete", "history"):
        response = owner_client.get(reverse(f"admin:campaigns_segment_{view}", args=[b_segment.pk]))
        assert response.status_code in (302, 404)
        assert SECRET not in response.content.decode()

    owner_client.post(
        reverse("admin:campaigns_segment_change", args=[b_segment.pk]),
        {"name": "hijacked", "conditions": '[{"kind": "all"}]'},
    )
    owner_client.post(
        reverse("admin:campaigns_segment_delete", args=[b_segment.pk]), {"post": "yes"}
    )

    b_segment.refresh_from_db()
    assert b_segment.name == f"{SECRET}-segment"


def test_another_shops_ids_are_refused_and_its_segment_id_gives_nothing(owner_client, world):
    b = world
    answer = count(
        owner_client,
        [
            {"kind": "members", "members": [b["b_member"].pk]},
            {"kind": "tags", "tags": [b["b_tag"].pk]},
        ],
        segment=str(b["b_segment"].public_id),  # ignored: the owner's own shop is counted
    )
    with translation.override("th"):
        assert answer["errors"] == [
            [gettext("some of the members are not this shop's.")],
            [gettext("some of the tags are not this shop's.")],
        ]


@pytest.mark.parametrize("role", [User.Role.CASHIER, None])
def test_only_the_back_office_may_use_the_builder(client, shop, world, role):
    if role:
        client.force_login(UserFactory(username="someone", shop=shop, role=role))
    for method, url in (
        ("post", COUNT),
        ("get", reverse("admin:campaigns_segment_member_search") + "?q=สมใจ"),
        ("post", reverse("admin:campaigns_segment_member_resolve")),
        ("get", reverse("admin:campaigns_segment_products")),
        ("get", RFM),
        ("post", RFM),
    ):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_a_manager_builds_segments_too(manager_client, world):
    assert manager_client.get(ADD).status_code == 200
    assert count(manager_client, [{"kind": "all"}])["total"] == 5


def test_a_platform_operator_counts_a_shops_segment_but_adds_none(client, operator, world):
    client.force_login(operator)
    segment = world["b_segment"]

    response = client.get(reverse("admin:campaigns_segment_change", args=[segment.pk]))
    assert response.status_code == 200
    answer = count(client, segment.conditions, segment=str(segment.public_id))
    assert answer["total"] == 1

    assert client.get(ADD).status_code == 403
    assert client.post(COUNT, "{}", content_type="application/json").status_code == 403
    assert client.get(RFM).status_code == 200  # says the grid belongs to a shop
    assert client.post(RFM).status_code == 403
