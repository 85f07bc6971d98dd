"""No oversell, no double spend, no code handed out twice, whatever runs at once."""

import threading

import pytest
from django.db import connection

from members.ledger.actors import Actor
from members.ledger.models import LedgerEntry, PointLot
from rewards import services
from rewards.models import Coupon, Delivery, Redemption, RewardCode, SpotCode
from shops.apikeys import api_key_create
from tests.concurrency import run_concurrently
from tests.factories import MemberFactory, RewardFactory, ShopFactory
from tests.members.conftest import assert_invariants
from tests.members.test_api import Api
from tests.rewards.conftest import give

# These tests read the English messages; Thai (the default) has its own tests.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("english")]
ACTOR = Actor.member()


def assert_reward_invariants(shop_id: int) -> None:
    """The ledger's invariants, and no reward left in the member's hands whose points came back:
    a redemption's debit is reversed exactly when the redemption is cancelled, and then no coupon
    is usable and no delivery open. A gift of the shop (a coupon push) has no debit at all."""
    assert_invariants(shop_id)
    reversed_debits = LedgerEntry.objects.filter(reversed_by__isnull=False)
    assert not Coupon.objects.filter(
        shop_id=shop_id, status=Coupon.Status.ISSUED, redemption__entry__in=reversed_debits
    ).exists()
    assert not Delivery.objects.filter(
        shop_id=shop_id,
        status__in=[Delivery.Status.PENDING, Delivery.Status.PREPARING],
        redemption__entry__in=reversed_debits,
    ).exists()
    for redemption in Redemption.objects.filter(shop_id=shop_id):
        if redemption.is_gift:
            assert (redemption.entry_id, redemption.points) == (None, 0), redemption.pk
            continue
        reversals = LedgerEntry.objects.filter(reversal_of=redemption.entry_id).count()
        assert reversals == (1 if redemption.status == Redemption.Status.CANCELLED else 0), (
            redemption.pk,
            redemption.status,
            reversals,
        )


def n_threads(n):
    return n if connection.vendor == "postgresql" else min(n, 12)


def outcome(result):
    return type(result).__name__ if isinstance(result, Exception) else "ok"


@pytest.fixture
def shop(db):
    return ShopFactory(expiry_mode="never", tiers_enabled=False)


def test_fifty_members_redeem_stock_ten_exactly_ten_succeed(shop):
    n = n_threads(50)
    reward = RewardFactory(shop=shop, points_cost=10, stock=min(10, n - 2))
    members = [give(MemberFactory(shop=shop), 10) for _ in range(n)]
    results = run_concurrently(
        lambda i: services.reward_redeem(
            member=members[i], reward=reward, idempotency_key=f"r{i}", actor=ACTOR
        ),
        n,
    )
    outcomes = [outcome(r) for r in results]
    reward.refresh_from_db()
    assert outcomes.count("ok") == min(10, n - 2)
    assert set(outcomes) <= {"ok", "OutOfStock"}
    assert reward.stock == 0
    assert Redemption.objects.count() == Coupon.objects.count() == min(10, n - 2)
    assert_reward_invariants(shop.pk)


def test_one_members_double_tap_gives_one_redemption(shop):
    reward = RewardFactory(shop=shop, points_cost=10, stock=5)
    member = give(MemberFactory(shop=shop), 100)
    results = run_concurrently(
        lambda i: services.reward_redeem(
            member=member, reward=reward, idempotency_key="tap", actor=ACTOR
        ),
        n_threads(10),
    )
    assert all(outcome(r) == "ok" for r in results), results
    assert len({r[0].pk for r in results}) == 1
    member.refresh_from_db()
    reward.refresh_from_db()
    assert (member.balance, reward.stock, Redemption.objects.count()) == (90, 4, 1)
    assert_reward_invariants(shop.pk)


