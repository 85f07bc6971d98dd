"""A redemption's points come back only with the redemption: its debit reversed on its own (the
API's or the back office's Reverse) is refused, naming the redemption, and cancelling the
redemption (back office or Open API) returns the points, the stock and the member's limit, and
cancels the coupon or the delivery."""

import uuid

import pytest
from django.urls import reverse

from members.ledger import owners
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.errors import CannotReverse, EntryOwned
from members.ledger.models import EntryKind, LedgerEntry
from rewards import errors, services
from rewards.models import Coupon, Delivery, Redemption
from shops.apikeys import api_key_create
from tests.factories import MemberFactory, RewardFactory, ShopFactory
from tests.members.test_api import Api, error_code
from tests.rewards.conftest import give

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
MEMBER = Actor.member()
ADDRESS = services.Address("Somchai", "0812345678", "1 Rama I Rd", "10330")


@pytest.fixture
def api(rshop):
    return Api(api_key_create(shop=rshop, name="t")[1])


def redeem(member, reward, key="k1", **kw):
    return services.reward_redeem(
        member=member, reward=reward, idempotency_key=key, actor=MEMBER, **kw
    )[0]


def reversals_of(entry):
    return LedgerEntry.objects.filter(reversal_of=entry).count()


# --- the ledger's registry of entry owners ----------------------------------------------------------


def test_the_rewards_app_registers_its_redemptions_with_the_ledger(rich, reward):
    # given a redemption and an entry of the ledger's own
    redemption = redeem(rich, reward)
    adjustment = LedgerEntry.objects.filter(member=rich, kind=EntryKind.ADJUST).first()

    # when the ledger asks who owns them
    found = owners.entry_owners([redemption.entry_id, adjustment.pk])

    # then the rewards app answered (its AppConfig.ready wired the hook) for the redemption only
    assert "redemption" in owners.registered_owner_kinds()
    assert set(found) == {redemption.entry_id}
    owner = found[redemption.entry_id]
    assert (owner.kind, owner.public_id) == ("redemption", redemption.public_id)
    assert "Free latte" in owner.label and str(redemption.public_id) in owner.label
    assert owner.admin_url == reverse("admin:rewards_redemption_change", args=[redemption.pk])


def test_reversing_a_redemptions_points_directly_is_refused_and_changes_nothing(rich, reward):
    # given a member who redeemed a coupon for 100 of their 1,000 points
    redemption = redeem(rich, reward)

    # when something reverses the debit on its own
    with pytest.raises(EntryOwned) as refused:
        ledger.entry_reverse(
            entry=redemption.entry, note="undo", idempotency_key="direct", actor=Actor.system()
        )

    # then it is refused, naming the redemption and how to undo it, and nothing moved
    assert refused.value.code == "owned_by_redemption"
    message = str(refused.value)
    assert "Free latte" in message and str(redemption.public_id) in message
    assert "Cancel the redemption" in message
    rich.refresh_from_db()
    reward.refresh_from_db()
    redemption.refresh_from_db()
    assert (rich.balance, reward.stock, redemption.status) == (900, 4, "completed")
    assert Coupon.objects.get(redemption=redemption).status == "issued"
    assert reversals_of(redemption.entry) == 0


def test_a_used_coupons_points_are_refused_saying_it_cannot_be_cancelled_either(rich, reward):
    redemption = redeem(rich, reward)
    services.coupon_use(shop=rich.shop, code=redemption.coupon.code, branch=None, actor=MEMBER)

    with pytest.raises(EntryOwned) as refused:
        ledger.entry_reverse(
            entry=redemption.entry, note="undo", idempotency_key="direct", actor=Actor.system()
        )

    assert "coupon has been used" in str(refused.value)
    assert reversals_of(redemption.entry) == 0


