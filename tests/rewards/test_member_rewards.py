"""The member's reward pages: the catalogue and why a reward cannot be redeemed, redeeming (once per
rendered key), deliveries, codes for other platforms, redeeming at the counter, my coupons, and
that no page shows or touches another shop's or another member's rewards."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from loyalty.dates import format_display_date
from members.ledger.actors import Actor
from members.models import Member
from rewards import services
from rewards.barcodes import QUIET_ZONE, code128_modules, code128_svg
from rewards.models import Coupon, Delivery, Redemption, Reward, RewardCode, SavedAddress, SpotCode
from rewards.pages.urls import urlpatterns
from shops.models import Shop
from tests.factories import BranchFactory, MemberFactory, RewardFactory, UserFactory
from tests.members.pages.conftest import (
    SOMCHAI,
    fake_line,
    liff_sign_in,
    line_shop,
    other_line_shop,
    tiers_for,
)
from tests.members.pages.conftest import member_client as _member_client
from tests.rewards.conftest import give

__all__ = ["fake_line", "line_shop", "other_line_shop"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

member_client = _member_client
SLUG = "cafe"
ADDRESS = {
    "recipient": "Somchai Jaidee",
    "phone": "081-234-5678",
    "address": "99 Sukhumvit Rd, Khlong Toei, Bangkok",
    "postcode": "10110",
}


def url(name: str, slug: str = SLUG, **kwargs) -> str:
    return reverse(f"rewards:{name}", kwargs={"shop_slug": slug, **kwargs})


def detail_url(reward, slug=SLUG):
    return url("detail", slug, reward_id=reward.public_id)


def redeem_url(reward, slug=SLUG):
    return url("redeem", slug, reward_id=reward.public_id)


def coupon_url(redemption, slug=SLUG):
    return url("coupon", slug, redemption_id=redemption.public_id)


def delivery_url(redemption, slug=SLUG):
    return url("delivery", slug, redemption_id=redemption.public_id)


def rendered_key(response) -> str:
    match = re.search(r'name="key" value="([0-9a-f-]{36})"', response.content.decode())
    assert match, "no idempotency key in the form"
    return match.group(1)


def shown_offers(response) -> list[tuple[str, str]]:
    """(reward name, why-not reason) of each tile, in page order."""
    return [(o.reward.name, o.reason) for o in response.context["catalogue"].offers]


def reload(member: Member) -> Member:
    member.refresh_from_db()
    return member


def redeem_directly(member, reward, key, **kwargs):
    return services.reward_redeem(
        member=member, reward=reward, idempotency_key=key, actor=Actor.member(), **kwargs
    )[0]


@pytest.fixture
def member(member_client):
    """The signed-in member (50 welcome points) with 200 more: 250 to spend."""
    return give(member_client.member, 200)


# --- the catalogue --------------------------------------------------------------------------------


def test_catalogue_shows_what_the_member_can_redeem_first_and_why_not_for_each_other(
    member_client, member, line_shop
):
    # given a catalogue with one reward for every reason, in the shop's order
    now = timezone.now()
    silver, gold = tiers_for(line_shop)
    Member.objects.filter(pk=member.pk).update(tier=silver)
    gold_only = RewardFactory(shop=line_shop, name="Gold lounge", points_cost=10, order=1)
    gold_only.allowed_tiers.add(gold)
    RewardFactory(shop=line_shop, name="Big hamper", points_cost=400, order=2)
    RewardFactory(shop=line_shop, name="Sold out mug", points_cost=10, stock=0, order=3)
    RewardFactory(
        shop=line_shop,
        name="New year cake",
        points_cost=10,
        order=4,
        active_from=now + dt.timedelta(days=3),
    )
    once = RewardFactory(shop=line_shop, name="Once only", points_cost=10, per_member_limit=1)
    once.order = 5
    once.save()
    redeem_directly(member, once, "once-1")
    RewardFactory(shop=line_shop, name="Free latte", points_cost=100, order=6)
    empty_pool = RewardFactory(
        shop=line_shop, name="Shopee voucher", points_cost=10, kind="custom_code", order=7
    )
    RewardFactory(shop=line_shop, name="Hidden draft", is_active=False)
    RewardFactory(shop=line_shop, name="Shown later", visible_from=now + dt.timedelta(days=1))
    RewardFactory(shop=line_shop, name="No longer shown", visible_until=now - dt.timedelta(days=1))

    # when
    response = member_client.get(url("catalogue"))

    # then redeemable first, then points short, then not yet open, then the rest
    assert response.status_code == 200
    assert shown_offers(response) == [
        ("Free latte", ""),
        ("Big hamper", "points"),
        ("New year cake", "not_yet_open"),
        ("Gold lounge", "tier"),
        ("Sold out mug", "out_of_stock"),
        ("Once only", "limit"),
        ("Shopee voucher", "out_of_stock"),  # a pool with no free code
    ]
    html = response.content.decode()
    for hidden in ("Hidden draft", "Shown later", "No longer shown"):
        assert hidden not in html
    assert "160 more points" in html  # 240 left after "Once only", the hamper costs 400
    assert "For Gold members only" in html
    assert "Out of stock" in html
    opens = format_display_date(
        now + dt.timedelta(days=3), buddhist_era=True, language="en", with_time=True
    )
    assert f"Opens on {opens}" in html
    assert "You have used all your redemptions of this reward" in html
    assert 'data-testid="spendable"' in html and ">240<" in html
    assert empty_pool.name in html


def test_catalogue_says_a_member_with_points_debt_cannot_redeem(member_client, member, line_shop):
    RewardFactory(shop=line_shop, name="Free latte", points_cost=10)
    Member.objects.filter(pk=member.pk).update(debt=30)

    response = member_client.get(url("catalogue"))

    assert shown_offers(response) == [("Free latte", "debt")]
    assert "30 below zero" in response.content.decode()


def test_catalogue_costs_the_same_queries_for_three_rewards_as_for_thirty(
    member_client, member, line_shop, django_assert_num_queries
):
    # given three rewards of every kind of rule
    silver, gold = tiers_for(line_shop)

    def add_rewards(n):
        for i in range(n):
            reward = RewardFactory(
                shop=line_shop,
                points_cost=10 + i,
                stock=5 if i % 2 else None,
                per_member_limit=2 if i % 3 else None,
                kind="custom_code" if i % 4 == 0 else "auto_code",
            )
            reward.allowed_tiers.add(gold if i % 2 else silver)
            if reward.kind == "custom_code":
                RewardCode.objects.create(shop=line_shop, reward=reward, code=f"SHP-{reward.pk}")

    Member.objects.filter(pk=member.pk).update(tier=silver)
    add_rewards(3)
    redeem_directly(reload(member), Reward.objects.filter(shop=line_shop).first(), "seed")
    # session, member (with shop and tier), rewards (with free pool codes), their tiers,
    # the member's redemptions per reward, the member's open lots
    with django_assert_num_queries(6):
        first = member_client.get(url("catalogue"))
    assert len(first.context["catalogue"].offers) == 3

    # when the catalogue grows tenfold
    add_rewards(27)

    # then the page costs the same
    with django_assert_num_queries(6):
        response = member_client.get(url("catalogue"))
    assert len(response.context["catalogue"].offers) == 30


def test_catalogue_is_empty_with_a_friendly_message(member_client):
    response = member_client.get(url("catalogue"))

    assert response.status_code == 200
    assert 'data-testid="no-rewards"' in response.content.decode()


def test_the_card_and_the_tab_bar_link_to_the_catalogue(member_client):
    response = member_client.get(reverse("member:card", kwargs={"shop_slug": SLUG}))

    html = response.content.decode()
    assert f'href="{url("catalogue")}"' in html
    assert 'class="m-tab is-soon"' not in html


# --- a reward's page ------------------------------------------------------------------------------


def test_reward_page_shows_cost_stock_left_validity_description_and_terms(
    member_client, member, line_shop
):
    reward = RewardFactory(
        shop=line_shop,
        name="Free latte",
        points_cost=120,
        stock=3,
        coupon_validity_days=14,
        description="Any size, hot or iced.",
        terms="One per visit. Not with other offers.",
    )

    response = member_client.get(detail_url(reward))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Free latte" in html and 'data-testid="cost">120<' in html
    assert "3 left" in html
    assert "Coupon valid for 14 days after redeeming" in html
    assert "Any size, hot or iced." in html
    assert "One per visit. Not with other offers." in html
    assert f'href="{redeem_url(reward)}"' in html


def test_reward_page_says_why_not_instead_of_a_redeem_button(member_client, member, line_shop):
    reward = RewardFactory(shop=line_shop, name="Big hamper", points_cost=1000)

    response = member_client.get(detail_url(reward))

    html = response.content.decode()
    assert "750 more points" in html
    assert redeem_url(reward) not in html


def test_reward_page_of_a_reward_not_yet_open_says_when_it_opens(member_client, line_shop):
    opens = timezone.now() + dt.timedelta(days=2)
    reward = RewardFactory(shop=line_shop, name="Cake", active_from=opens)

    response = member_client.get(detail_url(reward))

    shown = format_display_date(opens, buddhist_era=True, language="en", with_time=True)
    assert f"Opens on {shown}" in response.content.decode()


# --- redeeming ------------------------------------------------------------------------------------


def test_redeeming_an_auto_code_reward_shows_its_coupon_with_code_qr_and_barcode(
    member_client, member, line_shop
):
    reward = RewardFactory(
        shop=line_shop, name="Free latte", points_cost=100, stock=5, terms="Hot or iced."
    )

    # given the confirmation page, which tells what is left after redeeming
    confirm = member_client.get(redeem_url(reward))
    assert confirm.status_code == 200
    assert 'data-testid="balance-after">150<' in confirm.content.decode()

    # when the member confirms
    response = member_client.post(redeem_url(reward), {"key": rendered_key(confirm)})

    # then the points and the stock moved, and the coupon page shows the code three ways
    redemption = Redemption.objects.get(member=member)
    assert response.status_code == 302
    assert response["Location"] == coupon_url(redemption)
    assert reload(member).balance == 150
    reward.refresh_from_db()
    assert reward.stock == 4
    assert redemption.idempotency_key.startswith("member:")
    page = member_client.get(response["Location"])
    html = page.content.decode()
    code = redemption.coupon.code
    assert f"{code[:4]} {code[4:]}" in html
    assert 'class="member-qr-svg"' in html
    assert 'class="r-barcode-svg"' in html and f"Barcode {code}" in html
    assert "Hot or iced." in html
    valid = format_display_date(redemption.coupon.expires_on, buddhist_era=True, language="en")
    assert f"Valid until {valid}" in html


def test_a_double_submit_with_the_same_key_redeems_only_once(member_client, member, line_shop):
    reward = RewardFactory(shop=line_shop, name="Free latte", points_cost=100)
    key = rendered_key(member_client.get(redeem_url(reward)))

    first = member_client.post(redeem_url(reward), {"key": key})
    second = member_client.post(redeem_url(reward), {"key": key})

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Redemption.objects.filter(member=member).count() == 1
    assert reload(member).balance == 150


def test_the_confirmation_page_of_a_reward_out_of_reach_sends_back_to_the_reward(
    member_client, member, line_shop
):
    reward = RewardFactory(shop=line_shop, points_cost=1000)

    response = member_client.get(redeem_url(reward))

    assert response.status_code == 302 and response["Location"] == detail_url(reward)


def test_every_confirmation_page_renders_a_new_key(member_client, member, line_shop):
    reward = RewardFactory(shop=line_shop, points_cost=10)

    keys = {rendered_key(member_client.get(redeem_url(reward))) for _ in range(2)}

    assert len(keys) == 2


def test_a_key_reused_for_another_reward_redeems_nothing(member_client, member, line_shop):
    latte = RewardFactory(shop=line_shop, name="Latte", points_cost=10)
    mocha = RewardFactory(shop=line_shop, name="Mocha", points_cost=10)
    key = rendered_key(member_client.get(redeem_url(latte)))
    member_client.post(redeem_url(latte), {"key": key})

    response = member_client.post(redeem_url(mocha), {"key": key})

    assert response.status_code == 409
    assert "already used for another reward" in response.content.decode()
    assert Redemption.objects.filter(member=member).count() == 1


def test_a_post_without_its_key_redeems_nothing_and_offers_a_fresh_form(
    member_client, member, line_shop
):
    reward = RewardFactory(shop=line_shop, points_cost=10)

    response = member_client.post(redeem_url(reward), {"key": "not-a-uuid"})

    assert response.status_code == 400
    assert rendered_key(response)
    assert not Redemption.objects.exists()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"points_cost": 1000}, "Not enough points: 250 available, 1000 needed."),
        ({"stock": 0}, "Sorry, this reward is out of stock."),
        ({"tier": True}, "This reward is for members of these tiers: Gold."),
        ({"limit": True}, "You have already redeemed this reward 1 times, the most allowed."),
        ({"opens": True}, "This reward opens on"),
        ({"closed": True}, "This reward has closed."),
    ],
    ids=["points", "stock", "tier", "limit", "not-yet-open", "closed"],
)
def test_each_refusal_is_shown_on_the_page_and_nothing_changes(
    member_client, member, line_shop, setup, message
):
    # given a reward the member cannot redeem for one reason
    now = timezone.now()
    fields = {"points_cost": setup.get("points_cost", 10), "stock": setup.get("stock")}
    if setup.get("opens"):
        fields["active_from"] = now + dt.timedelta(days=1)
    if setup.get("closed"):
        fields["active_until"] = now - dt.timedelta(hours=1)
    if setup.get("limit"):
        fields["per_member_limit"] = 1
    reward = RewardFactory(shop=line_shop, name="Latte", **fields)
    if setup.get("tier"):
        _silver, gold = tiers_for(line_shop)
        reward.allowed_tiers.add(gold)
    if setup.get("limit"):
        redeem_directly(member, reward, "earlier")
    balance_before = reload(member).balance
    redemptions_before = Redemption.objects.count()

    # when the member confirms anyway (a page opened before the rule changed)
    response = member_client.post(
        redeem_url(reward), {"key": "6f1c1d9e-8f0e-4a5b-9a57-0c5d7b1e2f3a"}
    )

    # then the service's message is on the page and nothing moved
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert "Nothing was redeemed and no points were used." in html
    assert reload(member).balance == balance_before
    assert Redemption.objects.count() == redemptions_before


def test_a_member_with_points_debt_is_told_in_their_own_words(member_client, member, line_shop):
    reward = RewardFactory(shop=line_shop, points_cost=10)
    Member.objects.filter(pk=member.pk).update(debt=5)

    response = member_client.post(
        redeem_url(reward), {"key": "0b8c8a52-4a9e-4f55-bb1c-6a7d2f3e4a5b"}
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "Your points are below zero after a refund" in html
    assert "This member owes" not in html
    assert not Redemption.objects.exists()


# --- delivered rewards ----------------------------------------------------------------------------


def test_a_delivery_without_an_address_says_so_and_writes_nothing(member_client, member, line_shop):
    reward = RewardFactory(shop=line_shop, name="Tote bag", kind="delivery", points_cost=50)
    key = rendered_key(member_client.get(redeem_url(reward)))

    response = member_client.post(
        redeem_url(reward),
        {"key": key, "saved": "new", "recipient": "", "phone": "", "address": "", "postcode": ""},
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "Enter the delivery address." in html
    assert "Nothing was redeemed and no points were used." in html
    assert not Redemption.objects.exists() and not Delivery.objects.exists()
    assert not SavedAddress.objects.exists()
    assert reload(member).balance == 250


def test_a_delivery_with_a_bad_postcode_points_at_the_postcode(member_client, member, line_shop):
    reward = RewardFactory(shop=line_shop, kind="delivery", points_cost=50)
    key = rendered_key(member_client.get(redeem_url(reward)))

    response = member_client.post(
        redeem_url(reward), {"key": key, "saved": "new", **ADDRESS, "postcode": "101"}
    )

    assert response.status_code == 422
    assert response.context["form"].errors["postcode"] == ["A Thai postcode has 5 digits."]
    assert not Redemption.objects.exists()


def test_a_delivery_with_an_address_goes_to_its_tracking_page_and_keeps_the_address(
    member_client, member, line_shop
):
    reward = RewardFactory(
        shop=line_shop, name="Tote bag", kind="delivery", points_cost=50, terms="Ships in 7 days."
    )
    confirm = member_client.get(redeem_url(reward))
    # the form starts with the member's own name and phone
    assert confirm.context["form"].initial["recipient"] == "Somchai Jaidee"
    assert "{#" not in confirm.content.decode() and "(optional)" not in confirm.content.decode()

    response = member_client.post(
        redeem_url(reward), {"key": rendered_key(confirm), "saved": "new", **ADDRESS}
    )

    redemption = Redemption.objects.get(member=member)
    assert response["Location"] == delivery_url(redemption)
    assert reload(member).balance == 200
    page = member_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Tote bag" in html and "Ships in 7 days." in html
    assert "99 Sukhumvit Rd, Khlong Toei, Bangkok" in html and "081-234-5678" in html
    steps = [(s.status, s.done, s.current) for s in page.context["steps"]]
    assert steps == [
        ("pending", True, True),
        ("preparing", False, False),
        ("shipped", False, False),
        ("delivered", False, False),
    ]
    saved = SavedAddress.objects.get(member=member)
    assert saved.postcode == "10110"

    # and the next delivered reward offers the saved address, chosen already
    again = member_client.get(redeem_url(reward))
    assert again.context["form"].initial["saved"] == str(saved.pk)
    second = member_client.post(
        redeem_url(reward), {"key": rendered_key(again), "saved": str(saved.pk)}
    )
    assert second.status_code == 302
    assert Delivery.objects.filter(member=member, postcode="10110").count() == 2
    assert SavedAddress.objects.filter(member=member).count() == 1


def test_another_members_saved_address_cannot_be_chosen(member_client, member, line_shop):
    reward = RewardFactory(shop=line_shop, kind="delivery", points_cost=50)
    stranger = MemberFactory(shop=line_shop)
    theirs = SavedAddress.objects.create(
        shop=line_shop, member=stranger, recipient="Other", phone="+66899999999",
        address="1 Secret Rd", postcode="50000",
    )  # fmt: skip
    key = rendered_key(member_client.get(redeem_url(reward)))

    response = member_client.post(redeem_url(reward), {"key": key, "saved": str(theirs.pk)})

    assert response.status_code == 400
    assert not Delivery.objects.exists()


def test_delivery_page_follows_preparing_shipped_with_tracking_and_delivered(
    member_client, member, line_shop
):
    reward = RewardFactory(shop=line_shop, kind="delivery", points_cost=50)
    address = services.Address(**ADDRESS)
    redemption = redeem_directly(member, reward, "tote", address=address)
    delivery = redemption.delivery
    actor = Actor.system()

    services.delivery_set_status(delivery=delivery, status="preparing", actor=actor)
    services.delivery_set_status(
        delivery=delivery, status="shipped", actor=actor, carrier="Kerry", tracking_number="KEX123"
    )
    page = member_client.get(delivery_url(redemption))

    html = page.content.decode()
    assert "Kerry" in html and "KEX123" in html and 'data-copy="KEX123"' in html
    assert [s.status for s in page.context["steps"] if s.current] == ["shipped"]

    services.delivery_set_status(delivery=delivery, status="delivered", actor=actor)
    page = member_client.get(delivery_url(redemption))
    assert all(s.done for s in page.context["steps"])


def test_a_cancelled_delivery_says_the_points_were_returned(member_client, member, line_shop):
    reward = RewardFactory(shop=line_shop, kind="delivery", points_cost=50)
    redemption = redeem_directly(member, reward, "tote", address=services.Address(**ADDRESS))
    services.delivery_set_status(
        delivery=redemption.delivery, status="cancelled", actor=Actor.system()
    )

    page = member_client.get(delivery_url(redemption))

    assert "cancelled and your 50 points were returned" in page.content.decode()
    assert reload(member).balance == 250
    listing = member_client.get(url("deliveries"))
    assert len(listing.context["lines"]) == 1


# --- codes for other platforms --------------------------------------------------------------------


def test_a_pool_code_is_shown_with_a_copy_button_and_its_platform(member_client, member, line_shop):
    reward = RewardFactory(
        shop=line_shop, name="฿50 off", kind="custom_code", platform="Shopee", points_cost=20
    )
    services.reward_codes_add(reward=reward, codes=["SHP-AAA-111", "SHP-BBB-222"])
    key = rendered_key(member_client.get(redeem_url(reward)))

    response = member_client.post(redeem_url(reward), {"key": key}, follow=True)

    html = response.content.decode()
    assert "Your code for Shopee" in html
    assert 'data-copy="SHP-AAA-111"' in html
    assert "SHP-BBB-222" not in html
    assert 'class="member-qr-svg"' not in html  # nothing for the store's scanner
    assert RewardCode.objects.get(code="SHP-AAA-111").redemption.member == member


def test_a_shared_code_is_shown_to_everyone_who_redeems(member_client, member, line_shop):
    reward = RewardFactory(
        shop=line_shop,
        kind="custom_code",
        code_source="shared",
        shared_code="LAZADA2026",
        platform="Lazada",
        points_cost=20,
    )
    other = give(MemberFactory(shop=line_shop), 100)
    redeem_directly(other, reward, "other")
    key = rendered_key(member_client.get(redeem_url(reward)))

    response = member_client.post(redeem_url(reward), {"key": key}, follow=True)

    assert 'data-copy="LAZADA2026"' in response.content.decode()
    assert Coupon.objects.filter(external_code="LAZADA2026").count() == 2


def test_the_coupon_shows_the_redemptions_snapshot_not_the_reward_of_today(
    member_client, member, line_shop
):
    reward = RewardFactory(shop=line_shop, name="Free latte", terms="Hot only.")
    redemption = redeem_directly(member, reward, "latte")
    Reward.objects.filter(pk=reward.pk).update(name="Renamed reward", terms="New terms.")

    html = member_client.get(coupon_url(redemption)).content.decode()

    assert "Free latte" in html and "Hot only." in html
    assert "Renamed reward" not in html and "New terms." not in html


# --- redeem at the counter ------------------------------------------------------------------------


@pytest.fixture
def counter_reward(line_shop):
    return RewardFactory(shop=line_shop, name="Croissant", points_cost=40, spot_redemption=True)


def counter_url(reward, slug=SLUG):
    return url("counter", slug, reward_id=reward.public_id)


def test_redeeming_at_the_counter_shows_a_six_digit_code_and_deducts_nothing(
    member_client, member, counter_reward
):
    detail = member_client.get(detail_url(counter_reward))
    assert f'action="{counter_url(counter_reward)}"' in detail.content.decode()
    assert redeem_url(counter_reward) not in detail.content.decode()

    response = member_client.post(counter_url(counter_reward))

    assert response.status_code == 302 and response["Location"] == counter_url(counter_reward)
    page = member_client.get(response["Location"])
    spot = SpotCode.objects.get(member=member)
    assert re.fullmatch(r"\d{6}", spot.code)
    html = page.content.decode()
    assert f"{spot.code[:3]}&thinsp;{spot.code[3:]}" in html
    assert page.context["state"] == "open"
    assert 290 <= page.context["seconds_left"] <= 300
    assert re.search(r"data-countdown>[45]:\d\d<", html)
    assert reload(member).balance == 250
    assert not Redemption.objects.exists()


def test_a_second_tap_at_the_counter_shows_the_same_open_code(
    member_client, member, counter_reward
):
    member_client.post(counter_url(counter_reward))
    member_client.post(counter_url(counter_reward))

    assert SpotCode.objects.filter(member=member).count() == 1


def test_the_counter_page_moves_on_to_the_coupon_once_the_cashier_confirms(
    member_client, member, counter_reward, line_shop
):
    member_client.post(counter_url(counter_reward))
    spot = SpotCode.objects.get(member=member)
    status_url = url("counter_status", reward_id=counter_reward.public_id)
    assert member_client.get(status_url).json()["state"] == "open"

    # when the cashier confirms the code
    cashier = UserFactory(shop=line_shop, role="cashier")
    branch = BranchFactory(shop=line_shop)
    redemption = services.spot_code_confirm(
        shop=line_shop, code=spot.code, branch=branch, actor=Actor.staff(cashier)
    )

    # then the page learns it and links to the (used) coupon
    status = member_client.get(status_url).json()
    assert status == {"state": "confirmed", "url": coupon_url(redemption)}
    page = member_client.get(counter_url(counter_reward))
    assert page.context["state"] == "confirmed"
    assert f'href="{coupon_url(redemption)}"' in page.content.decode()
    assert reload(member).balance == 210
    coupon = member_client.get(coupon_url(redemption))
    assert coupon.context["state"] == "used"


def test_a_lapsed_counter_code_deducts_nothing_and_offers_a_new_one(
    member_client, member, counter_reward
):
    member_client.post(counter_url(counter_reward))

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        page = member_client.get(counter_url(counter_reward))
        status = member_client.get(url("counter_status", reward_id=counter_reward.public_id))

    assert page.context["state"] == "lapsed"
    assert "This code has lapsed" in page.content.decode()
    assert status.json() == {"state": "lapsed"}
    assert reload(member).balance == 250


def test_the_counter_refuses_a_member_short_of_points_with_a_message(
    member_client, member, line_shop
):
    reward = RewardFactory(shop=line_shop, points_cost=900, spot_redemption=True)

    response = member_client.post(counter_url(reward), follow=True)

    assert "Not enough points: 250 available, 900 needed." in response.content.decode()
    assert not SpotCode.objects.exists()


def test_a_counter_reward_cannot_be_redeemed_online_and_an_online_one_not_at_the_counter(
    member_client, member, counter_reward, line_shop
):
    online = RewardFactory(shop=line_shop, points_cost=10)

    assert member_client.post(redeem_url(counter_reward), {"key": "x"}).status_code == 302
    assert member_client.post(counter_url(online)).status_code == 404
    assert not Redemption.objects.exists() and not SpotCode.objects.exists()


# --- my coupons -----------------------------------------------------------------------------------


def test_my_coupons_are_sorted_into_active_used_expired_and_cancelled_tabs(
    member_client, member, line_shop
):
    # given one coupon in each state
    rewards = {
        name: RewardFactory(shop=line_shop, name=name, points_cost=10)
        for name in ("Ready", "Used", "Old", "Lapsed today", "Cancelled")
    }
    coupons = {name: redeem_directly(member, r, name).coupon for name, r in rewards.items()}
    services.coupon_use(
        shop=line_shop, code=coupons["Used"].code, branch=None, actor=Actor.system()
    )
    Coupon.objects.filter(pk=coupons["Old"].pk).update(status="expired")
    # past its last day, not yet marked by the nightly job
    Coupon.objects.filter(pk=coupons["Lapsed today"].pk).update(
        expires_on=timezone.localdate() - dt.timedelta(days=1)
    )
    services.redemption_cancel(
        redemption=coupons["Cancelled"].redemption, note="", actor=Actor.system()
    )

    def names(tab):
        response = member_client.get(url("coupons"), {"tab": tab} if tab else {})
        assert response.status_code == 200
        return response, sorted(line.redemption.reward_name for line in response.context["lines"])

    # then each tab holds its own, with counts on the tabs
    default, active = names(None)
    assert active == ["Ready"]
    assert names("used")[1] == ["Used"]
    assert names("expired")[1] == ["Lapsed today", "Old"]
    assert names("cancelled")[1] == ["Cancelled"]
    assert names("nonsense")[1] == ["Ready"]
    assert default.context["tabs"] == [
        ("active", "Ready to use", 1),
        ("used", "Used", 1),
        ("expired", "Expired", 2),
        ("cancelled", "Cancelled", 1),
    ]
    # and a coupon that is not active shows no code to scan
    used = member_client.get(coupon_url(coupons["Used"].redemption))
    assert 'class="member-qr-svg"' not in used.content.decode()
    assert used.context["state"] == "used"


def test_the_cancelled_tab_appears_only_when_there_is_a_cancelled_coupon(member_client, member):
    response = member_client.get(url("coupons"))

    assert [key for key, _label, _n in response.context["tabs"]] == ["active", "used", "expired"]


def test_coupon_dates_are_shown_in_thai_with_buddhist_era_years(member_client, member, line_shop):
    Shop.objects.filter(pk=line_shop.pk).update(language="th")  # the member pages' language
    redemption = redeem_directly(member, RewardFactory(shop=line_shop, points_cost=10), "th")

    html = member_client.get(coupon_url(redemption)).content.decode()

    expires = redemption.coupon.expires_on
    assert format_display_date(expires, buddhist_era=True, language="th") in html
    assert str(expires.year + 543) in html


def test_coupon_dates_use_common_era_years_when_the_shop_says_so(member_client, member, line_shop):
    Shop.objects.filter(pk=line_shop.pk).update(use_buddhist_era=False)
    redemption = redeem_directly(member, RewardFactory(shop=line_shop, points_cost=10), "ce")

    html = member_client.get(coupon_url(redemption)).content.decode()

    expires = redemption.coupon.expires_on
    assert f"Valid until {format_display_date(expires, buddhist_era=False, language='en')}" in html
    assert str(expires.year + 543) not in html


def test_barcode_draws_exactly_the_code128_modules_of_the_code():
    svg = code128_svg("ACDE3467")
    modules = code128_modules("ACDE3467")

    drawn = ["0"] * len(modules)
    for x, width in re.findall(r"M(\d+) 0h(\d+)v", svg):
        for i in range(int(x) - QUIET_ZONE, int(x) - QUIET_ZONE + int(width)):
            drawn[i] = "1"
    assert "".join(drawn) == modules
    assert modules.startswith("11010010000")  # Code128 start B
    assert modules.endswith("1100011101011")  # stop symbol


# --- tenancy --------------------------------------------------------------------------------------


def test_another_shops_reward_coupon_and_delivery_are_not_found(
    member_client, member, other_line_shop
):
    # given rewards redeemed by a member of shop B
    theirs = RewardFactory(shop=other_line_shop, name="SHOP-B-REWARD", points_cost=10)
    b_member = give(MemberFactory(shop=other_line_shop), 100)
    coupon_of_b = redeem_directly(b_member, theirs, "b1")
    gift_of_b = RewardFactory(shop=other_line_shop, kind="delivery", points_cost=10)
    delivery_of_b = redeem_directly(b_member, gift_of_b, "b2", address=services.Address(**ADDRESS))

    # when the member of shop A asks for them on A's pages
    responses = [
        member_client.get(detail_url(theirs)),
        member_client.get(redeem_url(theirs)),
        member_client.post(redeem_url(theirs), {"key": "4b0f2d6e-2f7a-4b8e-9c1d-3e5f7a9b1c2d"}),
        member_client.post(counter_url(theirs)),
        member_client.get(url("counter_status", reward_id=theirs.public_id)),
        member_client.get(coupon_url(coupon_of_b)),
        member_client.get(delivery_url(delivery_of_b)),
        member_client.get(coupon_url(delivery_of_b)),
    ]

    # then none exists, and nothing was written
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert Redemption.objects.filter(member=member).count() == 0
    assert not SpotCode.objects.exists()
    catalogue = member_client.get(url("catalogue")).content.decode()
    assert "SHOP-B-REWARD" not in catalogue


def test_another_members_coupon_and_delivery_of_the_same_shop_are_not_found(
    member_client, member, line_shop
):
    neighbour = give(MemberFactory(shop=line_shop), 100)
    coupon = redeem_directly(neighbour, RewardFactory(shop=line_shop, points_cost=10), "n1")
    gift = RewardFactory(shop=line_shop, kind="delivery", points_cost=10)
    delivery = redeem_directly(neighbour, gift, "n2", address=services.Address(**ADDRESS))

    assert member_client.get(coupon_url(coupon)).status_code == 404
    assert member_client.get(delivery_url(delivery)).status_code == 404
    assert member_client.get(url("coupons")).context["lines"] == []
    assert member_client.get(url("deliveries")).context["lines"] == []


NAMES = [p.name for p in urlpatterns]


@pytest.mark.parametrize("name", NAMES)
def test_a_member_signed_in_to_another_shop_is_a_stranger_on_this_shops_reward_pages(
    client, fake_line, line_shop, other_line_shop, name
):
    # given Somchai is a member of shop B only, signed in there, and shop A has a reward
    liff_sign_in(client, fake_line, other_line_shop, SOMCHAI)
    MemberFactory(shop=other_line_shop, line_user_id=SOMCHAI)
    reward = RewardFactory(shop=line_shop, name="A-ONLY-REWARD", points_cost=1)
    a_member = give(MemberFactory(shop=line_shop, first_name="A-MEMBER"), 100)
    redemption = redeem_directly(a_member, reward, "a1")
    kwargs = {}
    if "reward_id" in str(next(p for p in urlpatterns if p.name == name).pattern):
        kwargs["reward_id"] = reward.public_id
    if "redemption_id" in str(next(p for p in urlpatterns if p.name == name).pattern):
        kwargs["redemption_id"] = redemption.public_id

    # when they open shop A's page
    for method in ("get", "post"):
        response = getattr(client, method)(url(name, SLUG, **kwargs))

        # then they are sent to sign in to shop A (or the method is not allowed); nothing shown
        assert response.status_code in (302, 405), (name, method, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith(f"/m/{SLUG}/login/"), (name, method)
        body = response.content.decode()
        assert "A-ONLY-REWARD" not in body and "A-MEMBER" not in body
    assert not SpotCode.objects.exists()
    assert Redemption.objects.count() == 1
