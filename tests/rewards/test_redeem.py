"""Redemption: every rule, each refusal with its own message, points/stock/code together."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from loyalty.errors import InvalidInput, NotFound
from members.ledger.actors import Actor
from members.ledger.errors import IdempotencyMismatch, MemberHasDebt, NotEnoughPoints
from members.ledger.models import EntryKind, LedgerEntry
from rewards import errors, services
from rewards.models import Coupon, Delivery, Redemption, Reward, RewardCode
from tests.factories import MemberFactory, RewardFactory, ShopFactory, TierFactory
from tests.members.conftest import assert_invariants
from tests.rewards.conftest import give

# These tests read the English messages; Thai (the default) has its own tests.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
MEMBER = Actor.member()
ADDRESS = services.Address("Somchai Jaidee", "081-234-5678", "99 Sukhumvit Rd, Bangkok", "10110")


def redeem(member, reward, key="k1", **kw):
    return services.reward_redeem(
        member=member, reward=reward, idempotency_key=key, actor=MEMBER, **kw
    )


def test_redeem_moves_points_stock_and_issues_a_coupon(rich, reward):
    redemption, replayed = redeem(rich, reward)
    rich.refresh_from_db()
    reward.refresh_from_db()
    assert not replayed
    assert (rich.balance, reward.stock) == (900, 4)
    assert redemption.entry.kind == EntryKind.REDEEM and redemption.entry.points == -100
    coupon = redemption.coupon
    assert len(coupon.code) == 8 and set(coupon.code) <= set("ACDEFGHJKMNPQRTUVWXY34679")
    assert coupon.expires_on == timezone.localdate() + dt.timedelta(days=29)
    assert redemption.reward_name == "Free latte"
    assert_invariants(rich.shop_id)


def test_a_replay_returns_the_first_redemption_and_a_reused_key_is_refused(rich, reward):
    first, _ = redeem(rich, reward, key="tap")
    again, replayed = redeem(rich, reward, key="tap")
    assert replayed and again == first
    other = RewardFactory(shop=rich.shop, points_cost=1)
    with pytest.raises(IdempotencyMismatch):
        redeem(rich, other, key="tap")
    assert Redemption.objects.count() == 1


def test_snapshot_survives_a_renamed_reward(rich, reward):
    redemption, _ = redeem(rich, reward)
    Reward.objects.filter(pk=reward.pk).update(name="Renamed", terms="new terms")
    redemption.refresh_from_db()
    assert redemption.reward_name == "Free latte"


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [
        ({"is_active": False}, errors.RewardUnavailable, "reward_unavailable"),
        ({"stock": 0}, errors.OutOfStock, "out_of_stock"),
        (
            {"active_from": timezone.now() + dt.timedelta(days=1)},
            errors.RewardUnavailable,
            "not_yet_open",
        ),
        (
            {"active_until": timezone.now() - dt.timedelta(days=1)},
            errors.RewardUnavailable,
            "closed",
        ),
        ({"points_cost": 5000}, NotEnoughPoints, "not_enough_points"),
    ],
)
def test_each_refusal_has_its_own_message_and_changes_nothing(rich, reward, change, error, code):
    Reward.objects.filter(pk=reward.pk).update(**change)
    reward.refresh_from_db()
    with pytest.raises(error) as info:
        redeem(rich, reward)
    assert info.value.code == code and str(info.value)
    rich.refresh_from_db()
    assert rich.balance == 1000
    assert not Redemption.objects.exists() and not Coupon.objects.exists()


def test_wrong_tier_is_refused(rich, reward, rshop):
    gold = TierFactory(shop=rshop, name="Gold", threshold=5000)
    reward.allowed_tiers.set([gold])
    with pytest.raises(errors.TierNotAllowed, match="Gold"):
        redeem(rich, reward)


def test_per_member_limit(rich, reward):
    Reward.objects.filter(pk=reward.pk).update(per_member_limit=2)
    reward.refresh_from_db()
    redeem(rich, reward, key="a")
    redeem(rich, reward, key="b")
    with pytest.raises(errors.LimitReachedForMember):
        redeem(rich, reward, key="c")


def test_debt_blocks_redemption(rshop, reward):
    member = MemberFactory(shop=rshop)
    from members.ledger import services as ledger

    earned = ledger.points_earn(
        shop=rshop, member=member, amount="5000", idempotency_key="e", actor=MEMBER
    )
    ledger.points_spend(member=member, points=150, idempotency_key="s", actor=MEMBER)
    ledger.purchase_reverse(
        purchase=earned.purchase, note="refund", idempotency_key="r", actor=MEMBER
    )
    give(member, 500)
    # 500 given, 150 owed: the debt was paid first, so this works...
    redeem(member, reward, key="ok")
    # ...but a member still in debt cannot redeem.
    m2 = MemberFactory(shop=rshop)
    e2 = ledger.points_earn(
        shop=rshop, member=m2, amount="5000", idempotency_key="e2", actor=MEMBER
    )
    ledger.points_spend(member=m2, points=150, idempotency_key="s2", actor=MEMBER)
    ledger.purchase_reverse(purchase=e2.purchase, note="refund", idempotency_key="r2", actor=MEMBER)
    with pytest.raises((MemberHasDebt, NotEnoughPoints)):
        redeem(m2, reward, key="no")


def test_delivery_needs_an_address_and_saves_it(rich, rshop):
    gift = RewardFactory(shop=rshop, kind="delivery", points_cost=100)
    with pytest.raises(errors.AddressRequired):
        redeem(rich, gift, key="no-address")
    with pytest.raises(errors.AddressRequired):
        redeem(
            rich, gift, key="bad-postcode", address=services.Address("A", "0812345678", "x", "123")
        )
    redemption, _ = redeem(rich, gift, address=ADDRESS)
    assert redemption.delivery.status == Delivery.Status.PENDING
    assert redemption.delivery.phone == "+66812345678"
    assert rich.addresses.count() == 1
    assert (
        not hasattr(redemption, "coupon")
        or not Coupon.objects.filter(redemption=redemption).exists()
    )


def test_custom_code_from_a_pool_and_a_shared_code(rich, rshop):
    pool = RewardFactory(
        shop=rshop, kind="custom_code", code_source="pool", platform="Shopee", points_cost=10
    )
    services.reward_codes_add(reward=pool, codes=["SHOPEE-A", "SHOPEE-B"])
    r1, _ = redeem(rich, pool, key="p1")
    r2, _ = redeem(rich, pool, key="p2")
    assert {r1.coupon.external_code, r2.coupon.external_code} == {"SHOPEE-A", "SHOPEE-B"}
    with pytest.raises(errors.OutOfStock, match="codes"):
        redeem(rich, pool, key="p3")
    shared = RewardFactory(
        shop=rshop, kind="custom_code", code_source="shared", shared_code="LAZ100", points_cost=10
    )
    assert redeem(rich, shared, key="s1")[0].coupon.external_code == "LAZ100"
    assert_invariants(rshop.pk)


def test_duplicate_pool_codes_are_refused_whole(rshop):
    pool = RewardFactory(shop=rshop, kind="custom_code")
    services.reward_codes_add(reward=pool, codes=["A1"])
    with pytest.raises(errors.DuplicateCodes, match="A1"):
        services.reward_codes_add(reward=pool, codes=["B1", "A1"])
    with pytest.raises(errors.DuplicateCodes, match="C1"):
        services.reward_codes_add(reward=pool, codes=["C1", "C1"])
    assert RewardCode.objects.filter(reward=pool).count() == 1


def test_cancellation_returns_points_to_the_same_lots_and_the_stock(rshop, reward):
    from members.ledger import services as ledger
    from members.ledger.models import PointLot

    member = MemberFactory(shop=rshop)
    a, _ = ledger.points_credit(
        member=member,
        kind="activity",
        points=60,
        idempotency_key="a",
        actor=MEMBER,
        expires_on=dt.date(2099, 1, 31),
    )
    b, _ = ledger.points_credit(
        member=member,
        kind="activity",
        points=60,
        idempotency_key="b",
        actor=MEMBER,
        expires_on=None,
    )
    redemption, _ = redeem(member, reward)
    assert PointLot.objects.get(entry=a).remaining == 0
    services.redemption_cancel(redemption=redemption, note="wrong item", actor=Actor.system())
    assert (PointLot.objects.get(entry=a).remaining, PointLot.objects.get(entry=b).remaining) == (
        60,
        60,
    )
    reward.refresh_from_db()
    redemption.refresh_from_db()
    assert reward.stock == 5 and redemption.status == "cancelled"
    assert redemption.coupon.status == Coupon.Status.CANCELLED
    assert_invariants(rshop.pk)


def test_coupon_use_once_and_refusals(rich, reward, rshop):
    from tests.factories import BranchFactory

    branch = BranchFactory(shop=rshop)
    coupon = redeem(rich, reward)[0].coupon
    used = services.coupon_use(
        shop=rshop, code=coupon.code.lower(), branch=branch, actor=Actor.system()
    )
    assert used.status == Coupon.Status.USED and used.used_branch == branch
    with pytest.raises(errors.CouponNotUsable, match="already used"):
        services.coupon_use(shop=rshop, code=coupon.code, branch=branch, actor=Actor.system())
    with pytest.raises(NotFound):
        services.coupon_use(shop=ShopFactory(), code=coupon.code, branch=None, actor=Actor.system())
    with pytest.raises(errors.WrongState):
        services.redemption_cancel(redemption=coupon.redemption, note="x", actor=Actor.system())


def test_expired_coupon_is_refused_and_the_job_marks_it(rich, reward, rshop):
    coupon = redeem(rich, reward)[0].coupon
    later = coupon.expires_on + dt.timedelta(days=1)
    with (
        time_machine.travel(dt.datetime.combine(later, dt.time(10)).replace(tzinfo=dt.UTC)),
        pytest.raises(errors.CouponNotUsable, match="expired"),
    ):
        services.coupon_use(shop=rshop, code=coupon.code, branch=None, actor=Actor.system())
    assert services.coupons_expire_due(today=later) == 1
    assert services.coupons_expire_due(today=later) == 0
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.EXPIRED


def test_delivery_lifecycle_and_cancel_returns_points(rich, rshop):
    gift = RewardFactory(shop=rshop, kind="delivery", points_cost=100, stock=3)
    delivery = redeem(rich, gift, address=ADDRESS)[0].delivery
    services.delivery_set_status(delivery=delivery, status="preparing", actor=Actor.system())
    with pytest.raises(InvalidInput):
        services.delivery_set_status(delivery=delivery, status="shipped", actor=Actor.system())
    services.delivery_set_status(
        delivery=delivery,
        status="shipped",
        carrier="Kerry",
        tracking_number="KEX123",
        actor=Actor.system(),
    )
    with pytest.raises(errors.WrongState):
        services.delivery_set_status(delivery=delivery, status="cancelled", actor=Actor.system())
    services.delivery_set_status(delivery=delivery, status="delivered", actor=Actor.system())
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.tracking_number == "KEX123"
    other = redeem(rich, gift, key="k2", address=ADDRESS)[0].delivery
    services.delivery_set_status(
        delivery=other, status="cancelled", note="no stock", actor=Actor.system()
    )
    rich.refresh_from_db()
    gift.refresh_from_db()
    assert rich.balance == 900 and gift.stock == 2
    assert_invariants(rshop.pk)


def test_spot_code_deducts_only_when_confirmed_and_lapses(rich, rshop):
    latte = RewardFactory(shop=rshop, points_cost=50, spot_redemption=True)
    spot = services.spot_code_issue(member=rich, reward=latte)
    rich.refresh_from_db()
    assert rich.balance == 1000 and len(spot.code) == 6
    redemption = services.spot_code_confirm(
        shop=rshop, code=spot.code, branch=None, actor=Actor.system()
    )
    rich.refresh_from_db()
    assert rich.balance == 950 and redemption.coupon.status == Coupon.Status.USED
    with pytest.raises(NotFound):
        services.spot_code_confirm(shop=rshop, code=spot.code, branch=None, actor=Actor.system())
    lapsed = services.spot_code_issue(member=rich, reward=latte)
    with (
        time_machine.travel(timezone.now() + dt.timedelta(minutes=6)),
        pytest.raises(errors.CouponNotUsable, match="lapsed"),
    ):
        services.spot_code_confirm(shop=rshop, code=lapsed.code, branch=None, actor=Actor.system())
    rich.refresh_from_db()
    assert rich.balance == 950
    assert LedgerEntry.objects.filter(kind=EntryKind.REDEEM).count() == 1
