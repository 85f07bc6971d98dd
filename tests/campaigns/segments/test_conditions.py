"""Segment conditions: each kind in SQL agrees with a brute-force Python evaluation of the same
conditions over generated members (Hypothesis), bad input is refused with a message per condition,
and nothing of another shop can be named or matched."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.segments.conditions import parse_conditions, segment_members
from campaigns.segments.models import MemberRfm
from campaigns.segments.rfm import RfmGroup
from campaigns.segments.services import rfm_refresh
from loyalty.dates import local_midnight
from members.ledger.models import Channel, Purchase, PurchaseItem
from members.ledger.visits import shop_purchases_refresh
from members.line.models import LineFriend
from members.models import Member
from members.signup.models import SignupAnswer, SignupQuestion
from rewards.models import Reward, RewardCode
from tests.campaigns.segments.test_conditions_more import can_redeem_now, give_lot, redeemed
from tests.factories import (
    BranchFactory,
    MemberFactory,
    RewardFactory,
    ShopFactory,
    SignupChoiceFactory,
    SignupQuestionFactory,
    TagFactory,
    TierFactory,
)

NOW = dt.datetime(2026, 12, 3, 5, 0, tzinfo=dt.UTC)  # 12:00 in Bangkok
TODAY = dt.date(2026, 12, 3)
PRODUCTS = [("LATTE", "ลาเต้เย็น"), ("MOCHA", "มอคค่า"), ("TEA", "ชาไทย")]

purchase_st = st.tuples(
    st.integers(0, 400),  # days ago
    st.sampled_from([0, 1, None]),  # branch index
    st.booleans(),  # refunded
    st.lists(st.integers(0, 2), max_size=2),  # product indexes
)
member_st = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["registered", "registered", "pending", "blocked"]),
        "balance": st.integers(0, 3000),
        "birth_month": st.one_of(st.none(), st.integers(1, 12)),
        "tier": st.sampled_from([0, 1, None]),
        "tags": st.sets(st.integers(0, 2), max_size=3),
        "bound": st.booleans(),
        "friend": st.sampled_from(["friend", "blocked", None]),
        "joined_days_ago": st.integers(0, 400),
        "purchases": st.lists(purchase_st, max_size=3),
        "choices": st.sets(st.integers(0, 2), max_size=2),  # answer to the choice question
        "wrote": st.booleans(),  # answered the text question
        # (points, days until spendable): the lots that "can redeem" counts
        "lots": st.lists(
            st.tuples(st.sampled_from([40, 120]), st.sampled_from([-1, 2])), max_size=3
        ),
        "used_limited": st.booleans(),  # redeemed the once-per-member reward
    }
)


def day(days_ago: int) -> str:
    return (TODAY - dt.timedelta(days=days_ago)).isoformat()


window_st = st.fixed_dictionaries(
    {},
    optional={"since": st.integers(0, 400).map(day), "until": st.integers(0, 400).map(day)},
).filter(lambda w: not ("since" in w and "until" in w and w["since"] > w["until"]))

KINDS = [
    "all", "rfm", "purchased", "tags", "balance", "birth_month", "tier", "pending", "members",
    "bound", "line_friend", "joined", "last_visit", "last_visit_branch", "reward", "signup_answer",
]  # fmt: skip

_condition_list = (
    st.just({"kind": "all"}),
    st.fixed_dictionaries(
        {"kind": st.just("rfm"), "groups": st.lists(st.sampled_from(RfmGroup.values), min_size=1)}
    ),
    st.builds(
        lambda mode, products, window: {
            "kind": "purchased",
            "mode": mode,
            "products": products,
            **window,
        },
        st.sampled_from(["any", "all", "none"]),
        st.lists(
            st.sampled_from([p[0] for p in PRODUCTS] + [p[1] for p in PRODUCTS] + ["latte"]),
            min_size=1,
            max_size=3,
        ),
        window_st,
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("tags"),
            "mode": st.sampled_from(["any", "all", "none"]),
            "tags": st.lists(st.integers(0, 2), min_size=1),
        }
    ),
    st.fixed_dictionaries(
        {"kind": st.just("balance")},
        optional={"min": st.integers(0, 3000), "max": st.integers(0, 3000)},
    ).filter(lambda c: ("min" in c or "max" in c) and c.get("min", 0) <= c.get("max", 10**9)),
    st.fixed_dictionaries(
        {"kind": st.just("birth_month"), "months": st.lists(st.integers(1, 12), min_size=1)}
    ),
    st.fixed_dictionaries(
        {"kind": st.just("tier"), "tiers": st.lists(st.integers(0, 1), min_size=1)}
    ),
    st.just({"kind": "pending"}),
    st.fixed_dictionaries(
        {"kind": st.just("members"), "members": st.lists(st.integers(0, 5), min_size=1)}
    ),
    st.fixed_dictionaries({"kind": st.just("bound"), "bound": st.booleans()}),
    st.fixed_dictionaries({"kind": st.just("line_friend"), "friend": st.booleans()}),
    st.builds(lambda w: {"kind": "joined", **w}, window_st),
    st.builds(lambda w: {"kind": "last_visit", **w}, window_st),
    st.fixed_dictionaries(
        {"kind": st.just("last_visit_branch"), "branches": st.lists(st.integers(0, 1), min_size=1)}
    ),
    st.fixed_dictionaries(
        {"kind": st.just("reward"), "rewards": st.lists(st.integers(0, 2), min_size=1)}
    ),
    st.one_of(
        st.fixed_dictionaries(
            {
                "kind": st.just("signup_answer"),
                "question": st.just(0),
                "choices": st.lists(st.integers(0, 2), min_size=1),
            }
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("signup_answer"),
                "question": st.integers(0, 1),
                "answered": st.booleans(),
            }
        ),
    ),
)
CONDITIONS = dict(zip(KINDS, _condition_list, strict=True))
condition_st = st.one_of(*_condition_list)


def build_world(spec):
    """The generated members of one new shop, written with bulk inserts (a few statements per world,
    so that Hypothesis can try many)."""
    shop = ShopFactory()
    tags = [TagFactory(shop=shop) for _ in range(3)]
    tiers = [TierFactory(shop=shop) for _ in range(2)]
    branches = [BranchFactory(shop=shop) for _ in range(2)]
    members = Member.objects.bulk_create(
        Member(
            shop=shop,
            status=m["status"],
            phone=f"+6689{shop.pk:03d}{i:04d}",
            first_name=f"M{i}",
            balance=m["balance"],
            birthday=dt.date(1990, m["birth_month"], 1) if m["birth_month"] else None,
            tier=tiers[m["tier"]] if m["tier"] is not None else None,
            line_user_id=f"U{shop.pk:08d}{i:024d}" if m["bound"] or m["friend"] else None,
            bound_at=NOW if m["bound"] else None,
            created_at=NOW - dt.timedelta(days=m["joined_days_ago"]),
        )
        for i, m in enumerate(spec)
    )
    Member.tags.through.objects.bulk_create(
        Member.tags.through(member_id=member.pk, tag_id=tags[t].pk)
        for member, m in zip(members, spec, strict=True)
        for t in m["tags"]
    )
    LineFriend.objects.bulk_create(
        LineFriend(shop=shop, line_user_id=member.line_user_id, state=m["friend"])
        for member, m in zip(members, spec, strict=True)
        if m["friend"]
    )
    rows = [
        (member, purchase)
        for member, m in zip(members, spec, strict=True)
        for purchase in m["purchases"]
    ]
    purchases = Purchase.objects.bulk_create(
        Purchase(
            shop=shop,
            member=member,
            channel=Channel.STORE,
            branch=branches[branch] if branch is not None else None,
            amount=Decimal("100"),
            points=0,
            status="reversed" if refunded else "completed",
            created_at=NOW - dt.timedelta(days=days_ago),
        )
        for member, (days_ago, branch, refunded, _products) in rows
    )
    PurchaseItem.objects.bulk_create(
        PurchaseItem(
            shop=shop,
            purchase=purchase,
            sku=PRODUCTS[index][0],
            name=PRODUCTS[index][1],
            quantity=1,
            price=100,
        )
        for purchase, (_member, (_d, _b, _r, indexes)) in zip(purchases, rows, strict=True)
        for index in indexes
    )
    facts = {member.pk: {"member": member, "tags": set(), "purchases": []} for member in members}
    for member, m in zip(members, spec, strict=True):
        facts[member.pk]["tags"] = {tags[t].pk for t in m["tags"]}
    for purchase, (member, (_d, _b, refunded, indexes)) in zip(purchases, rows, strict=True):
        facts[member.pk]["purchases"].append(
            {
                "at": purchase.created_at,
                "pk": purchase.pk,
                "branch": purchase.branch_id,
                "completed": not refunded,
                "products": {v.lower() for i in indexes for v in PRODUCTS[i]},
            }
        )
    friends = {
        member.line_user_id
        for member, m in zip(members, spec, strict=True)
        if m["friend"] == "friend"
    }
    questions, choices = answer_questions(shop, members, spec)
    rewards = reward_points(shop, tiers, members, spec)
    for member, m in zip(members, spec, strict=True):
        answers = facts[member.pk]["answers"] = {}
        if m["choices"]:
            answers[questions[0].pk] = {choices[c].pk for c in m["choices"]}
        if m["wrote"]:
            answers[questions[1].pk] = set()
    # Written in bulk, as a seed would: the last visits and the bought products are set for the
    # shop at once (the ledger's own writes keep them up to date: tests/members/test_visits.py).
    shop_purchases_refresh(shop.pk)
    rfm_refresh(shop_id=shop.pk, now=NOW)
    rfm = dict(MemberRfm.objects.filter(shop=shop).values_list("member_id", "group"))
    return shop, {
        "tags": tags,
        "tiers": tiers,
        "branches": branches,
        "members": list(facts.values()),
        "rfm": rfm,
        "friends": friends,
        "questions": questions,
        "choices": choices,
        "rewards": rewards,
    }


def answer_questions(shop, members, spec):
    """A choice question with three choices and a text question, answered as the spec says."""
    job = SignupQuestionFactory(shop=shop, kind=SignupQuestion.Kind.MULTIPLE)
    choices = [SignupChoiceFactory(question=job) for _ in range(3)]
    note = SignupQuestionFactory(shop=shop, kind=SignupQuestion.Kind.TEXT)
    for member, m in zip(members, spec, strict=True):
        if m["choices"]:
            answer = SignupAnswer.objects.create(shop=shop, member=member, question=job)
            answer.choices.set([choices[c] for c in m["choices"]])
        if m["wrote"]:
            SignupAnswer.objects.create(shop=shop, member=member, question=note, text="hi")
    return [job, note], choices


def reward_points(shop, tiers, members, spec):
    """Three rewards that refuse for different reasons, and the members' spendable and pending
    points (the rules themselves are tested in depth in test_conditions_more.py)."""
    open_to_all = RewardFactory(shop=shop, points_cost=100)
    limited = RewardFactory(shop=shop, points_cost=120, per_member_limit=1)
    limited.allowed_tiers.set([tiers[0]])
    pooled = RewardFactory(
        shop=shop,
        points_cost=40,
        kind=Reward.Kind.CUSTOM_CODE,
        code_source=Reward.CodeSource.POOL,
        active_until=NOW + dt.timedelta(days=1),
    )
    RewardCode.objects.create(shop=shop, reward=pooled, code="ONE")
    for member, m in zip(members, spec, strict=True):
        for points, available_in in m["lots"]:
            give_lot(member, remaining=points, available_in=available_in)
        if m["used_limited"]:
            redeemed(member, limited)
    return [open_to_all, limited, pooled]


def resolve(condition, world):
    """Indexes in generated conditions → the world's ids."""
    c = dict(condition)
    for key, objects in (
        ("tags", world["tags"]),
        ("tiers", world["tiers"]),
        ("branches", world["branches"]),
    ):
        if key in c:
            c[key] = [objects[i].pk for i in c[key]]
    if c["kind"] == "reward":
        c["rewards"] = [world["rewards"][i].pk for i in c["rewards"]]
    if c["kind"] == "signup_answer":
        c["question"] = world["questions"][c["question"]].pk
        if "choices" in c:
            c["choices"] = [world["choices"][i].pk for i in c["choices"]]
    if c["kind"] == "members":
        people = world["members"]
        c["members"] = [people[i]["member"].pk for i in c["members"] if i < len(people)] or [
            people[0]["member"].pk
        ]
    return c


