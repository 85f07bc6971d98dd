"""Signing in to the staff app: django-axes locks a username out after repeated failures, only
staff of an active shop get in, a deactivated account is signed out at once, and staff allowed at
several branches choose one."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from shops.models import User
from shops.staffing.models import StaffAction
from tests.factories import DEFAULT_PASSWORD, BranchFactory, UserFactory
from tests.members.staff.conftest import UA, staff_client

pytestmark = pytest.mark.django_db


def sign_in(client, username="nok", password=DEFAULT_PASSWORD, **extra):
    return client.post(
        reverse("staff:login"), {"username": username, "password": password, **extra}
    )


def phone() -> Client:
    return Client(HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.7")


def test_pages_are_thai_by_default(cashier):
    html = phone().get(reverse("staff:login")).content.decode()
    assert '<html lang="th">' in html


def test_a_cashier_signs_in_and_lands_on_find_a_member(cashier, branch):
    client = phone()

    response = sign_in(client)

    assert response.status_code == 302 and response["Location"] == reverse("staff:home")
    home = client.get(reverse("staff:home"))
    assert home.status_code == 200
    assert home.context["staff"].branch == branch  # the only branch is chosen for them
    row = StaffAction.objects.get(kind=StaffAction.Kind.SIGN_IN)
    assert (row.user, row.ip_address, row.user_agent) == (cashier, "203.0.113.7", UA)


def test_sign_in_goes_back_to_the_page_asked_for_but_never_to_another_site(cashier, branch):
    ok = sign_in(phone(), next=reverse("staff:today"))
    evil = sign_in(phone(), next="https://evil.example.com/")

    assert ok["Location"] == reverse("staff:today")
    assert evil["Location"] == reverse("staff:home")


@pytest.mark.usefixtures("english")
def test_a_wrong_password_is_refused(cashier):
    response = sign_in(phone(), password="nope")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


@pytest.mark.usefixtures("english")
def test_repeated_failures_lock_the_account_out_even_with_the_right_password(settings, cashier):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = phone()
    for _ in range(3):
        sign_in(client, password="wrong")

    response = sign_in(client)  # the right password, too late

    assert response.status_code == 429
    assert 'data-testid="locked-out"' in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another cashier on the same phone is not locked out (username + IP).
    other = UserFactory(username="ploy", shop=cashier.shop, role=User.Role.CASHIER)
    other.branches.set(cashier.branches.all())
    assert sign_in(client, username="ploy").status_code == 302


@pytest.mark.usefixtures("english")
def test_a_platform_operator_cannot_use_the_staff_app(operator):
    client = phone()
    response = sign_in(client, username="operator")
    assert response.status_code == 200
    assert "cannot use the staff app" in response.content.decode()

    client.force_login(operator)
    assert client.get(reverse("staff:home")).status_code == 403


def test_a_cashier_of_a_closed_shop_cannot_sign_in(cashier):
    cashier.shop.is_active = False
    cashier.shop.save()
    client = phone()
    assert sign_in(client).status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_deactivated_cashier_is_signed_out_on_the_next_tap(cashier, cashier_client):
    assert cashier_client.get(reverse("staff:home")).status_code == 200

    cashier.is_active = False
    cashier.save()

    response = cashier_client.get(reverse("staff:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:login"))
    assert cashier_client.get(reverse("staff:today")).status_code == 302


def test_a_manager_deactivating_a_cashier_in_the_admin_ends_their_session(
    cashier, cashier_client, shop_manager
):
    admin = Client()
    admin.force_login(shop_manager)
    url = reverse("admin:shops_user_change", args=[cashier.pk])
    from tests.admin_forms import admin_change_data

    data = admin_change_data(admin.get(url))
    data.pop("is_active", None)  # the checkbox unticked
    assert admin.post(url, data).status_code == 302
    cashier.refresh_from_db()
    assert cashier.is_active is False

    response = cashier_client.get(reverse("staff:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("staff:login"))


def test_staff_at_several_branches_choose_one_and_it_is_recorded(
    shop_manager, branch, other_branch
):
    client = phone()
    client.force_login(shop_manager)

    assert client.get(reverse("staff:home"))["Location"] == reverse("staff:branch")
    page = client.get(reverse("staff:branch")).content.decode()
    assert "Siam" in page and "Thonglor" in page
    client.post(reverse("staff:branch"), {"branch": other_branch.pk})

    assert client.get(reverse("staff:home")).context["staff"].branch == other_branch
    row = StaffAction.objects.get(kind=StaffAction.Kind.BRANCH)
    assert row.branch == other_branch


def test_a_cashier_cannot_choose_a_branch_that_is_not_theirs(cashier, branch, other_branch):
    client = staff_client(cashier)

    client.post(reverse("staff:branch"), {"branch": other_branch.pk})

    assert client.get(reverse("staff:home")).context["staff"].branch == branch


def test_a_branch_taken_away_moves_the_cashier_to_their_remaining_branch(cashier, branch):
    second = BranchFactory(shop=cashier.shop, name="Ari", code="ARI")
    cashier.branches.add(second)
    client = staff_client(cashier, second)
    assert client.get(reverse("staff:home")).context["staff"].branch == second

    cashier.branches.remove(second)

    assert client.get(reverse("staff:home")).context["staff"].branch == branch


@pytest.mark.usefixtures("english")
def test_a_cashier_without_a_branch_is_told_to_ask_their_manager(staff_shop):
    lonely = UserFactory(username="lonely", shop=staff_shop, role=User.Role.CASHIER)
    client = phone()
    client.force_login(lonely)

    response = client.get(reverse("staff:home"), follow=True)

    assert 'data-testid="no-branch"' in response.content.decode()


def test_sign_out_is_recorded(cashier, cashier_client):
    response = cashier_client.post(reverse("staff:logout"))
    assert response["Location"] == reverse("staff:login")
    assert StaffAction.objects.filter(kind=StaffAction.Kind.SIGN_OUT, user=cashier).exists()
    assert cashier_client.get(reverse("staff:home")).status_code == 302
