"""Rewards through the Open API and the back office."""

import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from rewards import services
from rewards.models import Coupon, Delivery, Redemption, RewardCode
from shops.apikeys import api_key_create
from tests.factories import BranchFactory, MemberFactory, RewardFactory, ShopFactory
from tests.members.test_api import Api, error_code
from tests.rewards.conftest import give

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(rshop):
    return Api(api_key_create(shop=rshop, name="t")[1])


def test_catalogue_shows_visible_active_rewards_only(api, rshop):
    from django.utils import timezone

    RewardFactory(shop=rshop, name="Latte", points_cost=50)
    RewardFactory(shop=rshop, name="Hidden", is_active=False)
    RewardFactory(
        shop=rshop, name="Later", visible_from=timezone.now() + timezone.timedelta(days=3)
    )
    RewardFactory(shop=ShopFactory(), name="Elsewhere")
    names = [r["name"] for r in api.get("/rewards").json()["results"]]
    assert names == ["Latte"]


def test_redeem_then_use_the_coupon_through_the_api(api, rshop, rich, reward):
    BranchFactory(shop=rshop, code="BKK01")
    r = api.post(
        "/redemptions", {"member_id": str(rich.public_id), "reward_id": str(reward.public_id)}
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["balance"] == 900 and body["coupon"]["status"] == "issued"
    code = body["coupon"]["code"]
    used = api.post(f"/coupons/{code}/use", {"branch_code": "bkk01"})
    assert used.status_code == 200 and used.json()["used_branch_code"] == "BKK01"
    again = api.post(f"/coupons/{code}/use", {"branch_code": "BKK01"})
    assert again.status_code == 422 and error_code(again) == "coupon_used"
    listed = api.get(f"/members/{rich.public_id}/coupons").json()["results"]
    assert [c["code"] for c in listed] == [code]


def test_api_refusals(api, rshop, reward):
    poor = MemberFactory(shop=rshop)
    r = api.post(
        "/redemptions", {"member_id": str(poor.public_id), "reward_id": str(reward.public_id)}
    )
    assert r.status_code == 422 and error_code(r) == "not_enough_points"
    stranger_reward = RewardFactory(shop=ShopFactory())
    r = api.post(
        "/redemptions",
        {"member_id": str(poor.public_id), "reward_id": str(stranger_reward.public_id)},
    )
    assert r.status_code == 404
    gift = RewardFactory(shop=rshop, kind="delivery", points_cost=1)
    give(poor, 5)
    r = api.post(
        "/redemptions", {"member_id": str(poor.public_id), "reward_id": str(gift.public_id)}
    )
    assert r.status_code == 400 and error_code(r) == "address_required"
    r = api.post("/coupons/NOPE2345/use", {"branch_code": "X"})
    assert r.status_code == 400  # unknown branch first
    BranchFactory(shop=rshop, code="B1")
    r = api.post("/coupons/NOPE2345/use", {"branch_code": "B1"})
    assert r.status_code == 404 and error_code(r) == "unknown_coupon"
    assert not Redemption.objects.exists()


def test_another_shops_coupon_is_not_found(api, rshop):
    other = ShopFactory()
    from members.ledger.actors import Actor

    m = give(MemberFactory(shop=other), 100)
    coupon = services.reward_redeem(
        member=m, reward=RewardFactory(shop=other), idempotency_key="x", actor=Actor.member()
    )[0].coupon
    BranchFactory(shop=rshop, code="B1")
    r = api.post(f"/coupons/{coupon.code}/use", {"branch_code": "B1"})
    assert r.status_code == 404
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED


def test_owner_adds_codes_by_paste_and_by_xlsx_and_duplicates_are_refused(owner_client, shop):
    reward = RewardFactory(shop=shop, kind="custom_code", code_source="pool")
    url = reverse("admin:rewards_reward_add_codes", args=[reward.pk])
    response = owner_client.post(url, {"pasted": "AAA1\nAAA2\n"})
    assert response.status_code == 302
    wb = Workbook()
    wb.active.append(["code"])
    for c in ("BBB1", "BBB2", "AAA1"):
        wb.active.append([c])
    buf = io.BytesIO()
    wb.save(buf)
    upload = SimpleUploadedFile("codes.xlsx", buf.getvalue())
    response = owner_client.post(url, {"file": upload})
    assert response.status_code == 200
    assert "AAA1" in str(response.context["form"].non_field_errors())
    assert RewardCode.objects.filter(reward=reward).count() == 2


def test_bulk_delivery_status_and_shipping_list(owner_client, shop):
    from members.ledger.actors import Actor

    gift = RewardFactory(shop=shop, kind="delivery", points_cost=10)
    deliveries = []
    for i in range(2):
        m = give(MemberFactory(shop=shop), 10)
        deliveries.append(
            services.reward_redeem(
                member=m,
                reward=gift,
                idempotency_key=f"d{i}",
                actor=Actor.member(),
                address=services.Address("=cmd|' /C calc'!A0", "0812345678", "1 Road", "10110"),
            )[0].delivery
        )
    changelist = reverse("admin:rewards_delivery_changelist")
    owner_client.post(
        changelist, {"action": "mark_preparing", "_selected_action": [d.pk for d in deliveries]}
    )
    assert set(Delivery.objects.values_list("status", flat=True)) == {"preparing"}
    response = owner_client.post(
        changelist, {"action": "export_to_ship", "_selected_action": [d.pk for d in deliveries]}
    )
    data = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3
    # A name that looks like a formula is stored as text, not as a formula.
    assert rows[1][2] == "=cmd|' /C calc'!A0"
    assert sheet.cell(row=2, column=3).data_type == "s"
    ship = reverse("admin:rewards_delivery_mark_shipped", args=[deliveries[0].pk])
    response = owner_client.post(ship, {"carrier": "Kerry", "tracking_number": "KEX1"})
    assert response.status_code == 302
    deliveries[0].refresh_from_db()
    assert (deliveries[0].status, deliveries[0].tracking_number) == ("shipped", "KEX1")


def test_manager_cancels_a_coupon_and_points_return(manager_client, shop):
    from members.ledger.actors import Actor

    m = give(MemberFactory(shop=shop), 100)
    coupon = services.reward_redeem(
        member=m,
        reward=RewardFactory(shop=shop, points_cost=40),
        idempotency_key=str(uuid.uuid4()),
        actor=Actor.member(),
    )[0].coupon
    manager_client.post(
        reverse("admin:rewards_coupon_changelist"),
        {"action": "cancel_coupons", "_selected_action": [coupon.pk]},
    )
    m.refresh_from_db()
    coupon.refresh_from_db()
    assert (m.balance, coupon.status) == (100, "cancelled")
