"""Rewards at the counter (staff app): use a coupon, confirm a member's spot code, hand a delivery
over. Each refusal has its own message and changes nothing; a replayed confirmation shows the first
result and never acts twice; a cashier sees only their shop's coupons and deliveries and acts at
their current branch; every action is in the staff audit log."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from members.ledger.actors import Actor
from members.ledger.models import EntryKind, LedgerEntry
from members.qr import member_code_issue
from rewards import services
from rewards.models import Coupon, Delivery, Redemption, Reward
from rewards.staff import services as staff_services
from shops.models import User
from shops.staffing.models import StaffAction
from tests.concurrency import run_concurrently
from tests.factories import (
    BranchFactory,
    MemberFactory,
    RewardFactory,
    ShopFactory,
    TierFactory,
    UserFactory,
)
from tests.members.conftest import assert_invariants
from tests.members.staff.conftest import UA, staff_client
from tests.rewards.conftest import give

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

ADDRESS = services.Address("Somchai Jaidee", "081-234-5678", "99 Sukhumvit Rd, Bangkok", "10110")


# --- fixtures: a shop with two branches, a cashier at one, a member with points --------------------


@pytest.fixture
def staff_shop(db):
    return ShopFactory(
        name="Cafe Aroi",
        slug="cafe-aroi",
        thb_per_point=Decimal("25.00"),
        expiry_mode="never",
        tiers_enabled=True,
        welcome_points=0,
        coupon_validity_days=30,
    )


@pytest.fixture
def branch(staff_shop):
    return BranchFactory(shop=staff_shop, name="Siam", code="SIAM")


@pytest.fixture
def other_branch(staff_shop):
    return BranchFactory(shop=staff_shop, name="Thonglor", code="THL")


@pytest.fixture
def gold(staff_shop):
    return TierFactory(shop=staff_shop, name="Gold", threshold=0)


@pytest.fixture
def cashier(staff_shop, branch):
    user = UserFactory(username="nok", first_name="Nok", shop=staff_shop, role=User.Role.CASHIER)
    user.branches.add(branch)
    return user


@pytest.fixture
def cashier_client(cashier):
    return staff_client(cashier)


@pytest.fixture
def member(staff_shop, gold):
    member = MemberFactory(
        shop=staff_shop, first_name="Somchai", last_name="Jaidee", phone="+66812345678", tier=gold
    )
    return give(member, 1000)


@pytest.fixture
def latte(staff_shop):
    return RewardFactory(shop=staff_shop, name="Free latte", points_cost=100, terms="One per visit")


@pytest.fixture
def coupon(member, latte):
    return redeem(member, latte).coupon


@pytest.fixture
def spot_latte(staff_shop):
    return RewardFactory(shop=staff_shop, name="Iced cocoa", points_cost=50, spot_redemption=True)


@pytest.fixture
def gift(staff_shop):
    return RewardFactory(
        shop=staff_shop, kind=Reward.Kind.DELIVERY, name="Tote bag", points_cost=200
    )


def redeem(member, reward, key=None, **kwargs) -> Redemption:
    return services.reward_redeem(
        member=member,
        reward=reward,
        idempotency_key=key or str(uuid.uuid4()),
        actor=Actor.member(),
        **kwargs,
    )[0]


def look_up(client, code):
    return client.post(reverse("staff:coupon"), {"code": code})


def confirm(client, code, key=None):
    return client.post(
        reverse("staff:coupon_confirm"), {"code": code, "key": str(key or uuid.uuid4())}
    )


def hand_over(client, delivery, key=None):
    return client.post(
        reverse("staff:delivery_hand_over", args=[delivery.redemption.public_id]),
        {"key": str(key or uuid.uuid4())},
    )


def refusal(response) -> str:
    match = re.search(
        r'data-testid="(?:refusal|code-errors)"[^>]*>(.*?)</', response.content.decode(), re.S
    )
    assert match, response.content.decode()
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def actions(kind):
    return StaffAction.objects.filter(kind=kind)


# --- using a coupon -------------------------------------------------------------------------------


def test_a_coupon_is_looked_up_reviewed_used_and_shown_done(
    cashier_client, cashier, branch, member, coupon
):
    # given the cashier types the code as people do: lower case, with a space
    typed = f"{coupon.code[:4].lower()} {coupon.code[4:]}"

    # when they look it up
    review = look_up(cashier_client, typed)

    # then the review shows the reward, the member (masked phone, tier), validity and status
    html = review.content.decode()
    assert review.status_code == 200
    assert 'data-testid="reward-name">Free latte<' in html
    assert "Somchai Jaidee" in html and "081-xxx-5678" in html and "+66812345678" not in html
    assert 'data-testid="member-tier">Gold<' in html
    assert 'data-testid="coupon-status">Ready to use<' in html
    assert 'data-testid="validity"' in html and "One per visit" in html
    assert Coupon.objects.get().status == Coupon.Status.ISSUED  # looking changes nothing
    key = review.context["form"]["key"].value()

    # when they confirm
    response = confirm(cashier_client, coupon.code, key)

    # then the coupon is used at their branch, by them, and the done page says so
    redemption = coupon.redemption
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:coupon_done", args=[redemption.public_id])
    coupon.refresh_from_db()
    assert (coupon.status, coupon.used_branch, coupon.used_by) == (
        Coupon.Status.USED,
        branch,
        cashier,
    )
    done = cashier_client.get(response["Location"]).content.decode()
    assert "Coupon used" in done and "Free latte" in done and "Siam" in done


def test_using_a_coupon_is_recorded_in_the_staff_log(cashier_client, cashier, branch, coupon):
    confirm(cashier_client, coupon.code)

    row = actions(staff_services.STAFF_COUPON_USE).get()
    assert (row.user, row.shop, row.branch) == (cashier, branch.shop, branch)
    assert row.object_type == "redemption"
    assert row.object_id == str(coupon.redemption.public_id)
    assert row.detail["code"] == coupon.code
    assert (row.ip_address, row.user_agent) == ("203.0.113.7", UA)


def test_looking_up_a_coupon_is_recorded_as_a_member_lookup(cashier_client, member, coupon):
    look_up(cashier_client, coupon.code)
    look_up(cashier_client, "ACDEFGHJ")

    found, missing = StaffAction.objects.filter(kind=StaffAction.Kind.FIND).order_by("id")
    assert found.object_id == str(member.public_id) and found.detail == {
        "by": "coupon",
        "found": True,
    }
    assert missing.detail == {"by": "coupon", "found": False}


def test_a_replayed_confirmation_shows_the_first_result_and_uses_the_coupon_once(
    cashier_client, coupon
):
    key = uuid.uuid4()
    first = confirm(cashier_client, coupon.code, key)
    coupon.refresh_from_db()
    used_at = coupon.used_at

    # when the same form is sent again (a double tap, a reload, the back button)
    again = confirm(cashier_client, coupon.code, key)

    # then the same done page, and still one use
    assert again.status_code == 302 and again["Location"] == first["Location"]
    coupon.refresh_from_db()
    assert coupon.used_at == used_at
    assert actions(staff_services.STAFF_COUPON_USE).count() == 1


def test_a_second_form_for_a_used_coupon_is_refused_with_when_and_where(cashier_client, coupon):
    confirm(cashier_client, coupon.code)

    response = confirm(cashier_client, coupon.code)  # another form: a new key

    assert response.status_code == 409
    assert "already used" in refusal(response) and "Siam" in refusal(response)
    assert actions(staff_services.STAFF_COUPON_USE).count() == 1


def test_an_unknown_code_is_refused_and_nothing_changes(cashier_client, coupon):
    response = look_up(cashier_client, "ACDE3469")

    assert response.status_code == 404
    assert refusal(response) == "No coupon with this code in this shop."
    assert confirm(cashier_client, "ACDE3469").status_code == 404
    assert Coupon.objects.get().status == Coupon.Status.ISSUED


def test_another_shops_coupon_looks_exactly_like_an_unknown_one(cashier_client):
    stranger = give(MemberFactory(shop=ShopFactory()), 500)
    theirs = redeem(stranger, RewardFactory(shop=stranger.shop, points_cost=10)).coupon

    looked = look_up(cashier_client, theirs.code)
    used = confirm(cashier_client, theirs.code)

    assert looked.status_code == used.status_code == 404
    assert refusal(looked) == refusal(used) == "No coupon with this code in this shop."
    theirs.refresh_from_db()
    assert theirs.status == Coupon.Status.ISSUED
    assert not actions(staff_services.STAFF_COUPON_USE).exists()


def test_a_used_coupon_is_refused_at_the_review_with_when_and_where(
    cashier_client, coupon, other_branch
):
    services.coupon_use(
        shop=coupon.shop, code=coupon.code, branch=other_branch, actor=Actor.system()
    )

    response = look_up(cashier_client, coupon.code)

    assert response.status_code == 409
    message = refusal(response)
    assert message.startswith("This coupon was already used (") and "Thonglor" in message
    assert 'data-testid="confirm"' not in response.content.decode()


@pytest.fixture
def day_coupon(member, staff_shop):
    """A coupon valid for today only (Bangkok)."""
    one_day = RewardFactory(shop=staff_shop, name="Cake", points_cost=10, coupon_validity_days=1)
    return redeem(member, one_day).coupon


def test_an_expired_coupon_is_refused_at_half_past_midnight_and_nothing_changes(
    cashier_client, day_coupon
):
    coupon = day_coupon
    day_after = coupon.expires_on + dt.timedelta(days=1)
    with time_machine.travel(
        timezone.make_aware(dt.datetime.combine(day_after, dt.time(0, 30))), tick=False
    ):
        looked = look_up(cashier_client, coupon.code)
        used = confirm(cashier_client, coupon.code)

    assert looked.status_code == used.status_code == 410
    assert refusal(looked) == refusal(used) == "This coupon has expired."
    assert 'data-testid="coupon-status">Expired<' in looked.content.decode()
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED and coupon.used_at is None


def test_a_coupon_still_works_a_minute_before_midnight_of_its_last_day(cashier_client, day_coupon):
    coupon = day_coupon
    with time_machine.travel(
        timezone.make_aware(dt.datetime.combine(coupon.expires_on, dt.time(23, 59))), tick=False
    ):
        response = confirm(cashier_client, coupon.code)

    assert response.status_code == 302
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.USED


def test_a_cancelled_coupon_is_refused_and_nothing_changes(cashier_client, member, coupon):
    services.redemption_cancel(redemption=coupon.redemption, note="mistake", actor=Actor.system())

    looked = look_up(cashier_client, coupon.code)
    used = confirm(cashier_client, coupon.code)

    assert looked.status_code == used.status_code == 410
    assert refusal(looked) == refusal(used) == "This coupon was cancelled."
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.CANCELLED and coupon.used_at is None


def test_a_code_for_another_platform_is_not_used_at_the_counter(cashier_client, member, staff_shop):
    shopee = RewardFactory(
        shop=staff_shop,
        kind=Reward.Kind.CUSTOM_CODE,
        code_source=Reward.CodeSource.SHARED,
        shared_code="SHOPEE50",
        platform="Shopee",
    )
    theirs = redeem(member, shopee).coupon

    response = confirm(cashier_client, theirs.code)

    assert response.status_code == 422
    assert "another platform" in refusal(response)
    theirs.refresh_from_db()
    assert theirs.status == Coupon.Status.ISSUED


def test_the_done_page_of_a_coupon_used_at_another_branch_does_not_exist(
    cashier_client, coupon, other_branch
):
    services.coupon_use(
        shop=coupon.shop, code=coupon.code, branch=other_branch, actor=Actor.system()
    )
    url = reverse("staff:coupon_done", args=[coupon.redemption.public_id])

    assert cashier_client.get(url).status_code == 404


def test_a_manager_uses_a_coupon_at_the_branch_they_chose(staff_shop, other_branch, coupon):
    manager = UserFactory(shop=staff_shop, role=User.Role.MANAGER)
    client = staff_client(manager, other_branch)

    confirm(client, coupon.code)

    coupon.refresh_from_db()
    assert coupon.used_branch == other_branch
    assert actions(staff_services.STAFF_COUPON_USE).get().branch == other_branch


# --- spot codes -----------------------------------------------------------------------------------


def test_a_spot_code_shows_reward_and_member_and_deducts_only_when_confirmed(
    cashier_client, branch, member, spot_latte
):
    spot = services.spot_code_issue(member=member, reward=spot_latte)

    # when the cashier types the member's 6-digit code (Thai digits work too)
    thai = spot.code.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    review = look_up(cashier_client, f"{thai[:3]} {thai[3:]}")

    # then they see the reward, the member and the points, and nothing is deducted yet
    html = review.content.decode()
    assert review.status_code == 200
    assert "Iced cocoa" in html and "Somchai Jaidee" in html
    assert 'data-testid="spot-points">−50<' in html
    member.refresh_from_db()
    assert member.balance == 1000

    # when they confirm, the points are deducted once and the reward is used at this branch
    response = confirm(cashier_client, spot.code, review.context["form"]["key"].value())

    redemption = Redemption.objects.get()
    assert response["Location"] == reverse("staff:coupon_done", args=[redemption.public_id])
    member.refresh_from_db()
    assert member.balance == 950
    assert (redemption.branch, redemption.coupon.status, redemption.coupon.used_branch) == (
        branch,
        Coupon.Status.USED,
        branch,
    )
    done = cashier_client.get(response["Location"]).content.decode()
    assert "Reward redeemed" in done and "−50 points" in done
    row = actions(staff_services.STAFF_SPOT_CONFIRM).get()
    assert (row.branch, row.object_id, row.detail["points"]) == (
        branch,
        str(redemption.public_id),
        50,
    )
    assert_invariants(member.shop_id)


def test_a_lapsed_spot_code_gets_a_clear_message_and_nothing_is_deducted(
    cashier_client, member, spot_latte
):
    spot = services.spot_code_issue(member=member, reward=spot_latte)

    with time_machine.travel(spot.expires_at + dt.timedelta(seconds=1)):
        looked = look_up(cashier_client, spot.code)
        confirmed = confirm(cashier_client, spot.code)

    assert looked.status_code == confirmed.status_code == 410
    assert "lapsed" in refusal(looked) and "Nothing was deducted" in refusal(confirmed)
    member.refresh_from_db()
    assert member.balance == 1000
    assert not Redemption.objects.exists()
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEEM).exists()


def test_a_spot_code_confirmed_twice_with_the_same_form_makes_one_redemption(
    cashier_client, member, spot_latte
):
    spot = services.spot_code_issue(member=member, reward=spot_latte)
    key = uuid.uuid4()

    first = confirm(cashier_client, spot.code, key)
    again = confirm(cashier_client, spot.code, key)

    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert Redemption.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.REDEEM).count() == 1
    assert actions(staff_services.STAFF_SPOT_CONFIRM).count() == 1
    member.refresh_from_db()
    assert member.balance == 950


def test_a_spot_code_confirmed_again_from_another_form_is_refused(
    cashier_client, member, spot_latte
):
    spot = services.spot_code_issue(member=member, reward=spot_latte)
    confirm(cashier_client, spot.code)

    response = confirm(cashier_client, spot.code)

    assert response.status_code == 409
    assert "already confirmed" in refusal(response)
    assert Redemption.objects.count() == 1
    member.refresh_from_db()
    assert member.balance == 950


def test_a_spot_code_the_member_cannot_afford_any_more_is_refused_before_the_tap(
    cashier_client, member, spot_latte
):
    spot = services.spot_code_issue(member=member, reward=spot_latte)
    services.reward_redeem(
        member=member,
        reward=RewardFactory(shop=member.shop, points_cost=980),
        idempotency_key="spend-it",
        actor=Actor.member(),
    )

    looked = look_up(cashier_client, spot.code)
    confirmed = confirm(cashier_client, spot.code)

    assert "Not enough points" in refusal(looked) and "Not enough points" in refusal(confirmed)
    assert 'data-testid="confirm"' not in looked.content.decode()
    assert Redemption.objects.count() == 1  # only the one that spent the points


def test_another_shops_spot_code_is_unknown(cashier_client, spot_latte):
    stranger = give(MemberFactory(shop=ShopFactory()), 500)
    theirs = RewardFactory(shop=stranger.shop, points_cost=10, spot_redemption=True)
    spot = services.spot_code_issue(member=stranger, reward=theirs)

    response = confirm(cashier_client, spot.code)

    assert response.status_code == 404
    assert "No open code like this" in refusal(response)
    assert not Redemption.objects.exists()


# --- at once: two phones, one code ---------------------------------------------------------------


def _outcome(result) -> str:
    return type(result).__name__ if isinstance(result, Exception) else "ok"


def _threads(n: int) -> int:
    return n if connection.vendor == "postgresql" else min(n, 6)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_form", [True, False], ids=["double-tap", "two-phones"])
def test_a_spot_code_confirmed_at_once_deducts_once(cashier, branch, member, spot_latte, same_form):
    # given a member's open spot code
    spot = services.spot_code_issue(member=member, reward=spot_latte)
    n = _threads(8)
    keys = [uuid.uuid4()] * n if same_form else [uuid.uuid4() for _ in range(n)]

    # when it is confirmed n times at once (one form tapped again and again, or n forms)
    results = run_concurrently(
        lambda i: staff_services.spot_code_confirm_at_counter(
            user=cashier, branch=branch, code=spot.code, form_key=keys[i]
        ),
        n,
    )

    # then one redemption, one deduction, one audit row; a twin of the form sees the first result
    outcomes = [_outcome(r) for r in results]
    if same_form:
        assert outcomes == ["ok"] * n, results
        assert sum(not r.replayed for r in results) == 1
    else:
        assert outcomes.count("ok") == 1 and set(outcomes) == {"ok", "NotFound"}, results
    assert Redemption.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.REDEEM).count() == 1
    assert actions(staff_services.STAFF_SPOT_CONFIRM).count() == 1
    member.refresh_from_db()
    assert member.balance == 950
    assert_invariants(member.shop_id)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_form", [True, False], ids=["double-tap", "two-phones"])
def test_a_coupon_used_at_once_is_used_once(cashier, branch, coupon, same_form):
    n = _threads(8)
    keys = [uuid.uuid4()] * n if same_form else [uuid.uuid4() for _ in range(n)]

    results = run_concurrently(
        lambda i: staff_services.coupon_use_at_counter(
            user=cashier, branch=branch, code=coupon.code, form_key=keys[i]
        ),
        n,
    )

    outcomes = [_outcome(r) for r in results]
    if same_form:
        assert outcomes == ["ok"] * n, results
    else:
        assert outcomes.count("ok") == 1 and set(outcomes) == {"ok", "CouponNotUsable"}, results
    assert actions(staff_services.STAFF_COUPON_USE).count() == 1
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.USED and coupon.used_branch == branch


# --- handing a delivery over ----------------------------------------------------------------------


def test_a_delivery_is_handed_over_at_the_cashiers_branch(
    cashier_client, cashier, branch, member, gift
):
    waiting = redeem(member, gift, address=ADDRESS).delivery
    shipped = redeem(member, gift, address=ADDRESS).delivery
    services.delivery_set_status(
        delivery=shipped,
        status=Delivery.Status.SHIPPED,
        carrier="Kerry",
        tracking_number="KEX1",
        actor=Actor.system(),
    )
    cancelled = redeem(member, gift, address=ADDRESS).delivery
    services.delivery_set_status(
        delivery=cancelled, status=Delivery.Status.CANCELLED, actor=Actor.system()
    )

    # when the cashier finds the member by phone
    found = cashier_client.post(reverse("staff:delivery"), {"phone": "081-234-5678"})

    # then they see the gifts not yet delivered or cancelled
    assert found["Location"] == reverse("staff:delivery_member", args=[member.public_id])
    page = cashier_client.get(found["Location"])
    assert [d.pk for d in page.context["deliveries"]] == [waiting.pk, shipped.pk]
    assert "Tote bag" in page.content.decode() and "KEX1" in page.content.decode()

    # when they hand the waiting one over
    response = hand_over(cashier_client, waiting)

    # then it is delivered at their branch, and recorded
    assert response["Location"] == reverse(
        "staff:delivery_done", args=[waiting.redemption.public_id]
    )
    waiting.refresh_from_db()
    assert waiting.status == Delivery.Status.DELIVERED
    assert waiting.handed_over_branch == branch and waiting.delivered_at is not None
    row = actions(staff_services.STAFF_DELIVERY_HAND_OVER).get()
    assert (row.user, row.branch, row.object_id, row.detail["was"]) == (
        cashier,
        branch,
        str(waiting.redemption.public_id),
        "pending",
    )
    done = cashier_client.get(response["Location"]).content.decode()
    assert "Gift handed over" in done and "Siam" in done
    left = cashier_client.get(found["Location"]).context["deliveries"]
    assert [d.pk for d in left] == [shipped.pk]


def test_a_member_is_found_for_a_delivery_by_their_member_qr_code(cashier_client, member):
    code = member_code_issue(member=member).code

    response = cashier_client.post(reverse("staff:delivery"), {"code": code})

    assert response["Location"] == reverse("staff:delivery_member", args=[member.public_id])
    assert StaffAction.objects.get(kind=StaffAction.Kind.FIND).detail == {
        "by": "code",
        "found": True,
    }


def test_an_unknown_phone_finds_nobody_for_a_delivery(cashier_client, member):
    response = cashier_client.post(reverse("staff:delivery"), {"phone": "0899999999"})

    assert response.status_code == 404
    assert "No member of this shop has this phone number." in response.content.decode()


def test_a_replayed_hand_over_shows_the_first_result_and_records_it_once(
    cashier_client, member, gift
):
    delivery = redeem(member, gift, address=ADDRESS).delivery
    key = uuid.uuid4()

    first = hand_over(cashier_client, delivery, key)
    again = hand_over(cashier_client, delivery, key)

    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert actions(staff_services.STAFF_DELIVERY_HAND_OVER).count() == 1


def test_a_delivered_gift_cannot_be_handed_over_again(cashier_client, member, gift):
    delivery = redeem(member, gift, address=ADDRESS).delivery
    hand_over(cashier_client, delivery)

    response = hand_over(cashier_client, delivery)

    assert response.status_code == 409
    assert "already handed over" in refusal(response) and "Siam" in refusal(response)
    assert actions(staff_services.STAFF_DELIVERY_HAND_OVER).count() == 1


def test_a_cancelled_delivery_cannot_be_handed_over(cashier_client, member, gift):
    delivery = redeem(member, gift, address=ADDRESS).delivery
    services.delivery_set_status(
        delivery=delivery, status=Delivery.Status.CANCELLED, actor=Actor.system()
    )

    response = hand_over(cashier_client, delivery)

    assert response.status_code == 410
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.CANCELLED and delivery.handed_over_branch is None


def test_another_shops_deliveries_and_members_do_not_exist_for_the_cashier(cashier_client):
    stranger = give(MemberFactory(shop=ShopFactory()), 500)
    theirs = redeem(
        stranger,
        RewardFactory(shop=stranger.shop, kind=Reward.Kind.DELIVERY, points_cost=10),
        address=ADDRESS,
    ).delivery

    page = cashier_client.get(reverse("staff:delivery_member", args=[stranger.public_id]))
    handed = hand_over(cashier_client, theirs)
    found = cashier_client.post(reverse("staff:delivery"), {"phone": stranger.phone})

    assert page.status_code == handed.status_code == found.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Delivery.Status.PENDING


def test_the_done_page_of_a_gift_handed_over_elsewhere_does_not_exist(
    cashier_client, member, gift, other_branch
):
    delivery = redeem(member, gift, address=ADDRESS).delivery
    services.delivery_set_status(
        delivery=delivery,
        status=Delivery.Status.DELIVERED,
        branch=other_branch,
        actor=Actor.system(),
    )
    url = reverse("staff:delivery_done", args=[delivery.redemption.public_id])

    assert cashier_client.get(url).status_code == 404


# --- the app around it ----------------------------------------------------------------------------


def test_the_menu_links_use_coupon_and_deliveries(cashier_client):
    html = cashier_client.get(reverse("staff:home")).content.decode()

    for name in ("coupon", "delivery"):
        assert re.search(
            rf'<a href="{reverse(f"staff:{name}")}"[^>]*data-testid="nav-{name}"', html
        )
    assert "coming soon" not in html


def test_the_coupon_page_offers_the_camera_and_the_typed_code(cashier_client):
    response = cashier_client.get(reverse("staff:coupon"))
    html = response.content.decode()

    assert response.status_code == 200
    assert "data-coupon-scan" in html and 'name="code"' in html
    assert "js/staff.js" in html and "js/staff-rewards.js" in html
    assert 'aria-current="page" data-testid="nav-coupon"' in html


@pytest.mark.parametrize("name", ["coupon", "delivery"])
def test_the_reward_pages_weigh_under_150_kb_without_images(cashier_client, name):
    response = cashier_client.get(reverse(f"staff:{name}"))
    html = response.content.decode()
    weight = len(response.content)
    for path in re.findall(r'(?:href|src)="/static/([^"]+\.(?:css|js))"', html):
        with open(finders.find(path), "rb") as f:
            weight += len(f.read())

    assert "jsQR" not in html.split("data-jsqr")[0]  # the QR decoder loads only for the camera
    assert weight < 150 * 1024, weight


@pytest.mark.parametrize(
    ("name", "method"),
    [("coupon", "get"), ("coupon_confirm", "post"), ("delivery", "get"), ("delivery", "post")],
)
def test_a_signed_out_visitor_is_sent_to_sign_in(client, name, method, coupon):
    response = getattr(client, method)(reverse(f"staff:{name}"), {"code": coupon.code})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:login"))
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED


def test_a_cashier_of_another_shop_cannot_use_this_shops_coupon(coupon):
    shop = ShopFactory()
    outsider = UserFactory(shop=shop, role=User.Role.CASHIER)
    outsider.branches.add(BranchFactory(shop=shop))

    response = confirm(staff_client(outsider), coupon.code)

    assert response.status_code == 404
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED


def test_a_used_coupon_says_when_in_buddhist_era_years_on_a_thai_staff_app(
    cashier_client, coupon, other_branch, staff_shop
):
    from zoneinfo import ZoneInfo

    staff_shop.__class__.objects.filter(pk=staff_shop.pk).update(language="th")
    used_at = dt.datetime(2026, 12, 3, 14, 5, tzinfo=ZoneInfo("Asia/Bangkok"))
    with time_machine.travel(used_at, tick=False):
        services.coupon_use(
            shop=coupon.shop, code=coupon.code, branch=other_branch, actor=Actor.system()
        )

    message = refusal(look_up(cashier_client, coupon.code))

    assert "3 ธ.ค. 2569 14:05 น." in message
    assert "2026" not in message