def test_only_the_owner_kind_may_reverse_its_entry(rich, reward):
    redemption = redeem(rich, reward)
    with pytest.raises(ValueError):
        ledger.entry_reverse(
            entry=LedgerEntry.objects.filter(member=rich, kind=EntryKind.ADJUST).first(),
            note="x",
            idempotency_key="claim",
            actor=Actor.system(),
            as_owner="redemption",
        )
    assert reversals_of(redemption.entry) == 0


# --- cancelling is the way back ---------------------------------------------------------------------


def test_cancelling_returns_points_stock_and_limit_so_the_member_can_redeem_again(rshop):
    # given a reward of one per member, one left, redeemed by a member who had just enough
    reward = RewardFactory(
        shop=rshop, name="Tote bag", points_cost=100, stock=1, per_member_limit=1
    )
    member = give(MemberFactory(shop=rshop), 100)
    redemption = redeem(member, reward)
    with pytest.raises(errors.OutOfStock):
        redeem(member, reward, key="k2")

    # when the redemption is cancelled
    services.redemption_cancel(redemption=redemption, note="changed mind", actor=Actor.system())

    # then the points, the stock and the limit are back, once, and a new redemption works
    member.refresh_from_db()
    reward.refresh_from_db()
    assert (member.balance, reward.stock) == (100, 1)
    assert Coupon.objects.get(redemption=redemption).status == "cancelled"
    assert reversals_of(redemption.entry) == 1
    again = redeem(member, reward, key="k3")
    assert again.status == "completed"


def test_a_debit_reversed_on_its_own_before_the_rule_is_not_reversed_again_on_cancel(rich, reward):
    # given a redemption whose debit was reversed alone (what the API allowed before): the points
    # are back but the coupon is still usable
    redemption = redeem(rich, reward)
    ledger.entry_reverse(
        entry=redemption.entry,
        note="old direct reversal",
        idempotency_key="legacy",
        actor=Actor.system(),
        as_owner="redemption",
    )

    # when the manager cancels the redemption
    services.redemption_cancel(redemption=redemption, note="tidy up", actor=Actor.system())

    # then the coupon is cancelled and the stock returned, and the points are not returned twice
    rich.refresh_from_db()
    reward.refresh_from_db()
    assert (rich.balance, reward.stock) == (1000, 5)
    assert Coupon.objects.get(redemption=redemption).status == "cancelled"
    assert reversals_of(redemption.entry) == 1


# --- the Open API -------------------------------------------------------------------------------


def test_api_reverse_of_a_redemptions_points_is_a_422_naming_the_redemption(api, rshop):
    # given a member with just enough points for one tote bag, two in stock
    reward = RewardFactory(shop=rshop, name="Tote bag", points_cost=100, stock=2)
    member = give(MemberFactory(shop=rshop), 100)
    r = api.post(
        "/redemptions", {"member_id": str(member.public_id), "reward_id": str(reward.public_id)}
    )
    assert r.status_code == 201, r.content
    redemption = Redemption.objects.get(public_id=r.json()["redemption_id"])

    # when the integrator reverses the redemption's points entry
    reversed_ = api.post(f"/points/{redemption.entry.public_id}/reverse", {"note": "undo"})

    # then it is refused with a code, the redemption's id and how to undo it
    assert reversed_.status_code == 422, reversed_.content
    error = reversed_.json()["error"]
    assert error["code"] == "owned_by_redemption"
    assert error["redemption_id"] == str(redemption.public_id)
    assert "Tote bag" in error["message"] and str(redemption.public_id) in error["message"]
    # and the points were not returned: a second tote bag is refused for want of points
    second = api.post(
        "/redemptions", {"member_id": str(member.public_id), "reward_id": str(reward.public_id)}
    )
    assert second.status_code == 422 and error_code(second) == "not_enough_points"
    member.refresh_from_db()
    assert member.balance == 0
    assert Coupon.objects.filter(member=member, status="issued").count() == 1


