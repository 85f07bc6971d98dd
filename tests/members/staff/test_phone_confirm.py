"""The cashier confirms a member's phone number at the counter: the member's screen shows the
number waiting for proof, the confirmation moves the pending member's points and is recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.models import Member
from members.phone_claims.models import PhoneClaim
from members.signup.services import member_register
from shops.staffing.models import StaffAction
from tests.factories import ShopFactory
from tests.members.conftest import assert_invariants
from tests.members.staff.conftest import staff_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def claim(staff_shop, branch):
    ledger.points_earn(
        shop=staff_shop,
        phone="0898765432",
        amount="500",
        branch=branch,
        idempotency_key="store-1",
        actor=Actor.system(channel="store"),
    )
    return member_register(
        shop=staff_shop,
        line_user_id="U" + "a" * 32,
        first_name="Ploy",
        last_name="Dee",
        phone="089-876-5432",
        birthday=dt.date(1995, 5, 5),
        accepted_terms=True,
    ).claim


def test_the_members_screen_offers_to_confirm_the_waiting_phone(claim, cashier, branch):
    client = staff_client(cashier, branch)

    html = client.get(reverse("staff:member", args=[claim.member.public_id])).content.decode()

    assert 'data-testid="phone-claim"' in html and "089-876-5432" in html


def test_the_cashier_confirms_and_the_points_move(claim, cashier, branch, staff_shop):
    client = staff_client(cashier, branch)
    url = reverse("staff:phone_confirm", args=[claim.member.public_id])
    page = client.get(url)
    assert page.status_code == 200 and page.context["pending_balance"] == 20

    unticked = client.post(url, {})
    assert unticked.status_code == 400
    assert PhoneClaim.objects.get().status == "open"

    done = client.post(url, {"checked": "on"}, follow=True)

    assert done.redirect_chain[-1][0] == reverse("staff:member", args=[claim.member.public_id])
    assert "20 points moved" in done.content.decode()
    member = Member.objects.get(pk=claim.member_id)
    assert (member.balance, member.phone) == (20, "+66898765432")
    claim.refresh_from_db()
    assert (claim.status, claim.method, claim.confirmed_by, claim.branch) == (
        "proven",
        "counter",
        cashier,
        branch,
    )
    action = StaffAction.objects.get(kind=StaffAction.Kind.PHONE_CONFIRM)
    assert action.ip_address == "203.0.113.7" and action.user == cashier
    assert_invariants(staff_shop.pk)


def test_a_member_without_a_waiting_phone_goes_back_to_their_screen(member, cashier, branch):
    client = staff_client(cashier, branch)

    response = client.get(reverse("staff:phone_confirm", args=[member.public_id]))

    assert response.status_code == 302


def test_another_shops_staff_cannot_see_the_claim(claim, branch):
    from tests.factories import BranchFactory, UserFactory

    other_shop = ShopFactory()
    other_branch = BranchFactory(shop=other_shop)
    outsider = UserFactory(shop=other_shop, role="cashier")
    outsider.branches.add(other_branch)
    client = staff_client(outsider, other_branch)

    response = client.get(reverse("staff:phone_confirm", args=[claim.member.public_id]))

    assert response.status_code == 404
    assert PhoneClaim.objects.get().status == "open"
