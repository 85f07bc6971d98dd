"""A broadcast's coupon push, end to end through the outbox to the fake LINE platform: each
recipient gets one coupon of its own, free, shown in the coupon card; the reward's per-member limit
and stock (and code pool) hold, and whoever is refused is skipped with the reason; a resumed send
gives nobody a second coupon; a gift is used at the counter and cancelled like any coupon, with no
points anywhere."""

from __future__ import annotations

import json
import uuid

import pytest
from django.urls import reverse
from django.utils import translation

from campaigns.broadcasts.coupons import broadcast_coupons_give
from campaigns.broadcasts.models import BroadcastRecipient
from campaigns.broadcasts.rendering import Assets
from campaigns.broadcasts.services import (
    _enqueue_batch,
    _start,
    broadcast_confirm,
    broadcast_save,
    broadcast_send,
)
from loyalty.errors import InvalidInput
from loyalty.outbox.tasks import outbox_drain
from members.ledger.actors import Actor
from members.ledger.models import LedgerEntry
from members.models import Member
from rewards import services as rewards
from rewards.errors import WrongState
from rewards.models import Coupon, Redemption, Reward, RewardCode
from shops.models import User
from tests.campaigns.broadcasts.conftest import everyone, friend
from tests.factories import BranchFactory, MemberFactory, RewardFactory, UserFactory
from tests.line_fixtures import NOK, PLOY, SOMCHAI
from tests.members.staff.conftest import staff_client
from tests.rewards.conftest import give

pytestmark = pytest.mark.django_db(transaction=True)
R = BroadcastRecipient
COUPON_CARD = {"type": "card", "template": "coupon"}


@pytest.fixture(autouse=True)
def site_url(settings):
    """LINE takes only full URLs in a card's button (the coupon page's)."""
    settings.SITE_URL = "https://loyalty.example"


def coupon_push(shop, reward, *, text="ของขวัญจาก {shop}"):
    return broadcast_save(
        shop=shop,
        name="Coupon push",
        segment_ids=[everyone(shop).pk],
        messages=[{"type": "text", "text": text}, COUPON_CARD],
        coupon_reward_id=reward.pk,
    )


def users(fake_line, shop, n):
    """``n`` bound friends of the shop's OA (ascending member ids), by LINE user id."""
    out = {}
    for i in range(1, n + 1):
        user = f"U{i:032x}"
        fake_line.add_user(user_id=user, display_name=user)
        out[user] = friend(shop, user)
    return out


def gift_said(html: str) -> bool:
    return 'data-testid="gift"' in html and ("Gift from the shop" in html or "ของขวัญจากร้าน" in html)


def card_of(fake_line, user: str) -> str:
    return json.dumps(fake_line.messages_to(user, "flex"), ensure_ascii=False)


def test_each_recipient_gets_one_coupon_of_its_own_free_shown_in_the_card(
    line_shop, fake_line, q_sync
):
    # given three friends and a latte with a stock of 10, one per member
    members = {u: friend(line_shop, u) for u in (NOK, PLOY, SOMCHAI)}
    latte = RewardFactory(shop=line_shop, name="Free latte", stock=10, per_member_limit=1)
    broadcast = coupon_push(line_shop, latte)

    # when the push is confirmed and sent
    broadcast_confirm(broadcast=broadcast, recipients=3)
    outbox_drain(seconds=5)

    # then each got one coupon, its own code, in its card, and paid nothing
    rows = list(R.objects.select_related("coupon__redemption"))
    assert {r.state for r in rows} == {R.State.QUEUED}
    codes = {r.member_id: r.coupon.code for r in rows}
    assert len(set(codes.values())) == 3
    for user, member in members.items():
        assert fake_line.texts_to(user) == ["ของขวัญจาก Shop A"]
        assert codes[member.pk] in card_of(fake_line, user)
        assert "Free latte" in card_of(fake_line, user)
        assert not any(
            codes[m.pk] in card_of(fake_line, user) for m in members.values() if m != member
        )
    gifts = Redemption.objects.all()
    assert {(g.is_gift, g.points, g.entry_id, g.status) for g in gifts} == {
        (True, 0, None, Redemption.Status.COMPLETED)
    }
    assert not LedgerEntry.objects.exists()
    assert set(Member.objects.values_list("balance", flat=True)) == {0}
    latte.refresh_from_db()
    assert latte.stock == 7