def test_api_cancel_returns_everything_and_is_idempotent(api, rshop):
    # given a one-per-member reward, the last one, redeemed through the API
    reward = RewardFactory(
        shop=rshop, name="Tote bag", points_cost=100, stock=1, per_member_limit=1
    )
    member = give(MemberFactory(shop=rshop), 100)
    redeemed = api.post(
        "/redemptions", {"member_id": str(member.public_id), "reward_id": str(reward.public_id)}
    ).json()
    assert redeemed["status"] == "completed"
    url = f"/redemptions/{redeemed['redemption_id']}/cancel"

    # when the integrator cancels it
    cancelled = api.post(url, {"note": "order returned"}, key="cancel-1")

    # then the points, the stock and the limit are back, and the coupon is cancelled
    assert cancelled.status_code == 200, cancelled.content
    body = cancelled.json()
    assert (body["status"], body["balance"], body["coupon"]["status"]) == (
        "cancelled",
        100,
        "cancelled",
    )
    reward.refresh_from_db()
    assert reward.stock == 1
    redemption = Redemption.objects.get(public_id=redeemed["redemption_id"])
    assert redemption.cancel_note == "order returned"
    # a replay answers the same; a new request for the same cancellation changes nothing more
    assert api.post(url, {"note": "order returned"}, key="cancel-1").json() == body
    again = api.post(url, {"note": "twice"})
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    assert reversals_of(redemption.entry) == 1
    member.refresh_from_db()
    assert member.balance == 100
    # the member may redeem it again: the limit counts completed redemptions only
    r = api.post(
        "/redemptions", {"member_id": str(member.public_id), "reward_id": str(reward.public_id)}
    )
    assert r.status_code == 201, r.content


def test_api_cancel_stops_an_open_delivery_and_refuses_a_shipped_one(api, rshop, rich):
    gift = RewardFactory(shop=rshop, kind="delivery", name="Mug", points_cost=100, stock=3)
    open_one = redeem(rich, gift, key="d1", address=ADDRESS)
    shipped = redeem(rich, gift, key="d2", address=ADDRESS)
    services.delivery_set_status(
        delivery=shipped.delivery,
        status="shipped",
        carrier="Kerry",
        tracking_number="KEX1",
        actor=Actor.system(),
    )

    r = api.post(f"/redemptions/{open_one.public_id}/cancel", {})
    assert r.status_code == 200, r.content
    assert r.json()["delivery"]["status"] == "cancelled"
    assert Delivery.objects.get(redemption=open_one).status == "cancelled"

    r = api.post(f"/redemptions/{shipped.public_id}/cancel", {})
    assert r.status_code == 422 and error_code(r) == "wrong_state"
    assert Delivery.objects.get(redemption=shipped).status == "shipped"
    rich.refresh_from_db()
    gift.refresh_from_db()
    assert (rich.balance, gift.stock) == (900, 2)


def test_another_shops_redemption_cannot_be_cancelled_or_its_points_reversed(api, rshop):
    # given a redemption in another shop
    other = ShopFactory()
    member = give(MemberFactory(shop=other), 100)
    theirs = redeem(member, RewardFactory(shop=other, points_cost=100))

    # when this shop's key cancels it, or reverses its points
    cancel = api.post(f"/redemptions/{theirs.public_id}/cancel", {})
    reverse_ = api.post(f"/points/{theirs.entry.public_id}/reverse", {})

    # then both look like unknown ids and nothing changed
    assert (cancel.status_code, reverse_.status_code) == (404, 404)
    theirs.refresh_from_db()
    assert theirs.status == "completed"
    assert Coupon.objects.get(redemption=theirs).status == "issued"
    assert unknown_id_is_404(api)


def unknown_id_is_404(api) -> bool:
    return api.post(f"/redemptions/{uuid.uuid4()}/cancel", {}).status_code == 404


