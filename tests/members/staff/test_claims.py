"""Points QR codes: the cashier types a spend and shows a one-time QR code; the member who opens it
gets the points (tier included). Single use, a few minutes, clear refusals that change nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from members.ledger.models import LedgerEntry
from members.models import Member
from members.staff import services
from members.staff.errors import ClaimCancelled, ClaimExpired, ClaimNotFound, ClaimUsed
from members.staff.models import PointsClaim
from shops.staffing.models import StaffAction
from tests.factories import BranchFactory, MemberFactory, ShopFactory
from tests.members.conftest import assert_invariants

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def make_claim(client, amount="500", key=None, receipt_no=""):
    return client.post(
        reverse("staff:claim_new"),
        {"amount": amount, "key": str(key or uuid.uuid4()), "receipt_no": receipt_no},
    )


@pytest.fixture
def claim(cashier, branch):
    return services.points_claim_create(
        user=cashier, branch=branch, amount="500", form_key=uuid.uuid4(), receipt_no="R-9"
    )[0]


# --- the cashier's side -----------------------------------------------------------------------------


def test_the_cashier_makes_a_points_qr_code_and_sees_it(cashier_client, cashier, branch):
    response = make_claim(cashier_client, amount="500", receipt_no="R-1")

    claim = PointsClaim.objects.get()
    assert response["Location"] == reverse("staff:claim", args=[claim.public_id])
    assert (claim.amount, claim.branch, claim.cashier, claim.receipt_no) == (
        Decimal("500.00"),
        branch,
        cashier,
        "R-1",
    )
    assert dt.timedelta(minutes=4) < claim.expires_at - timezone.now() <= dt.timedelta(minutes=5)
    page = cashier_client.get(response["Location"]).content.decode()
    assert "<svg" in page and 'data-testid="claim-qr"' in page
    assert f'href="http://testserver/m/{branch.shop.slug}/claim/{claim.token}"' in page
    assert StaffAction.objects.get(kind=StaffAction.Kind.CLAIM_CREATE).object_id == str(
        claim.public_id
    )


def test_a_double_tap_makes_one_points_qr_code(cashier_client):
    key = uuid.uuid4()
    first = make_claim(cashier_client, key=key)
    second = make_claim(cashier_client, key=key)

    assert PointsClaim.objects.count() == 1
    assert first["Location"] == second["Location"]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "more than 0 baht"),
        ("-5", "more than 0 baht"),
        ("abc", "is not an amount in baht"),
        ("10000000", "too large"),
        ("10", "earns no points"),
    ],
)
def test_a_bad_spend_makes_no_points_qr_code(cashier_client, amount, message):
    response = make_claim(cashier_client, amount=amount)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not PointsClaim.objects.exists()


def test_the_status_says_who_collected_it(cashier_client, claim, member):
    url = reverse("staff:claim_status", args=[claim.public_id])
    assert cashier_client.get(url).json()["state"] == "open"

    services.points_claim_redeem(shop=claim.shop, token=claim.token, member=member)

    status = cashier_client.get(url).json()
    assert (status["state"], status["member"], status["points"], status["balance"]) == (
        "claimed",
        "Somchai Jaidee",
        20,
        20,
    )


def test_the_cashier_cancels_a_points_qr_code(cashier_client, claim, member):
    cashier_client.post(reverse("staff:claim_cancel", args=[claim.public_id]))

    claim.refresh_from_db()
    assert claim.state == "cancelled"
    with pytest.raises(ClaimCancelled):
        services.points_claim_redeem(shop=claim.shop, token=claim.token, member=member)
    assert not LedgerEntry.objects.exists()
    assert StaffAction.objects.filter(kind=StaffAction.Kind.CLAIM_CANCEL).count() == 1


def test_another_branchs_points_qr_code_is_not_shown(cashier_client, other_branch, shop_manager):
    other = services.points_claim_create(
        user=shop_manager, branch=other_branch, amount="500", form_key=uuid.uuid4()
    )[0]
    assert cashier_client.get(reverse("staff:claim", args=[other.public_id])).status_code == 404
    assert (
        cashier_client.post(reverse("staff:claim_cancel", args=[other.public_id])).status_code
        == 404
    )


# --- collecting -----------------------------------------------------------------------------------


def test_the_member_who_opens_it_gets_the_points_with_their_tier(claim, member, gold, cashier):
    member.tier = gold
    member.save()

    result = services.points_claim_redeem(shop=claim.shop, token=claim.token, member=member)

    assert (result.points, result.balance, result.already) == (30, 30, False)
    entry = LedgerEntry.objects.get()
    assert (entry.member, entry.branch, entry.created_by) == (member, claim.branch, cashier)
    assert entry.purchase.receipt_no == "R-9"
    claim.refresh_from_db()
    assert (claim.claimed_by, claim.entry) == (member, entry)
    assert_invariants(claim.shop_id)


def test_a_second_member_scanning_it_gets_a_clear_no_and_nothing(claim, member):
    services.points_claim_redeem(shop=claim.shop, token=claim.token, member=member)
    second = MemberFactory(shop=claim.shop)

    with pytest.raises(ClaimUsed, match="already been collected"):
        services.points_claim_redeem(shop=claim.shop, token=claim.token, member=second)

    assert LedgerEntry.objects.count() == 1
    second.refresh_from_db()
    assert second.balance == 0


def test_the_same_member_scanning_it_again_gets_the_first_result(claim, member):
    first = services.points_claim_redeem(shop=claim.shop, token=claim.token, member=member)
    again = services.points_claim_redeem(shop=claim.shop, token=claim.token, member=member)

    assert again.already is True and again.entry == first.entry
    assert LedgerEntry.objects.count() == 1


def test_an_expired_points_qr_code_gives_nothing(claim, member):
    with (
        time_machine.travel(claim.expires_at + dt.timedelta(seconds=1)),
        pytest.raises(ClaimExpired, match="expired"),
    ):
        services.points_claim_redeem(shop=claim.shop, token=claim.token, member=member)
    assert not LedgerEntry.objects.exists()


def test_it_still_works_a_second_before_it_expires(claim, member):
    with time_machine.travel(claim.expires_at - dt.timedelta(seconds=1)):
        services.points_claim_redeem(shop=claim.shop, token=claim.token, member=member)
    assert LedgerEntry.objects.count() == 1


@pytest.mark.parametrize("token", ["", "nope", "x" * 200, "../../etc/passwd", "a" * 22])
def test_an_unknown_points_qr_code_gives_nothing(staff_shop, member, token):
    with pytest.raises(ClaimNotFound):
        services.points_claim_redeem(shop=staff_shop, token=token, member=member)
    assert not LedgerEntry.objects.exists()


def test_another_shops_points_qr_code_is_unknown_here(claim):
    stranger_shop = ShopFactory()
    stranger = MemberFactory(shop=stranger_shop)

    with pytest.raises(ClaimNotFound):
        services.points_claim_redeem(shop=stranger_shop, token=claim.token, member=stranger)
    with pytest.raises(ClaimNotFound):
        services.points_claim_redeem(shop=claim.shop, token=claim.token, member=stranger)
    assert not LedgerEntry.objects.exists()


def test_a_blocked_member_cannot_collect(claim, member):
    member.status = Member.Status.BLOCKED
    member.save()
    with pytest.raises(Exception, match="blocked"):
        services.points_claim_redeem(shop=claim.shop, token=claim.token, member=member)
    claim.refresh_from_db()
    assert claim.state == "open"


def test_a_claim_of_a_closed_branch_gives_a_clear_message(claim, member):
    claim.branch.is_active = False
    claim.branch.save()
    with pytest.raises(Exception, match="not an active branch"):
        services.points_claim_redeem(shop=claim.shop, token=claim.token, member=member)
    assert not LedgerEntry.objects.exists()


def test_a_cashier_cannot_make_a_points_qr_code_for_a_branch_that_is_not_theirs(
    cashier, other_branch
):
    from members.staff.errors import StaffNotAllowed

    with pytest.raises(StaffNotAllowed):
        services.points_claim_create(
            user=cashier, branch=other_branch, amount="500", form_key=uuid.uuid4()
        )
    assert not PointsClaim.objects.exists()


def test_a_cashier_of_another_shop_cannot_use_this_shops_branch(branch):
    from members.staff.errors import StaffNotAllowed
    from shops.models import User
    from tests.factories import UserFactory

    outsider = UserFactory(shop=ShopFactory(), role=User.Role.MANAGER)
    with pytest.raises(StaffNotAllowed):
        services.staff_points_add(
            user=outsider, branch=branch, amount="500", form_key=uuid.uuid4(), phone="0812345678"
        )
    with pytest.raises(StaffNotAllowed):
        services.points_claim_create(
            user=outsider, branch=BranchFactory(shop=branch.shop), amount="5", form_key=uuid.uuid4()
        )
    assert not LedgerEntry.objects.exists()