def test_the_limit_and_the_stock_hold_and_who_got_none_is_skipped_with_the_reason(
    line_shop, fake_line, q_sync
):
    # given four friends; the first already redeemed the reward (limit 1), which leaves 2 in stock
    members = list(users(fake_line, line_shop, 4).items())
    cake = RewardFactory(shop=line_shop, name="Cake", stock=3, per_member_limit=1, points_cost=10)
    first_user, first = members[0]
    give(first, 50)
    rewards.reward_redeem(member=first, reward=cake, idempotency_key="own", actor=Actor.member())
    broadcast = coupon_push(line_shop, cake)

    # when the push goes to all four
    broadcast_confirm(broadcast=broadcast, recipients=4)
    outbox_drain(seconds=5)

    # then the next two (by member id) got one, the last is refused for stock, the first for limit
    rows = {r.member_id: r for r in R.objects.all()}
    assert [
        (rows[m.pk].state, rows[m.pk].reason, bool(rows[m.pk].coupon_id)) for _u, m in members
    ] == [
        (R.State.SKIPPED, R.Reason.COUPON_LIMIT, False),
        (R.State.QUEUED, "", True),
        (R.State.QUEUED, "", True),
        (R.State.SKIPPED, R.Reason.COUPON_STOCK, False),
    ]
    # and the skipped got nothing at all
    assert fake_line.messages_to(first_user, "flex") == []  # (its own redemption's notice only)
    assert "ของขวัญจาก Shop A" not in fake_line.texts_to(first_user)
    assert fake_line.messages_to(members[3][0]) == []
    cake.refresh_from_db()
    assert cake.stock == 0
    assert Redemption.objects.filter(member=first).count() == 1
    with translation.override("en"):
        assert str(R.Reason(rows[members[3][1].pk].reason).label) == "Coupons ran out"


def test_a_platform_reward_gives_the_pool_codes_one_each_until_the_pool_runs_out(
    line_shop, fake_line, q_sync
):
    members = list(users(fake_line, line_shop, 3).values())
    voucher = RewardFactory(
        shop=line_shop, name="Shopee 50", kind=Reward.Kind.CUSTOM_CODE, platform="Shopee"
    )
    rewards.reward_codes_add(reward=voucher, codes=["SHP-AAA", "SHP-BBB"])
    broadcast = coupon_push(line_shop, voucher)

    broadcast_confirm(broadcast=broadcast, recipients=3)
    outbox_drain(seconds=5)

    given = {c.member_id: c.external_code for c in Coupon.objects.all()}
    assert given == {members[0].pk: "SHP-AAA", members[1].pk: "SHP-BBB"}
    assert R.objects.get(member=members[2]).reason == R.Reason.COUPON_STOCK
    assert not RewardCode.objects.filter(redemption__isnull=True).exists()


def test_a_resumed_send_gives_nobody_a_second_coupon(line_shop, fake_line, settings):
    # given five friends and a send killed after its first batch of two
    friends = users(fake_line, line_shop, 5)
    latte = RewardFactory(shop=line_shop, name="Free latte", stock=20)
    broadcast = coupon_push(line_shop, latte)
    broadcast_confirm(broadcast=broadcast, recipients=5)
    import campaigns.broadcasts.services as services

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    services.BATCH, batch = 2, services.BATCH
    try:
        started = _start(broadcast.pk)
        _enqueue_batch(started, Assets.of(started))  # then the job "dies"
        first = {r.member_id: r.coupon_id for r in R.objects.filter(state=R.State.QUEUED)}
        assert len(first) == 2 and Coupon.objects.count() == 2

        # when the same batch is given again (a retried transaction) and the job resumes
        again = broadcast_coupons_give(started, list(R.objects.filter(member_id__in=first)))
        broadcast_send(broadcast.pk)
    finally:
        services.BATCH = batch
    outbox_drain(seconds=5)

    # then the retried batch got its own coupons back and everyone holds exactly one
    assert {r: c.pk for r, c in again[0].items()} == {
        r.pk: r.coupon_id for r in R.objects.filter(member_id__in=first)
    }
    assert again[1] == set()
    assert Coupon.objects.count() == 5
    assert sorted(Coupon.objects.values_list("member_id", flat=True)) == sorted(
        m.pk for m in friends.values()
    )
    latte.refresh_from_db()
    assert latte.stock == 15
    for user, member in friends.items():
        coupon = Coupon.objects.get(member=member)
        assert len(fake_line.messages_to(user, "flex")) == 1
        assert coupon.code in card_of(fake_line, user)


