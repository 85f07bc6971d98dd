"""The ``reward`` and ``signup_answer`` conditions: "can redeem reward X now" in SQL agrees with the
redemption's own rules in Python (``rewards.rules.refusal_for``, the pool's free codes, the member's
spendable points and debt) over generated members and rewards; sign-up answers by choice and by
"answered at all"; bad input and other shops' ids refused with a translated message."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.segments.conditions import parse_conditions, segment_members
from members.ledger.models import ActorKind, Channel, EntryKind, LedgerEntry, PointLot
from members.ledger.selectors import member_points_summary
from members.models import Member
from members.signup.models import SignupAnswer, SignupQuestion
from rewards.models import Redemption, Reward, RewardCode
from rewards.rules import refusal_for
from tests.factories import (
    MemberFactory,
    RewardFactory,
    ShopFactory,
    SignupChoiceFactory,
    SignupQuestionFactory,
    TierFactory,
)

NOW = dt.datetime(2026, 12, 3, 5, 0, tzinfo=dt.UTC)  # 12:00 in Bangkok
TODAY = dt.date(2026, 12, 3)


def _entry(member, points: int, kind=EntryKind.ADJUST) -> LedgerEntry:
    return LedgerEntry.objects.create(
        shop_id=member.shop_id,
        member=member,
        kind=kind,
        points=points,
        balance_after=0,
        idempotency_key=uuid.uuid4().hex,
        fingerprint="test",
        actor_kind=ActorKind.SYSTEM,
        channel=Channel.SYSTEM,
    )


def give_lot(member, *, remaining: int, available_in: int = -1, expires_in: int | None = None):
    """A credit of ``remaining`` points, spendable ``available_in`` days from today (negative:
    already), expiring ``expires_in`` days from today (None: never)."""
    PointLot.objects.create(
        shop_id=member.shop_id,
        member=member,
        entry=_entry(member, remaining),
        points=remaining,
        remaining=remaining,
        earned_on=TODAY - dt.timedelta(days=30),
        available_on=TODAY + dt.timedelta(days=available_in),
        expires_on=None if expires_in is None else TODAY + dt.timedelta(days=expires_in),
    )


def redeemed(member, reward, *, status=Redemption.Status.COMPLETED) -> Redemption:
    return Redemption.objects.create(
        shop_id=member.shop_id,
        member=member,
        reward=reward,
        points=reward.points_cost,
        entry=_entry(member, -reward.points_cost, EntryKind.REDEEM),
        status=status,
        idempotency_key=uuid.uuid4().hex,
        fingerprint="test",
        reward_name=reward.name,
        reward_kind=reward.kind,
    )


def can_redeem_now(
    member: Member, reward: Reward, now: dt.datetime, *, today: dt.date = TODAY
) -> bool:
    """The redemption's rules in Python: what ``reward_redeem`` checks before it writes."""
    if refusal_for(member, reward, now=now) is not None:
        return False
    if (
        reward.uses_pool
        and not RewardCode.objects.filter(reward=reward, redemption__isnull=True).exists()
    ):
        return False
    points = member_points_summary(member, today=today)
    return points.debt == 0 and points.spendable >= reward.points_cost


reward_st = st.fixed_dictionaries(
    {
        "cost": st.sampled_from([50, 100, 300]),
        "active": st.sampled_from([True, True, False]),
        "opens": st.sampled_from([None, None, -2, 2]),  # days from now
        "closes": st.sampled_from([None, None, -1, 3]),
        "stock": st.sampled_from([None, None, 0, 1]),
        "limit": st.sampled_from([None, None, 1, 2]),
        "tiers": st.sets(st.integers(0, 1), max_size=2),
        "pool": st.sampled_from([None, None, 0, 1]),  # free codes of a pool reward
    }
)
lot_st = st.tuples(
    st.sampled_from([20, 60, 100, 250]),  # remaining
    st.sampled_from([-10, -1, 0, 1, 5]),  # spendable from (days from today)
    st.sampled_from([None, None, -1, 0, 30]),  # expires (days from today)
)
holder_st = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["registered", "registered", "pending", "blocked"]),
        "tier": st.sampled_from([0, 1, None]),
        "debt": st.sampled_from([0, 0, 0, 15]),
        "lots": st.lists(lot_st, max_size=3),
        # per reward index: completed and cancelled redemptions
        "redeemed": st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=3),
    }
)