def in_window(at: dt.datetime, since: str | None, until: str | None) -> bool:
    if since and at < local_midnight(dt.date.fromisoformat(since)):
        return False
    end = local_midnight(dt.date.fromisoformat(until) + dt.timedelta(days=1)) if until else None
    return end is None or at < end


def brute_force(c, facts, world) -> bool:
    member = facts["member"]
    done = [p for p in facts["purchases"] if p["completed"]]
    kind = c["kind"]
    if kind == "all":
        return True
    if kind == "rfm":
        return world["rfm"].get(member.pk) in c["groups"]
    if kind == "purchased":

        def bought(product):
            return any(
                product.lower() in p["products"]
                and in_window(p["at"], c.get("since"), c.get("until"))
                for p in done
            )

        hits = [bought(p) for p in c["products"]]
        return {"any": any(hits), "all": all(hits), "none": not any(hits)}[c["mode"]]
    if kind == "tags":
        has = facts["tags"]
        wanted = set(c["tags"])
        return {"any": bool(has & wanted), "all": wanted <= has, "none": not has & wanted}[
            c["mode"]
        ]
    if kind == "balance":
        return c.get("min", -1) <= member.balance <= c.get("max", 10**9)
    if kind == "birth_month":
        return member.birthday is not None and member.birthday.month in c["months"]
    if kind == "tier":
        return member.tier_id in c["tiers"]
    if kind == "pending":
        return member.status == "pending"
    if kind == "members":
        return member.pk in c["members"]
    if kind == "bound":
        return (member.bound_at is not None) == c["bound"]
    if kind == "line_friend":
        return (member.line_user_id in world["friends"]) == c["friend"]
    if kind == "joined":
        return in_window(member.created_at, c.get("since"), c.get("until"))
    if kind == "reward":
        rewards = [r for r in world["rewards"] if r.pk in c["rewards"]]
        return any(can_redeem_now(member, reward, NOW) for reward in rewards)
    if kind == "signup_answer":
        answers = facts["answers"].get(c["question"])
        if "choices" in c:
            return answers is not None and bool(answers & set(c["choices"]))
        return (answers is not None) == c["answered"]
    last = max(done, key=lambda p: (p["at"], p["pk"]), default=None)
    if kind == "last_visit":
        return last is not None and in_window(last["at"], c.get("since"), c.get("until"))
    if kind == "last_visit_branch":
        return last is not None and last["branch"] in c["branches"]
    raise AssertionError(kind)


