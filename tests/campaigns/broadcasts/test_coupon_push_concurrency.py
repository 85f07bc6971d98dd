"""Coupon pushes racing each other and the members' own redemptions (PostgreSQL, threads): two
broadcasts giving the same reward, a second run of one of them, and members redeeming it with
points, all at once. Afterwards the stock plus what was issued is the stock there was, nobody holds
more than the per-member limit, every code is unique, and every recipient either holds their
coupon or is skipped with the reason."""

from __future__ import annotations

import pytest
from django.db.models import Count

from campaigns.broadcasts import services as broadcast_services
from campaigns.broadcasts.models import BroadcastRecipient
from campaigns.broadcasts.services import broadcast_confirm, broadcast_save, broadcast_send
from members.ledger.actors import Actor
from rewards import services as rewards
from rewards.models import Coupon, Redemption, RewardCode
from tests.campaigns.broadcasts.conftest import everyone, friend
from tests.concurrency import run_concurrently
from tests.factories import RewardFactory, ShopFactory
from tests.rewards.conftest import give
from tests.rewards.test_concurrency import assert_reward_invariants

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
R = BroadcastRecipient
COMPLETED = Redemption.Status.COMPLETED


@pytest.fixture
def shop(db, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}  # the outbox's sender is not run
    return ShopFactory(expiry_mode="never", tiers_enabled=False)


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(broadcast_services, "BATCH", 3)


def push(shop, reward, name):
    segment = everyone(shop, name=name)
    broadcast = broadcast_save(
        shop=shop,
        name=name,
        segment_ids=[segment.pk],
        messages=[{"type": "text", "text": "ของขวัญ"}, {"type": "card", "template": "coupon"}],
        coupon_reward_id=reward.pk,
    )
    return broadcast_confirm(broadcast=broadcast, recipients=len(members_of(shop)))


def members_of(shop):
    return list(shop.members.order_by("pk"))


def assert_gift_invariants(shop, reward, initial_stock):
    reward.refresh_from_db()
    issued = Redemption.objects.filter(reward=reward, status=COMPLETED).count()
    assert reward.stock + issued == initial_stock
    assert reward.stock >= 0
    held = Redemption.objects.filter(reward=reward, status=COMPLETED).values("member_id")
    most = max((row["n"] for row in held.annotate(n=Count("pk"))), default=0)
    assert most <= reward.per_member_limit
    codes = list(Coupon.objects.filter(shop=shop).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == Redemption.objects.filter(shop=shop).count()
    for recipient in R.objects.select_related("coupon"):
        assert recipient.state in (R.State.QUEUED, R.State.SKIPPED), recipient.state
        if recipient.state == R.State.QUEUED:
            assert recipient.coupon.member_id == recipient.member_id
        else:
            assert recipient.coupon_id is None
            assert recipient.reason in (R.Reason.COUPON_LIMIT, R.Reason.COUPON_STOCK)
    assert_reward_invariants(shop.pk)


def test_two_pushes_a_second_run_and_redemptions_at_once_keep_stock_limit_and_codes(
    shop, small_batches
):
    # given ten friends, four with points, and a reward of twelve, two per member
    users = [f"U{i:032x}" for i in range(1, 11)]
    members = [friend(shop, u) for u in users]
    for member in members[:4]:
        give(member, 100)
    reward = RewardFactory(shop=shop, points_cost=10, stock=12, per_member_limit=2)
    first, second = push(shop, reward, "First"), push(shop, reward, "Second")

    # when both pushes run, the first twice, while four members redeem it themselves
    def work(i):
        if i < 2:
            return broadcast_send(first.pk)
        if i == 2:
            return broadcast_send(second.pk)
        return rewards.reward_redeem(
            member=members[i - 3], reward=reward, idempotency_key=f"own-{i}", actor=Actor.member()
        )

    results = run_concurrently(work, 7)

    # then nothing failed but what had to, and every invariant holds
    for result in results:
        assert not isinstance(result, Exception) or type(result).__name__ in (
            "OutOfStock",
            "LimitReachedForMember",
        ), result
    assert_gift_invariants(shop, reward, 12)
    assert not R.objects.filter(state=R.State.PENDING).exists()
    # 12 in stock, 10 members × 2 pushes + 4 own redemptions wanted 24: it ran out
    assert reward.stock == 0
    assert R.objects.filter(reason=R.Reason.COUPON_STOCK).exists()


def test_a_pool_shared_by_a_push_and_redeemers_gives_each_code_once(shop, small_batches):
    users = [f"U{i:032x}" for i in range(1, 9)]
    members = [give(friend(shop, u), 100) for u in users]
    reward = RewardFactory(
        shop=shop, kind="custom_code", code_source="pool", points_cost=5, per_member_limit=1
    )
    rewards.reward_codes_add(reward=reward, codes=[f"SHP-{i}" for i in range(6)])
    broadcast = push(shop, reward, "Pool")

    def work(i):
        if i < 2:
            return broadcast_send(broadcast.pk)
        return rewards.reward_redeem(
            member=members[-(i - 1)],
            reward=reward,
            idempotency_key=f"own-{i}",
            actor=Actor.member(),
        )

    results = run_concurrently(work, 5)

    for result in results:
        assert not isinstance(result, Exception) or type(result).__name__ in (
            "OutOfStock",
            "LimitReachedForMember",
        ), result
    given = list(RewardCode.objects.filter(redemption__isnull=False).values_list("redemption_id"))
    assert len(given) == len(set(given)) == 6  # all six codes given, each to one redemption
    external = list(Coupon.objects.values_list("external_code", flat=True))
    assert sorted(external) == [f"SHP-{i}" for i in range(6)]
    held = Redemption.objects.filter(status=COMPLETED).values("member_id").annotate(n=Count("pk"))
    assert all(row["n"] == 1 for row in held)
    assert_reward_invariants(shop.pk)
    assert not R.objects.filter(state=R.State.PENDING).exists()