def test_reversing_the_points_of_a_cancelled_redemption_is_refused_as_already_reversed(
    api, rich, reward
):
    # given a cancelled redemption
    redemption = redeem(rich, reward)
    services.redemption_cancel(redemption=redemption, note="x", actor=Actor.system())
    cancellation = LedgerEntry.objects.get(reversal_of=redemption.entry)

    # when its points, or the cancellation's reversal, are reversed through the API
    r1 = api.post(f"/points/{redemption.entry.public_id}/reverse", {})
    r2 = api.post(f"/points/{cancellation.public_id}/reverse", {})

    # then both are refused and the member's points are as the cancellation left them
    assert (r1.status_code, error_code(r1)) == (422, "cannot_reverse")
    assert "already been reversed" in r1.json()["error"]["message"]
    assert "Free latte" in r1.json()["error"]["message"]
    assert (r2.status_code, error_code(r2)) == (422, "cannot_reverse")
    rich.refresh_from_db()
    assert rich.balance == 1000
    assert reversals_of(redemption.entry) == 1


def test_the_refusal_is_in_thai_for_a_thai_client(api, rich, reward):
    redemption = redeem(rich, reward)
    r = api.post(f"/points/{redemption.entry.public_id}/reverse", {}, HTTP_ACCEPT_LANGUAGE="th")
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert "การแลกของรางวัล" in message and "Free latte" in message


def test_the_schema_lists_the_cancel_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/redemptions/{redemption_id}/cancel"]


# --- the back office ----------------------------------------------------------------------------


@pytest.fixture
def shop_redemption(shop):
    member = give(MemberFactory(shop=shop, first_name="Somchai"), 500)
    reward = RewardFactory(shop=shop, name="Free latte", points_cost=100, stock=5)
    return redeem(member, reward)


def test_admin_reverse_of_a_redemptions_points_shows_why_and_links_to_the_redemption(
    owner_client, shop_redemption
):
    # given the points entry of a redemption, opened from the member's page
    member = shop_redemption.member
    entry = shop_redemption.entry
    url = reverse("admin:members_member_reverse_entry", args=[member.pk, entry.public_id])
    redemption_page = reverse("admin:rewards_redemption_change", args=[shop_redemption.pk])

    # when the owner opens Reverse, and posts it anyway
    page = owner_client.get(url)
    posted = owner_client.post(url, {"note": "refund", "idempotency_key": str(uuid.uuid4())})

    # then both show the refusal naming the redemption, with a link to it, and nothing changed
    for response in (page, posted):
        html = response.content.decode()
        assert response.status_code == 200
        assert 'data-testid="reverse-refused"' in html
        assert "Free latte" in html and str(shop_redemption.public_id) in html
        assert f'href="{redemption_page}"' in html
        assert 'name="note"' not in html
    assert reversals_of(entry) == 0
    member.refresh_from_db()
    assert member.balance == 400


def test_the_points_panel_links_a_redemptions_points_to_the_redemption(
    owner_client, shop_redemption
):
    member = shop_redemption.member
    response = owner_client.get(reverse("admin:members_member_change", args=[member.pk]))
    html = response.content.decode()
    redemption_page = reverse("admin:rewards_redemption_change", args=[shop_redemption.pk])
    redeem_reverse = reverse(
        "admin:members_member_reverse_entry", args=[member.pk, shop_redemption.entry.public_id]
    )
    assert f'href="{redemption_page}"' in html
    assert redeem_reverse not in html
    # the ledger's own entry (the adjustment that gave the points) can still be reversed
    adjustment = LedgerEntry.objects.get(member=member, kind=EntryKind.ADJUST)
    assert (
        reverse("admin:members_member_reverse_entry", args=[member.pk, adjustment.public_id])
        in html
    )