def test_a_pool_of_five_codes_and_twenty_redeemers(shop):
    n = n_threads(20)
    reward = RewardFactory(shop=shop, kind="custom_code", code_source="pool", points_cost=5)
    services.reward_codes_add(reward=reward, codes=[f"CODE-{i}" for i in range(5)])
    members = [give(MemberFactory(shop=shop), 5) for _ in range(n)]
    results = run_concurrently(
        lambda i: services.reward_redeem(
            member=members[i], reward=reward, idempotency_key=f"p{i}", actor=ACTOR
        ),
        n,
    )
    outcomes = [outcome(r) for r in results]
    assert outcomes.count("ok") == 5
    assert outcomes.count("OutOfStock") == n - 5
    refusals = [str(r) for r in results if isinstance(r, Exception)]
    assert all("codes" in message for message in refusals)
    codes = [c.external_code for c in Coupon.objects.all()]
    assert sorted(codes) == [f"CODE-{i}" for i in range(5)]
    assert RewardCode.objects.filter(redemption__isnull=True).count() == 0
    # The refused members kept their points.
    assert sum(m.balance for m in type(members[0]).objects.filter(shop=shop)) == 5 * (n - 5)
    assert_reward_invariants(shop.pk)


def test_per_member_limit_holds_under_concurrency(shop):
    reward = RewardFactory(shop=shop, points_cost=1, per_member_limit=2)
    member = give(MemberFactory(shop=shop), 100)
    results = run_concurrently(
        lambda i: services.reward_redeem(
            member=member, reward=reward, idempotency_key=f"l{i}", actor=ACTOR
        ),
        n_threads(10),
    )
    outcomes = [outcome(r) for r in results]
    assert outcomes.count("ok") == 2
    assert set(outcomes) <= {"ok", "LimitReachedForMember"}
    assert_reward_invariants(shop.pk)


def test_concurrent_cancellations_and_coupon_uses_restore_the_same_lots_once(shop):
    reward = RewardFactory(shop=shop, points_cost=30, stock=10)
    member = give(MemberFactory(shop=shop), 30)
    give(member, 30)
    redemptions = [
        services.reward_redeem(member=member, reward=reward, idempotency_key=f"c{i}", actor=ACTOR)[
            0
        ]
        for i in range(2)
    ]

    def op(i):
        r = redemptions[i % 2]
        if i % 3 == 0:
            return services.coupon_use(
                shop=shop, code=r.coupon.code, branch=None, actor=Actor.system()
            )
        return services.redemption_cancel(redemption=r, note="race", actor=Actor.system())

    results = run_concurrently(op, n_threads(12))
    assert {outcome(r) for r in results} <= {"ok", "WrongState", "CouponNotUsable"}
    for r in redemptions:
        r.refresh_from_db()
        coupon = Coupon.objects.get(redemption=r)
        # Either used (points stay spent) or cancelled (points back), never both.
        assert (r.status, coupon.status) in {("completed", "used"), ("cancelled", "cancelled")}
        assert LedgerEntry.objects.filter(reversal_of=r.entry).count() == (
            1 if r.status == "cancelled" else 0
        )
    cancelled = [r for r in redemptions if r.status == "cancelled"]
    reward.refresh_from_db()
    assert reward.stock == 8 + len(cancelled)
    # Every lot is back to full when both were cancelled, or spent when used.
    assert sum(
        PointLot.objects.filter(member=member).values_list("remaining", flat=True)
    ) == 30 * len(cancelled)
    assert_reward_invariants(shop.pk)


def test_a_delivery_cancelled_twice_and_a_redemption_cancel_at_once_return_points_once(shop):
    # given a delivered reward redeemed for 40 of the member's 40 points
    reward = RewardFactory(shop=shop, kind="delivery", points_cost=40, stock=3)
    member = give(MemberFactory(shop=shop), 40)
    redemption, _ = services.reward_redeem(
        member=member,
        reward=reward,
        idempotency_key="gift",
        actor=ACTOR,
        address=services.Address("Somchai", "0812345678", "1 Rama I Rd", "10330"),
    )
    delivery = redemption.delivery

    # when the owner cancels the delivery from two tabs while a manager cancels the redemption
    def op(i):
        if i % 3 == 0:
            return services.redemption_cancel(redemption=redemption, note="race", actor=ACTOR)
        return services.delivery_set_status(
            delivery=delivery, status="cancelled", actor=ACTOR, note="race"
        )

    results = run_concurrently(op, n_threads(9))

    # then no deadlock and no error, one reversal, the points and the stock back once
    assert {outcome(r) for r in results} == {"ok"}
    assert LedgerEntry.objects.filter(reversal_of=redemption.entry).count() == 1
    member.refresh_from_db()
    reward.refresh_from_db()
    assert (member.balance, reward.stock) == (40, 3)
    delivery.refresh_from_db()
    assert delivery.status == "cancelled"
    assert_reward_invariants(shop.pk)