def test_the_same_key_returns_the_same_gifts(line_shop):
    member = friend(line_shop, NOK)
    latte = RewardFactory(shop=line_shop, stock=3)

    first = rewards.coupons_gift(reward=latte, member_ids=[member.pk], key_prefix="push:1")
    second = rewards.coupons_gift(reward=latte, member_ids=[member.pk], key_prefix="push:1")
    other = rewards.coupons_gift(reward=latte, member_ids=[member.pk], key_prefix="push:2")

    assert first.given[member.pk].pk == second.given[member.pk].pk
    assert other.given[member.pk].pk != first.given[member.pk].pk  # no limit: a second push gives
    latte.refresh_from_db()
    assert latte.stock == 1


def test_a_gift_is_used_at_the_counter_and_another_cancelled_without_points(
    line_shop, fake_line, q_sync, english
):
    # given two members who got a gift coupon
    nok, ploy = friend(line_shop, NOK), friend(line_shop, PLOY)
    latte = RewardFactory(shop=line_shop, name="Free latte", stock=5, per_member_limit=1)
    broadcast_confirm(broadcast=coupon_push(line_shop, latte), recipients=2)
    outbox_drain(seconds=5)
    used, cancelled = Coupon.objects.get(member=nok), Coupon.objects.get(member=ploy)
    branch = BranchFactory(shop=line_shop, name="Siam")
    cashier = UserFactory(shop=line_shop, role=User.Role.CASHIER)
    cashier.branches.add(branch)
    client = staff_client(cashier)

    # when the cashier looks the first up and uses it
    review = client.post(reverse("staff:coupon"), {"code": used.code}).content.decode()
    response = client.post(
        reverse("staff:coupon_confirm"), {"code": used.code, "key": str(uuid.uuid4())}
    )
    done = client.get(response["Location"]).content.decode()

    # then it is used, and the pages say it was the shop's gift
    # (the staff app speaks the shop's language or the cashier's choice: either words will do)
    assert gift_said(review) and gift_said(done)
    assert 'data-testid="done-points"' not in done
    used.refresh_from_db()
    assert (used.status, used.used_branch) == (Coupon.Status.USED, branch)

    # when a manager cancels the other one
    rewards.redemption_cancel(redemption=cancelled.redemption, note="", actor=Actor.system())

    # then its stock comes back, no points move, and the member may be given one again
    cancelled.refresh_from_db()
    assert cancelled.status == Coupon.Status.CANCELLED
    latte.refresh_from_db()
    assert latte.stock == 4
    assert not LedgerEntry.objects.exists()
    again = rewards.coupons_gift(reward=latte, member_ids=[ploy.pk], key_prefix="push:again")
    assert ploy.pk in again.given
    # and a used gift cannot be cancelled
    with pytest.raises(WrongState):
        rewards.redemption_cancel(redemption=used.redemption, note="", actor=Actor.system())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": Reward.Kind.DELIVERY}, "A delivered reward cannot be given as a coupon."),
        ({"is_active": False}, "This reward is not active."),
    ],
)
def test_a_reward_that_cannot_be_a_coupon_is_refused_on_the_field(line_shop, fields, message):
    reward = RewardFactory(shop=line_shop, **fields)
    with translation.override("en"), pytest.raises(InvalidInput) as refused:
        coupon_push(line_shop, reward)
    assert refused.value.extra["errors"]["coupon_reward"][0].startswith(message)


def test_another_shops_reward_is_refused(line_shop, other_shop):
    theirs = RewardFactory(shop=other_shop)
    with translation.override("en"), pytest.raises(InvalidInput) as refused:
        coupon_push(line_shop, theirs)
    assert refused.value.extra["errors"]["coupon_reward"] == ["Choose one of the shop's rewards."]


def test_another_shops_member_gets_no_gift(line_shop, other_shop):
    latte = RewardFactory(shop=line_shop, stock=3)
    stranger = MemberFactory(shop=other_shop)

    gifts = rewards.coupons_gift(reward=latte, member_ids=[stranger.pk], key_prefix="push:x")

    assert gifts.given == {} and stranger.pk in gifts.refused
    assert not Redemption.objects.exists()


def test_the_open_api_tells_a_gift_from_a_paid_redemption(line_shop):
    from shops.apikeys import api_key_create
    from tests.members.test_api import Api

    # given a gift coupon pushed to a member
    member = friend(line_shop, NOK)
    latte = RewardFactory(shop=line_shop, stock=3)
    gift = rewards.coupons_gift(reward=latte, member_ids=[member.pk], key_prefix="push:api")
    redemption = gift.given[member.pk].redemption
    api = Api(api_key_create(shop=line_shop, name="pos")[1])

    # when the POS cancels it through the Open API
    answer = api.post(f"/redemptions/{redemption.public_id}/cancel", {})

    # then it says it was a gift: no points paid, none returned
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["is_gift"], body["points"], body["status"]) == (True, 0, "cancelled")