def test_manager_cancels_one_redemption_from_its_page(manager_client, shop_redemption):
    # given the redemption's page offers "Cancel and return the points"
    page = reverse("admin:rewards_redemption_change", args=[shop_redemption.pk])
    cancel = reverse("admin:rewards_redemption_cancel_redemption", args=[shop_redemption.pk])
    assert cancel in manager_client.get(page).content.decode()

    # when the manager confirms it with a reason
    assert manager_client.get(cancel).status_code == 200
    response = manager_client.post(cancel, {"note": "wrong reward"})

    # then the redemption is cancelled with the reason, the points and the stock are back
    assert response.status_code == 302 and response["Location"] == page
    shop_redemption.refresh_from_db()
    assert (shop_redemption.status, shop_redemption.cancel_note) == ("cancelled", "wrong reward")
    member = shop_redemption.member
    member.refresh_from_db()
    assert member.balance == 500
    assert Coupon.objects.get(redemption=shop_redemption).status == "cancelled"


def test_a_used_coupons_redemption_is_refused_on_its_cancel_page(manager_client, shop_redemption):
    services.coupon_use(
        shop=shop_redemption.shop, code=shop_redemption.coupon.code, branch=None, actor=MEMBER
    )
    cancel = reverse("admin:rewards_redemption_cancel_redemption", args=[shop_redemption.pk])
    response = manager_client.post(cancel, {"note": "x"})
    assert response.status_code == 200
    assert "coupon has been used" in response.content.decode()
    shop_redemption.refresh_from_db()
    assert shop_redemption.status == "completed"


def test_another_shops_redemption_has_no_cancel_page(manager_client, other_shop):
    member = give(MemberFactory(shop=other_shop), 100)
    theirs = redeem(member, RewardFactory(shop=other_shop, points_cost=100))
    cancel = reverse("admin:rewards_redemption_cancel_redemption", args=[theirs.pk])
    assert manager_client.post(cancel, {"note": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "completed"


def test_a_cannot_reverse_error_is_still_a_cannot_reverse(rich, reward):
    """Callers that catch CannotReverse (the staff app's void) also catch the new refusal."""
    redemption = redeem(rich, reward)
    with pytest.raises(CannotReverse):
        ledger.entry_reverse(
            entry=redemption.entry, note="x", idempotency_key="k", actor=Actor.system()
        )


# --- redemptions left open by direct reversals made before the rule ------------------------------


def test_the_command_finds_and_cancels_redemptions_whose_points_were_reversed_alone(rich, rshop):
    from io import StringIO

    from django.core.management import call_command

    # given three redemptions whose debits were reversed on their own (as the API allowed), one of
    # them with its coupon used since, and one redemption left alone
    reward = RewardFactory(shop=rshop, name="Free latte", points_cost=100, stock=10)
    left_open = [redeem(rich, reward, key=f"old-{i}") for i in range(3)]
    untouched = redeem(rich, reward, key="fine")
    for redemption in left_open:
        ledger.entry_reverse(
            entry=redemption.entry,
            note="old direct reversal",
            idempotency_key=f"legacy-{redemption.pk}",
            actor=Actor.system(),
            as_owner="redemption",
        )
    services.coupon_use(shop=rshop, code=left_open[2].coupon.code, branch=None, actor=MEMBER)

    # when the operator lists them, then cancels them
    listed = StringIO()
    with pytest.raises(SystemExit) as exit_listed:
        call_command("cancel_reversed_redemptions", stdout=listed)
    done = StringIO()
    with pytest.raises(SystemExit) as exit_done:
        call_command("cancel_reversed_redemptions", "--commit", stdout=done)

    # then the list named the three; the two that could be were cancelled without returning the
    # points twice; the used one is reported; the untouched redemption stayed completed
    assert exit_listed.value.code == exit_done.value.code == 1
    assert all(str(r.public_id) in listed.getvalue() for r in left_open)
    assert str(untouched.public_id) not in listed.getvalue()
    assert "2 cancelled, 1 refused" in done.getvalue()
    statuses = [Redemption.objects.get(pk=r.pk).status for r in [*left_open, untouched]]
    assert statuses == ["cancelled", "cancelled", "completed", "completed"]
    rich.refresh_from_db()
    reward.refresh_from_db()
    assert (rich.balance, reward.stock) == (1000 - 100, 10 - 2)
    assert all(reversals_of(r.entry) == 1 for r in left_open)
