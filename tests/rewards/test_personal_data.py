"""The rewards app's personal data in "download my data" and in erasure (PDPA): saved addresses,
deliveries, redemptions, coupons and counter codes, and the names that the staff log and the
admin's history keep of them."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from openpyxl import load_workbook

from members.ledger.actors import Actor
from members.models import Member
from members.pages.export import member_data_json, member_data_xlsx
from members.signup.services import member_erase
from rewards import services
from rewards.models import Coupon, Delivery, Redemption, Reward, SavedAddress, SpotCode
from rewards.staff.services import coupon_use_at_counter
from shops.models import User
from shops.staffing.models import StaffAction
from tests.factories import BranchFactory, MemberFactory, RewardFactory, ShopFactory, UserFactory
from tests.rewards.conftest import give

pytestmark = pytest.mark.django_db

ADDRESS = services.Address("Somchai Jaidee", "081-234-5678", "99 Sukhumvit Rd, Bangkok", "10110")


@pytest.fixture
def shop(db):
    return ShopFactory(name="Cafe Aroi", expiry_mode="never", coupon_validity_days=30)


@pytest.fixture
def somchai(shop):
    member = MemberFactory(
        shop=shop, first_name="Somchai", last_name="Jaidee", phone="+66812345678"
    )
    return give(member, 1000)


@pytest.fixture
def rewards_of_somchai(shop, somchai):
    """What real use leaves behind: a delivered gift with a saved address, a coupon used at the
    counter by a cashier, an open counter code."""
    branch = BranchFactory(shop=shop, name="Siam")
    gift = RewardFactory(shop=shop, kind=Reward.Kind.DELIVERY, name="Tote bag", points_cost=200)
    latte = RewardFactory(shop=shop, name="Free latte", points_cost=100)
    cocoa = RewardFactory(shop=shop, name="Iced cocoa", points_cost=50, spot_redemption=True)
    delivered = services.reward_redeem(
        member=somchai,
        reward=gift,
        idempotency_key="gift-1",
        actor=Actor.member(),
        address=ADDRESS,
    )[0]
    coupon = services.reward_redeem(
        member=somchai, reward=latte, idempotency_key="latte-1", actor=Actor.member()
    )[0].coupon
    cashier = UserFactory(shop=shop, role=User.Role.CASHIER, username="nok")
    cashier.branches.add(branch)
    coupon_use_at_counter(user=cashier, branch=branch, code=coupon.code, form_key=uuid.uuid4())
    services.spot_code_issue(member=somchai, reward=cocoa)
    # The owner changed the delivery in the admin: its history names the recipient.
    owner = UserFactory(shop=shop, role=User.Role.OWNER)
    LogEntry.objects.log_actions(
        user_id=owner.pk, queryset=[delivered.delivery], action_flag=CHANGE, single_object=True
    )
    LogEntry.objects.log_actions(
        user_id=owner.pk,
        queryset=list(SavedAddress.objects.filter(member=somchai)),
        action_flag=CHANGE,
        single_object=True,
    )
    return delivered


# --- download my data -----------------------------------------------------------------------------


def test_my_data_has_my_redemptions_coupons_deliveries_and_saved_addresses(
    somchai, rewards_of_somchai
):
    data = json.loads(member_data_json(somchai))

    assert [(r["reward"], r["points"], r["status"]) for r in data["redemptions"]] == [
        ("Tote bag", 200, "completed"),
        ("Free latte", 100, "completed"),
    ]
    assert [(c["reward"], c["status"]) for c in data["coupons"]] == [("Free latte", "used")]
    [delivery] = data["deliveries"]
    assert (delivery["recipient"], delivery["phone"], delivery["address"]) == (
        "Somchai Jaidee",
        "+66812345678",
        "99 Sukhumvit Rd, Bangkok",
    )
    assert data["saved_addresses"] == [
        {
            "recipient": "Somchai Jaidee",
            "phone": "+66812345678",
            "address": "99 Sukhumvit Rd, Bangkok",
            "postcode": "10110",
            "saved_at": data["saved_addresses"][0]["saved_at"],
        }
    ]


def test_my_data_xlsx_shows_rewards_with_thai_headers_and_words(somchai, rewards_of_somchai):
    book = load_workbook(io.BytesIO(member_data_xlsx(somchai)), read_only=True)

    deliveries = list(book["การจัดส่ง"].iter_rows(values_only=True))
    assert deliveries[0][:4] == ("ของรางวัล", "สถานะ", "ผู้รับ", "เบอร์โทร")
    assert deliveries[1][:4] == ("Tote bag", "รอดำเนินการ", "Somchai Jaidee", "081-234-5678")
    saved = list(book["ที่อยู่ที่บันทึกไว้"].iter_rows(values_only=True))
    assert saved[1][:4] == ("Somchai Jaidee", "081-234-5678", "99 Sukhumvit Rd, Bangkok", "10110")


def test_my_data_xlsx_in_english_on_an_english_page(somchai, rewards_of_somchai, english):
    from django.utils import translation

    with translation.override("en"):
        book = load_workbook(io.BytesIO(member_data_xlsx(somchai)), read_only=True)

    coupons = list(book["Coupons"].iter_rows(values_only=True))
    assert coupons[0][:4] == ("Code", "Code for the platform", "Reward", "Status")
    assert coupons[1][3] == "Used"


# --- erasure --------------------------------------------------------------------------------------


def test_erasing_a_member_deletes_saved_addresses_and_blanks_delivery_addresses(
    somchai, rewards_of_somchai
):
    delivered = rewards_of_somchai
    redemptions = list(Redemption.objects.filter(member=somchai).values_list("pk", "points"))

    member_erase(member=somchai)

    assert not SavedAddress.objects.filter(member=somchai).exists()
    delivery = Delivery.objects.get(pk=delivered.delivery.pk)
    assert (delivery.recipient, delivery.phone, delivery.address, delivery.postcode) == (
        "",
        "",
        "",
        "",
    )
    assert delivery.status == Delivery.Status.PENDING  # the row and its state stay
    # redemptions and coupons stay for the shop's accounts, by member id only
    assert list(Redemption.objects.filter(member=somchai).values_list("pk", "points")) == (
        redemptions
    )
    assert Coupon.objects.filter(member=somchai, status=Coupon.Status.USED).count() == 1
    # an open counter code no longer works
    assert not SpotCode.objects.filter(member=somchai, redemption__isnull=True).exists()


def test_erasing_a_member_removes_their_name_from_the_staff_log_and_the_admin_history(
    somchai, rewards_of_somchai
):
    assert StaffAction.objects.filter(object_repr__contains="Somchai").exists()
    assert LogEntry.objects.filter(object_repr__contains="Somchai").exists()

    member_erase(member=somchai)

    assert not StaffAction.objects.filter(object_repr__contains="Somchai").exists()
    assert not LogEntry.objects.filter(object_repr__contains="Somchai").exists()
    use = StaffAction.objects.get(kind=StaffAction.Kind.COUPON_USE)
    assert use.object_repr.startswith("Free latte · ")
    assert use.username == "nok"  # who did what, when, stays


def test_erasing_leaves_nothing_of_the_person_in_rewards_rows(somchai, rewards_of_somchai):
    member_erase(member=somchai)

    body = member_data_json(Member.objects.get(pk=somchai.pk)).decode()
    for personal in ("Somchai", "Jaidee", "+66812345678", "Sukhumvit", "10110"):
        assert personal not in body, personal


def test_erasing_one_member_leaves_another_members_address(shop, somchai, rewards_of_somchai):
    other = give(MemberFactory(shop=shop, first_name="Ploy"), 500)
    gift = Reward.objects.get(name="Tote bag")
    theirs = services.Address("Ploy", "0898765432", "1 Silom Rd", "10500")
    services.reward_redeem(
        member=other, reward=gift, idempotency_key="gift-2", actor=Actor.member(), address=theirs
    )

    member_erase(member=somchai)

    assert Delivery.objects.get(member=other).address == "1 Silom Rd"
    assert SavedAddress.objects.filter(member=other).count() == 1