def build_reward_world(rewards_spec, members_spec):
    shop = ShopFactory()
    tiers = [TierFactory(shop=shop) for _ in range(2)]
    rewards = []
    for i, spec in enumerate(rewards_spec):
        reward = RewardFactory(
            shop=shop,
            points_cost=spec["cost"],
            is_active=bool(spec["active"]),
            active_from=None if spec["opens"] is None else NOW + dt.timedelta(days=spec["opens"]),
            active_until=None
            if spec["closes"] is None
            else NOW + dt.timedelta(days=spec["closes"]),
            stock=spec["stock"],
            per_member_limit=spec["limit"],
            kind=Reward.Kind.CUSTOM_CODE if spec["pool"] is not None else Reward.Kind.AUTO_CODE,
            code_source=Reward.CodeSource.POOL,
        )
        reward.allowed_tiers.set([tiers[t] for t in spec["tiers"]])
        for n in range(spec["pool"] or 0):
            RewardCode.objects.create(shop=shop, reward=reward, code=f"C{i}-{n}")
        rewards.append(reward)
    members = []
    for spec in members_spec:
        member = MemberFactory(
            shop=shop,
            status=spec["status"],
            tier=tiers[spec["tier"]] if spec["tier"] is not None else None,
            debt=spec["debt"],
        )
        for remaining, available_in, expires_in in spec["lots"]:
            give_lot(member, remaining=remaining, available_in=available_in, expires_in=expires_in)
        for index, cancelled in spec["redeemed"]:
            if index < len(rewards):
                status = Redemption.Status.CANCELLED if cancelled else Redemption.Status.COMPLETED
                redeemed(member, rewards[index], status=status)
        members.append(member)
    return shop, rewards, members


SLOW = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=SLOW)
@given(
    rewards_spec=st.lists(reward_st, min_size=1, max_size=3),
    members_spec=st.lists(holder_st, min_size=1, max_size=6),
    chosen=st.sets(st.integers(0, 2), min_size=1),
)
def test_can_redeem_now_in_sql_agrees_with_the_redemption_rules(rewards_spec, members_spec, chosen):
    with time_machine.travel(NOW, tick=False):
        shop, rewards, members = build_reward_world(rewards_spec, members_spec)
        build_reward_world(rewards_spec, members_spec)  # another shop alike: never matched
        picked = [rewards[i] for i in sorted(chosen) if i < len(rewards)] or rewards[:1]
        conditions = parse_conditions(
            shop.pk, [{"kind": "reward", "rewards": [r.pk for r in picked]}]
        )
        got = set(segment_members(shop.pk, conditions).values_list("pk", flat=True))
        expected = {
            member.pk
            for member in members
            if member.status in ("registered", "pending")
            and any(can_redeem_now(member, reward, NOW) for reward in picked)
        }
    assert got == expected


@pytest.mark.django_db
def test_pending_points_do_not_count_and_each_rule_refuses_on_its_own():
    with time_machine.travel(NOW, tick=False):
        shop = ShopFactory()
        gold = TierFactory(shop=shop)
        coffee = RewardFactory(shop=shop, points_cost=100, per_member_limit=1)
        rich = MemberFactory(shop=shop, tier=gold)
        give_lot(rich, remaining=100)
        waiting = MemberFactory(shop=shop)  # the points are still in the return window
        give_lot(waiting, remaining=500, available_in=3)
        had_one = MemberFactory(shop=shop)
        give_lot(had_one, remaining=300)
        redeemed(had_one, coffee)
        gave_back = MemberFactory(shop=shop)  # a cancelled redemption gives the turn back
        give_lot(gave_back, remaining=300)
        redeemed(gave_back, coffee, status=Redemption.Status.CANCELLED)

        def who():
            conditions = parse_conditions(shop.pk, [{"kind": "reward", "rewards": [coffee.pk]}])
            return set(segment_members(shop.pk, conditions))

        assert who() == {rich, gave_back}
        coffee.allowed_tiers.set([gold])
        assert who() == {rich}
        Reward.objects.filter(pk=coffee.pk).update(stock=0)
        assert who() == set()
        Reward.objects.filter(pk=coffee.pk).update(stock=None, active_until=NOW)
        assert who() == {rich}  # the last moment still counts, as in refusal_for
        Reward.objects.filter(pk=coffee.pk).update(active_until=NOW - dt.timedelta(seconds=1))
        assert who() == set()


@pytest.mark.django_db
def test_signup_answers_by_choice_and_by_answered_at_all():
    shop = ShopFactory()
    job = SignupQuestionFactory(shop=shop, kind=SignupQuestion.Kind.MULTIPLE)
    office, student, other = (SignupChoiceFactory(question=job) for _ in range(3))
    note = SignupQuestionFactory(shop=shop, kind=SignupQuestion.Kind.TEXT)
    a, b, c = (MemberFactory(shop=shop) for _ in range(3))
    answer = SignupAnswer.objects.create(shop=shop, member=a, question=job)
    answer.choices.set([office, other])
    SignupAnswer.objects.create(shop=shop, member=b, question=job).choices.set([student])
    SignupAnswer.objects.create(shop=shop, member=c, question=note, text="no onions")

    def who(condition):
        conditions = parse_conditions(shop.pk, [{"kind": "signup_answer", **condition}])
        return set(segment_members(shop.pk, conditions))

    assert who({"question": job.pk, "choices": [office.pk, student.pk]}) == {a, b}
    assert who({"question": job.pk, "choices": [other.pk]}) == {a}
    assert who({"question": job.pk, "answered": False}) == {c}
    assert who({"question": note.pk, "answered": True}) == {c}
    assert who({"question": note.pk, "answered": False}) == {a, b}