def check_against_brute_force(spec, conditions):
    with time_machine.travel(NOW, tick=False):
        shop, world = build_world(spec)
        build_world(spec)  # another shop with the same members: never matched
        resolved = [resolve(c, world) for c in conditions]
        matched = segment_members(shop.pk, parse_conditions(shop.pk, resolved))
        got = set(matched.values_list("pk", flat=True))
    expected = {
        facts["member"].pk
        for facts in world["members"]
        if facts["member"].status in ("registered", "pending")
        and all(brute_force(c, facts, world) for c in resolved)
    }
    assert got == expected


SLOW = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_in_sql_agrees_with_a_brute_force_evaluation(kind):
    one_kind = CONDITIONS[kind]

    @settings(max_examples=20, deadline=None, suppress_health_check=SLOW, database=None)
    @given(spec=st.lists(member_st, min_size=1, max_size=8), condition=one_kind)
    def check(spec, condition):
        check_against_brute_force(spec, [condition])

    check()


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=SLOW)
@given(
    spec=st.lists(member_st, min_size=1, max_size=8),
    conditions=st.lists(condition_st, min_size=2, max_size=4),
)
def test_conditions_combined_with_and_agree_with_a_brute_force_evaluation(spec, conditions):
    check_against_brute_force(spec, conditions)