def test_a_members_taps_at_once_open_one_spot_code(shop):
    # given a reward redeemed at the counter and a member who can afford it once
    reward = RewardFactory(shop=shop, points_cost=50, stock=5, spot_redemption=True)
    member = give(MemberFactory(shop=shop), 50)

    # when the member taps "redeem at the counter" on two phones at once, many times
    results = run_concurrently(
        lambda i: services.spot_code_issue(member=member, reward=reward), n_threads(10)
    )

    # then every tap got the same single open code: the cashier cannot confirm it twice
    assert {outcome(r) for r in results} == {"ok"}
    assert len({r.pk for r in results}) == 1
    assert SpotCode.objects.filter(member=member, reward=reward).count() == 1
    assert_reward_invariants(shop.pk)


def test_reverse_through_the_api_cancel_and_redeem_race_without_a_double_spend(shop):
    # given a member who spent all 100 of their points on the last tote bag (one per member),
    # and a delivered mug redeemed earlier with points given for it
    n = n_threads(12)
    bag = RewardFactory(shop=shop, name="Tote bag", points_cost=100, stock=1, per_member_limit=1)
    mug = RewardFactory(shop=shop, kind="delivery", name="Mug", points_cost=50, stock=5)
    member = give(MemberFactory(shop=shop), 100)
    bag_redemption, _ = services.reward_redeem(
        member=member, reward=bag, idempotency_key="bag", actor=ACTOR
    )
    give(member, 50)
    mug_redemption, _ = services.reward_redeem(
        member=member,
        reward=mug,
        idempotency_key="mug",
        actor=ACTOR,
        address=services.Address("Somchai", "0812345678", "1 Rama I Rd", "10330"),
    )
    raw_key = api_key_create(shop=shop, name="race")[1]
    targets = [bag_redemption, mug_redemption]

    # when, all at once, an integrator reverses their points entries, a manager cancels the
    # redemptions, and the member tries to redeem the bag again
    first_reverse_done = threading.Event()

    def op(i):
        redemption = targets[i % 2]
        if i % 4 in (0, 1):
            try:
                response = Api(raw_key).post(f"/points/{redemption.entry.public_id}/reverse", {})
            finally:
                first_reverse_done.set()
            return response.status_code, response.json().get("error", {}).get("code")
        if i % 4 == 2:
            # After a reversal has been answered, so that one always comes first: the order that
            # used to give the points back while the coupon and the delivery stayed.
            first_reverse_done.wait(timeout=30)
            return services.redemption_cancel(
                redemption=targets[(i // 4) % 2], note="race", actor=ACTOR
            )
        return services.reward_redeem(
            member=member, reward=bag, idempotency_key=f"again-{i}", actor=ACTOR
        )

    results = run_concurrently(op, n)

    # then every direct reverse was refused (owned, or already reversed by the cancellation),
    # every cancellation succeeded, and no points came back without their reward going too
    reverses = [r for i, r in enumerate(results) if i % 4 in (0, 1)]
    assert set(reverses) <= {(422, "owned_by_redemption"), (422, "cannot_reverse")}, reverses
    assert all(outcome(r) == "ok" for i, r in enumerate(results) if i % 4 == 2), results
    redeems = [outcome(r) for i, r in enumerate(results) if i % 4 == 3]
    assert set(redeems) <= {
        "ok",
        "OutOfStock",
        "NotEnoughPoints",
        "LimitReachedForMember",
    }, redeems
    for redemption in targets:
        redemption.refresh_from_db()
        assert redemption.status == "cancelled"
        assert LedgerEntry.objects.filter(reversal_of=redemption.entry).count() == 1
    assert Delivery.objects.get(redemption=mug_redemption).status == "cancelled"
    # at most one new bag (stock 1, one per member), paid for with the returned points
    completed = Redemption.objects.filter(member=member, reward=bag, status="completed").count()
    assert completed == redeems.count("ok") <= 1
    member.refresh_from_db()
    bag.refresh_from_db()
    mug.refresh_from_db()
    assert (member.balance, bag.stock, mug.stock) == (150 - 100 * completed, 1 - completed, 5)
    assert_reward_invariants(shop.pk)