@pytest.mark.django_db
def test_bad_reward_and_signup_conditions_are_refused_with_a_message_each():
    shop, other = ShopFactory(), ShopFactory()
    theirs = RewardFactory(shop=other)
    job = SignupQuestionFactory(shop=shop, kind=SignupQuestion.Kind.SINGLE)
    SignupChoiceFactory(question=job)
    another = SignupQuestionFactory(shop=shop, kind=SignupQuestion.Kind.SINGLE)
    not_jobs = SignupChoiceFactory(question=another)
    text = SignupQuestionFactory(shop=shop)
    foreign_question = SignupQuestionFactory(shop=other)
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        parse_conditions(
            shop.pk,
            [
                {"kind": "reward", "rewards": [theirs.pk]},
                {"kind": "reward", "rewards": []},
                {"kind": "reward", "rewards": [True]},
                {"kind": "signup_answer", "question": foreign_question.pk, "answered": True},
                {"kind": "signup_answer", "question": job.pk, "choices": [not_jobs.pk]},
                {"kind": "signup_answer", "question": text.pk, "choices": [not_jobs.pk]},
                {"kind": "signup_answer", "question": job.pk},
                {"kind": "signup_answer", "question": job.pk, "answered": "yes"},
                {"kind": "signup_answer", "answered": True},
            ],
        )
    assert caught.value.messages == [
        "Condition 1: some of the rewards are not this shop's.",
        "Condition 2: choose at least one reward.",
        "Condition 3: some of the rewards are not this shop's.",
        "Condition 4: the sign-up question is not this shop's.",
        "Condition 5: some of the choices are not choices of this question.",
        "Condition 6: this question has no choices; ask whether it was answered.",
        "Condition 7: give either the choices or whether the question was answered.",
        "Condition 8: choose yes or no.",
        "Condition 9: choose a sign-up question.",
    ]


@pytest.mark.django_db
def test_the_open_api_saves_and_counts_segments_of_the_new_kinds():
    from tests.campaigns.segments.test_segments_api import Api

    shop, other = ShopFactory(), ShopFactory()
    coffee = RewardFactory(shop=shop, points_cost=100)
    job = SignupQuestionFactory(shop=shop, kind=SignupQuestion.Kind.SINGLE)
    office = SignupChoiceFactory(question=job)
    member = MemberFactory(shop=shop)
    give_lot(member, remaining=150, available_in=-30)
    SignupAnswer.objects.create(shop=shop, member=member, question=job).choices.set([office])
    MemberFactory(shop=shop)  # no points, no answer
    api = Api(shop)
    conditions = [
        {"kind": "reward", "rewards": [coffee.pk]},
        {"kind": "signup_answer", "question": job.pk, "choices": [office.pk]},
    ]

    created = api.post("/segments", {"name": "Office coffee", "conditions": conditions})

    assert created.status_code == 201, created.content
    counted = api.post(f"/segments/{created.json()['id']}/count")
    assert counted.json()["total"] == 1
    theirs = RewardFactory(shop=other)
    refused = api.post(
        "/segments", {"name": "x", "conditions": [{"kind": "reward", "rewards": [theirs.pk]}]}
    )
    assert refused.status_code == 400
    # the API answers in English unless the client asks for Thai
    assert (
        "Condition 1: some of the rewards are not this shop's."
        in refused.json()["error"]["message"]
    )


@pytest.mark.django_db
def test_points_that_become_spendable_today_count_from_midnight_in_bangkok():
    # 00:30 in Bangkok on 1 December is still 30 November in UTC
    with time_machine.travel(dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC), tick=False):
        shop = ShopFactory()
        coffee = RewardFactory(shop=shop, points_cost=100)
        member = MemberFactory(shop=shop)
        PointLot.objects.create(
            shop=shop,
            member=member,
            entry=_entry(member, 100),
            points=100,
            remaining=100,
            earned_on=dt.date(2026, 11, 1),
            available_on=dt.date(2026, 12, 1),  # the shop's return window ends today
        )
        conditions = parse_conditions(shop.pk, [{"kind": "reward", "rewards": [coffee.pk]}])
        assert list(segment_members(shop.pk, conditions)) == [member]
        assert can_redeem_now(member, coffee, timezone.now(), today=dt.date(2026, 12, 1))