@pytest.mark.django_db
def test_a_count_is_one_statement_however_many_conditions(django_assert_num_queries):
    shop = ShopFactory()
    tag, tier, branch = TagFactory(shop=shop), TierFactory(shop=shop), BranchFactory(shop=shop)
    conditions = parse_conditions(
        shop.pk,
        [
            {
                "kind": "purchased",
                "mode": "all",
                "products": ["LATTE", "TEA"],
                "since": "2026-01-01",
            },
            {"kind": "tags", "mode": "all", "tags": [tag.pk]},
            {"kind": "tier", "tiers": [tier.pk]},
            {"kind": "last_visit_branch", "branches": [branch.pk]},
            {"kind": "line_friend", "friend": True},
            {"kind": "rfm", "groups": ["champions", "loyal"]},
        ],
    )
    with django_assert_num_queries(1):
        segment_members(shop.pk, conditions).count()


@pytest.mark.django_db
def test_bad_conditions_are_refused_with_a_message_for_each():
    shop, other = ShopFactory(), ShopFactory()
    foreign_tag = TagFactory(shop=other)
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        parse_conditions(
            shop.pk,
            [
                {"kind": "nonsense"},
                {"kind": "tags", "mode": "any", "tags": [foreign_tag.pk]},
                {"kind": "balance", "min": 500, "max": 100},
                {"kind": "birth_month", "months": [13]},
                {"kind": "purchased", "mode": "any", "products": list("ABCDEF")},
                {"kind": "joined", "since": "2026-12-31", "until": "2026-01-01"},
                {"kind": "last_visit", "since": "yesterday"},
                {"kind": "bound", "bound": "yes"},
                {"kind": "rfm", "groups": ["whales"]},
            ],
        )
    messages = caught.value.messages
    assert len(messages) == 9
    assert messages[0] == "Condition 1: unknown kind."
    assert "Condition 2: some of the tags are not this shop's." in messages
    assert any(m.startswith("Condition 7: yesterday is not a date") for m in messages)


