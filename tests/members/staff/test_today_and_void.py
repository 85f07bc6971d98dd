"""Today at this branch (the cashier's and the branch's transactions, with totals) and voids: a
manager, not a cashier, voids one of today's transactions at their branch with a reason; another
branch's or shop's transactions are out of reach."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from members.ledger.models import EntryKind, LedgerEntry
from members.staff import services
from members.staff.errors import StaffNotAllowed
from shops.models import User
from shops.staffing.models import StaffAction
from tests.factories import BranchFactory, MemberFactory, ShopFactory, UserFactory
from tests.members.conftest import assert_invariants
from tests.members.staff.conftest import staff_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
BKK = ZoneInfo("Asia/Bangkok")


def add(user, branch, member, amount="500"):
    return services.staff_points_add(
        user=user, branch=branch, amount=amount, form_key=uuid.uuid4(), member=member
    ).entry


def void(client, entry, reason="Wrong amount"):
    return client.post(reverse("staff:void", args=[entry.public_id]), {"reason": reason})


def test_today_shows_my_and_the_branchs_sales_with_totals(
    cashier, other_cashier, branch, other_branch, cashier_client, member
):
    mine = add(cashier, branch, member, "500")
    add(other_cashier, branch, member, "250")
    elsewhere_staff = UserFactory(shop=branch.shop, role=User.Role.CASHIER)
    elsewhere_staff.branches.add(other_branch)
    add(elsewhere_staff, other_branch, member, "1000")

    response = cashier_client.get(reverse("staff:today"))

    today = response.context["today"]
    assert [e.pk for e in today.entries][-1] == mine.pk
    assert len(today.entries) == 2  # not the other branch's
    assert (today.mine.count, today.mine.amount, today.mine.points) == (1, 500, 20)
    assert (today.branch.count, today.branch.amount, today.branch.points) == (2, 750, 30)
    # A cashier sees no void buttons.
    assert 'data-testid="void-link"' not in response.content.decode()


def test_a_sale_from_yesterday_evening_is_not_in_today_after_midnight(cashier, branch, member):
    with time_machine.travel(dt.datetime(2026, 3, 9, 23, 50, tzinfo=BKK), tick=False):
        add(cashier, branch, member)
    with time_machine.travel(dt.datetime(2026, 3, 10, 0, 30, tzinfo=BKK), tick=False):
        client = staff_client(cashier)
        today = client.get(reverse("staff:today")).context["today"]
        assert today.day == dt.date(2026, 3, 10)
        assert today.entries == []


def test_a_cashier_cannot_void(cashier, cashier_client, branch, member):
    entry = add(cashier, branch, member)

    page = cashier_client.get(reverse("staff:void", args=[entry.public_id]))
    response = void(cashier_client, entry)

    assert page.status_code == response.status_code == 403
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).exists()
    with pytest.raises(StaffNotAllowed):
        services.staff_entry_void(user=cashier, branch=branch, entry=entry, reason="x")


def test_a_manager_voids_todays_sale_with_a_reason(
    cashier, shop_manager, manager_client, branch, member
):
    entry = add(cashier, branch, member)
    page = manager_client.get(reverse("staff:today")).content.decode()
    assert 'data-testid="void-link"' in page

    response = void(manager_client, entry, reason="Customer returned the cake")

    assert response.status_code == 302
    reversal = LedgerEntry.objects.get(kind=EntryKind.REVERSAL)
    assert reversal.reversal_of == entry
    assert reversal.created_by == shop_manager
    assert "Customer returned the cake" in reversal.note
    member.refresh_from_db()
    assert member.balance == 0
    entry.purchase.refresh_from_db()
    assert entry.purchase.status == "reversed"
    row = StaffAction.objects.get(kind=StaffAction.Kind.VOID)
    assert (row.user, row.branch, row.detail["reason"]) == (
        shop_manager,
        branch,
        "Customer returned the cake",
    )
    today = manager_client.get(reverse("staff:today")).context["today"]
    assert today.voided == 1 and today.branch.count == 0
    assert_invariants(member.shop_id)


def test_voiding_twice_reverses_once(cashier, manager_client, branch, member):
    entry = add(cashier, branch, member)

    void(manager_client, entry)
    second = void(manager_client, entry)

    assert second.status_code == 302
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1
    assert StaffAction.objects.filter(kind=StaffAction.Kind.VOID).count() == 1


def test_a_void_needs_a_reason(cashier, manager_client, branch, member):
    entry = add(cashier, branch, member)

    response = void(manager_client, entry, reason="  ")

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).exists()


def test_another_branchs_sale_cannot_be_voided(shop_manager, manager_client, other_branch, member):
    # The manager works at Siam today; a Thonglor sale is out of reach from here.
    entry = add(shop_manager, other_branch, member)

    assert manager_client.get(reverse("staff:void", args=[entry.public_id])).status_code == 404
    assert void(manager_client, entry).status_code == 404
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).exists()


def test_another_shops_sale_cannot_be_voided(manager_client):
    shop = ShopFactory()
    branch = BranchFactory(shop=shop)
    owner = UserFactory(shop=shop, role=User.Role.OWNER)
    entry = add(owner, branch, MemberFactory(shop=shop))

    assert void(manager_client, entry).status_code == 404
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).exists()


def test_the_void_service_refuses_another_branchs_entry_directly(
    shop_manager, branch, other_branch, member
):
    entry = add(shop_manager, other_branch, member)
    with pytest.raises(Exception, match="not one of this branch"):
        services.staff_entry_void(user=shop_manager, branch=branch, entry=entry, reason="x")


def test_yesterdays_sale_cannot_be_voided_at_the_counter(cashier, shop_manager, branch, member):
    with time_machine.travel(dt.datetime(2026, 3, 9, 15, 0, tzinfo=BKK), tick=False):
        entry = add(cashier, branch, member)
    with time_machine.travel(dt.datetime(2026, 3, 10, 0, 30, tzinfo=BKK), tick=False):
        client = staff_client(shop_manager, branch)
        response = void(client, entry)
    assert response.status_code == 200
    assert "Only today" in response.content.decode()
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).exists()


def test_a_voided_sale_whose_points_were_spent_leaves_a_debt(
    cashier, manager_client, branch, member
):
    from members.ledger.actors import Actor
    from members.ledger.services import points_spend

    entry = add(cashier, branch, member, "500")
    points_spend(member=member, points=15, idempotency_key="spent", actor=Actor.member())

    void(manager_client, entry)

    member.refresh_from_db()
    assert (member.balance, member.debt) == (-15, 15)
    assert_invariants(member.shop_id)


def test_the_done_page_of_another_branch_is_not_shown(
    shop_manager, other_branch, member, cashier_client
):
    entry = add(shop_manager, other_branch, member)
    assert cashier_client.get(reverse("staff:done", args=[entry.public_id])).status_code == 404


def test_today_shows_an_api_earn_and_a_deleted_cashiers_sale_and_the_manager_can_void(
    cashier, shop_manager, manager_client, branch, member
):
    """Entries with no staff user (a POS earn through the API; a cashier whose account was then
    deleted) used to make the whole page a 500, and the void link lives on that page."""
    from members.ledger.actors import Actor
    from members.ledger.services import points_earn
    from shops.apikeys import api_key_create

    # given: a POS earn through the API at the branch, and a sale by a cashier who then left
    api_key, _raw = api_key_create(shop=branch.shop, name="POS")
    from_pos = points_earn(
        shop=branch.shop,
        amount="250",
        idempotency_key="pos-1",
        actor=Actor.api(api_key),
        member=member,
        branch=branch,
    ).entry
    gone = UserFactory(username="gone", shop=branch.shop, role=User.Role.CASHIER)
    gone.branches.add(branch)
    by_gone = add(gone, branch, member, "100")
    gone.delete()

    # when
    response = manager_client.get(reverse("staff:today"))

    # then
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('data-testid="void-link"') == 2
    assert {e.pk for e in response.context["today"].entries} == {from_pos.pk, by_gone.pk}
    assert void(manager_client, from_pos).status_code == 302
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL, reversal_of=from_pos).exists()