@pytest.mark.django_db
def test_another_shops_member_cannot_be_picked():
    shop, other = ShopFactory(), ShopFactory()
    stranger = MemberFactory(shop=other)
    with translation.override("th"), pytest.raises(ValidationError) as caught:
        parse_conditions(shop.pk, [{"kind": "members", "members": [stranger.pk]}])
    assert caught.value.messages == ["เงื่อนไขที่ 1: มีสมาชิกที่ไม่ใช่ของร้านนี้"]


@pytest.mark.django_db
def test_a_day_window_is_the_shops_local_day():
    # 00:30 in Bangkok on 1 December is still 30 November in UTC
    shop = ShopFactory()
    member = MemberFactory(shop=shop, created_at=dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC))
    on_first = parse_conditions(
        shop.pk, [{"kind": "joined", "since": "2026-12-01", "until": "2026-12-01"}]
    )
    assert list(segment_members(shop.pk, on_first)) == [member]
    on_30th = parse_conditions(shop.pk, [{"kind": "joined", "until": "2026-11-30"}])
    assert list(segment_members(shop.pk, on_30th)) == []
    assert timezone.get_current_timezone_name() == "Asia/Bangkok"


@pytest.mark.django_db
def test_blocked_erased_and_merged_accounts_are_never_in_a_segment():
    shop = ShopFactory()
    kept = MemberFactory(shop=shop)
    for status in (Member.Status.BLOCKED, Member.Status.ERASED, Member.Status.MERGED):
        MemberFactory(shop=shop, status=status)
    everyone = parse_conditions(shop.pk, [{"kind": "all"}])
    assert list(segment_members(shop.pk, everyone)) == [kept]


@pytest.mark.django_db
def test_last_visit_is_the_last_purchase_not_any_purchase_in_the_window():
    shop = ShopFactory()
    member = MemberFactory(shop=shop)
    for days_ago in (300, 10):
        Purchase.objects.create(
            shop=shop,
            member=member,
            channel=Channel.STORE,
            amount=Decimal("100"),
            points=0,
            created_at=NOW - dt.timedelta(days=days_ago),
        )
    Purchase.objects.create(  # a refund after the window does not count as a visit
        shop=shop,
        member=MemberFactory(shop=shop),
        channel=Channel.STORE,
        amount=Decimal("100"),
        points=0,
        created_at=NOW,
        status=Purchase.Status.REVERSED,
    )

    shop_purchases_refresh(shop.pk)

    def matched(since, until):
        conditions = parse_conditions(
            shop.pk, [{"kind": "last_visit", "since": day(since), "until": day(until)}]
        )
        return list(segment_members(shop.pk, conditions))

    assert matched(200, 100) == []  # bought in it before, and again since
    assert matched(20, 0) == [member]
    assert matched(400, 250) == []
