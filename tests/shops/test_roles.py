"""Who may do what in the back office: owner, manager, cashier, platform operator."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from members.line.binding import member_bind
from members.models import Member
from shops.models import User
from tests.admin_forms import admin_change_data, errors_text
from tests.factories import DEFAULT_PASSWORD, BranchFactory, MemberFactory, TierFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

NEW_PASSWORD = "a-long-new-passphrase-2026"


def add_user(client, username: str, role: str, **extra):
    return client.post(
        reverse("admin:shops_user_add"),
        {
            "username": username,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "role": role,
            **extra,
        },
    )


def change_user(client, user: User, **changes):
    url = reverse("admin:shops_user_change", args=[user.pk])
    data = admin_change_data(client.get(url))
    data.update(changes)
    for name, value in list(data.items()):
        if value is None:
            del data[name]
    return client.post(url, data)


# --- owner ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [User.Role.OWNER, User.Role.MANAGER, User.Role.CASHIER])
def test_owner_adds_a_staff_account_with_any_role(owner_client, shop, role):
    response = add_user(owner_client, f"new-{role}", role)

    assert response.status_code == 302, errors_text(response)
    user = User.objects.get(username=f"new-{role}")
    assert (user.shop, user.role) == (shop, role)
    # admin access follows the role
    assert user.is_staff is (role != User.Role.CASHIER)
    assert not user.is_superuser
    assert user.check_password(NEW_PASSWORD)


def test_owner_adds_a_cashier_at_a_branch(owner_client, shop):
    branch = BranchFactory(shop=shop)

    response = add_user(owner_client, "till-1", User.Role.CASHIER, branches=[str(branch.pk)])

    assert response.status_code == 302, errors_text(response)
    assert list(User.objects.get(username="till-1").branches.all()) == [branch]


def test_owner_cannot_give_a_cashier_another_shops_branch(owner_client, shop, other_shop):
    theirs = BranchFactory(shop=other_shop)

    response = add_user(owner_client, "till-1", User.Role.CASHIER, branches=[str(theirs.pk)])

    assert response.status_code == 200
    assert "branches" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="till-1").exists()


def test_new_account_cannot_be_made_a_superuser_or_moved_to_another_shop(
    owner_client, shop, other_shop
):
    add_user(owner_client, "sneaky", User.Role.MANAGER, is_superuser="on", shop=str(other_shop.pk))

    user = User.objects.get(username="sneaky")
    assert user.shop == shop
    assert not user.is_superuser


def test_owner_promotes_a_cashier_to_manager(owner_client, shop):
    cashier = UserFactory(shop=shop, role=User.Role.CASHIER, username="c1")

    response = change_user(owner_client, cashier, role=User.Role.MANAGER)

    assert response.status_code == 302, errors_text(response)
    cashier.refresh_from_db()
    assert (cashier.role, cashier.is_staff) == (User.Role.MANAGER, True)


def test_demoting_a_manager_to_cashier_takes_away_the_back_office(owner_client, shop):
    manager = UserFactory(shop=shop, role=User.Role.MANAGER, username="m1")

    response = change_user(owner_client, manager, role=User.Role.CASHIER)

    assert response.status_code == 302, errors_text(response)
    manager.refresh_from_db()
    assert (manager.role, manager.is_staff) == (User.Role.CASHIER, False)


def test_owner_cannot_demote_or_deactivate_themselves(owner_client, owner):
    response = change_user(
        owner_client, owner, role=User.Role.CASHIER, is_active=None, first_name="Me"
    )

    assert response.status_code == 302, errors_text(response)
    owner.refresh_from_db()
    assert (owner.role, owner.is_active, owner.first_name) == (User.Role.OWNER, True, "Me")


# --- manager ----------------------------------------------------------------------------------


def test_manager_cannot_add_users(manager_client):
    assert manager_client.get(reverse("admin:shops_user_add")).status_code == 403

    add_user(manager_client, "new-cashier", User.Role.CASHIER)

    assert not User.objects.filter(username="new-cashier").exists()


def test_manager_can_deactivate_a_cashier(manager_client, shop):
    cashier = UserFactory(shop=shop, role=User.Role.CASHIER, username="c1")

    response = change_user(manager_client, cashier, is_active=None)

    assert response.status_code == 302, errors_text(response)
    cashier.refresh_from_db()
    assert not cashier.is_active


def test_manager_can_only_choose_the_cashier_role(manager_client, shop):
    cashier = UserFactory(shop=shop, role=User.Role.CASHIER, username="c1")
    url = reverse("admin:shops_user_change", args=[cashier.pk])

    choices = [
        value
        for value, _label in manager_client.get(url)
        .context["adminform"]
        .form.fields["role"]
        .choices
    ]
    response = change_user(manager_client, cashier, role=User.Role.OWNER)

    assert choices == [User.Role.CASHIER]
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    cashier.refresh_from_db()
    assert (cashier.role, cashier.is_staff) == (User.Role.CASHIER, False)


@pytest.mark.parametrize("role", [User.Role.OWNER, User.Role.MANAGER])
def test_manager_cannot_change_owners_or_other_managers(manager_client, shop, role):
    other = UserFactory(shop=shop, role=role, username="other", first_name="Before")

    change_user(manager_client, other, first_name="After", is_active=None)

    other.refresh_from_db()
    assert (other.first_name, other.is_active) == ("Before", True)


def test_manager_cannot_delete_users(manager_client, shop):
    cashier = UserFactory(shop=shop, role=User.Role.CASHIER, username="c1")

    response = manager_client.post(
        reverse("admin:shops_user_delete", args=[cashier.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert User.objects.filter(pk=cashier.pk).exists()


def test_manager_edits_their_own_name_without_losing_their_role(manager_client, manager):
    response = change_user(manager_client, manager, first_name="Nok")

    assert response.status_code == 302, errors_text(response)
    manager.refresh_from_db()
    assert (manager.first_name, manager.role, manager.is_staff) == ("Nok", User.Role.MANAGER, True)


def test_manager_can_reset_a_cashiers_password(manager_client, shop):
    cashier = UserFactory(shop=shop, role=User.Role.CASHIER, username="c1")

    response = manager_client.post(
        reverse("admin:auth_user_password_change", args=[cashier.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    cashier.refresh_from_db()
    assert cashier.check_password(NEW_PASSWORD)


def test_manager_cannot_change_the_owners_password(manager_client, shop):
    owner = UserFactory(shop=shop, role=User.Role.OWNER, username="the-owner")

    response = manager_client.post(
        reverse("admin:auth_user_password_change", args=[owner.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 403
    owner.refresh_from_db()
    assert owner.check_password(DEFAULT_PASSWORD)


# --- cashier, deactivated users ---------------------------------------------------------------


def test_cashier_cannot_enter_the_back_office(client, cashier):
    client.force_login(cashier)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_cashier_cannot_sign_in_to_the_back_office(client, cashier):
    response = client.post(
        reverse("admin:login"), {"username": cashier.username, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    assert "staff account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_owner_signs_in_with_the_login_form(client, owner):
    response = client.post(
        reverse("admin:login"),
        {"username": owner.username, "password": DEFAULT_PASSWORD, "next": "/admin/"},
    )

    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_deactivated_users_session_stops_working(owner_client, shop):
    # given a manager signed in on another device
    manager = UserFactory(shop=shop, role=User.Role.MANAGER, username="m1")
    manager_device = Client()
    manager_device.force_login(manager)
    assert manager_device.get(reverse("admin:index")).status_code == 200

    # when the owner deactivates the account
    response = change_user(owner_client, manager, is_active=None)
    assert response.status_code == 302, errors_text(response)

    # then the manager's next request is signed out
    response = manager_device.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_deactivated_user_cannot_sign_in(client, shop):
    UserFactory(shop=shop, role=User.Role.OWNER, username="gone", is_active=False)

    client.post(reverse("admin:login"), {"username": "gone", "password": DEFAULT_PASSWORD})

    assert "_auth_user_id" not in client.session


# --- sidebar ----------------------------------------------------------------------------------

SHOP_LINKS = [
    "admin:shops_shop_changelist",
    "admin:shops_branch_changelist",
    "admin:shops_tier_changelist",
    "admin:shops_tag_changelist",
    "admin:shops_policydocument_changelist",
    "admin:members_member_changelist",
]
PLATFORM_LINKS = [
    "admin:django_q_schedule_changelist",
    "admin:django_q_failure_changelist",
    "admin:axes_accessattempt_changelist",
]


def _sidebar(response) -> list[dict]:
    return response.context["sidebar_navigation"]


def _links(response) -> set[str]:
    return {item["link"] for group in _sidebar(response) for item in group["items"]}


@pytest.mark.parametrize("client_fixture", ["owner_client", "manager_client"])
def test_sidebar_shows_the_shop_groups_and_hides_the_platform(request, client_fixture):
    client = request.getfixturevalue(client_fixture)

    response = client.get(reverse("admin:index"))

    titles = [str(group["title"]) for group in _sidebar(response)]
    assert titles[:2] == ["Shop setup", "Members"]
    links = _links(response)
    assert {reverse(name) for name in SHOP_LINKS} <= links
    assert not {reverse(name) for name in PLATFORM_LINKS} & links
    assert "Platform" not in titles
    content = response.content.decode()
    assert "Shop setup" in content
    assert reverse("admin:django_q_schedule_changelist") not in content


def test_owner_sidebar_links_the_staff_accounts(owner_client):
    assert reverse("admin:shops_user_changelist") in _links(
        owner_client.get(reverse("admin:index"))
    )


def test_platform_operator_sees_the_platform_group(client, operator):
    client.force_login(operator)

    response = client.get(reverse("admin:index"))

    titles = [str(group["title"]) for group in _sidebar(response)]
    assert "Platform" in titles
    assert {reverse(name) for name in PLATFORM_LINKS} <= _links(response)


def test_platform_pages_are_forbidden_to_shop_owners(owner_client):
    for name in PLATFORM_LINKS:
        assert owner_client.get(reverse(name)).status_code == 403, name


# --- dashboard --------------------------------------------------------------------------------


def _cards(response) -> dict[str, int]:
    return {str(card["title"]): card["value"] for card in response.context["dashboard_cards"]}


def test_dashboard_shows_only_the_shops_own_numbers(owner_client, shop, other_shop):
    # given 3 members here (one pending, one bound) and 5 in another shop
    gold = TierFactory(shop=shop, name="Gold")
    MemberFactory(shop=shop, tier=gold)
    MemberFactory(shop=shop, status=Member.Status.PENDING)
    member_bind(
        member=MemberFactory(shop=shop, customer_id="C-1"),
        line_user_id="U" + "1" * 32,
        via="api",
        actor="test",
    )
    BranchFactory(shop=shop)
    secret_tier = TierFactory(shop=other_shop, name="SHOP-B-SECRET-TIER")
    for _ in range(5):
        MemberFactory(shop=other_shop, tier=secret_tier, customer_id=None)
    BranchFactory.create_batch(4, shop=other_shop)

    # when the owner opens the dashboard
    response = owner_client.get(reverse("admin:index"))

    # then every number is this shop's
    cards = _cards(response)
    assert cards["Members"] == 3
    assert cards["Registered"] == 2
    assert cards["Pending (phone only)"] == 1
    assert cards["Bound to LINE"] == 1
    assert cards["Active branches"] == 1
    assert cards["New this month"] == 3
    assert response.context["dashboard_shop"] == shop
    assert "SHOP-B-SECRET" not in response.content.decode()
    assert {row["name"]: row["count"] for row in response.context["dashboard_tiers"]} == {
        "Gold": 1,
        "No tier": 2,
    }


def test_dashboard_leaves_out_erased_members(owner_client, shop):
    MemberFactory(shop=shop)
    MemberFactory(shop=shop, status=Member.Status.ERASED)

    assert _cards(owner_client.get(reverse("admin:index")))["Members"] == 1


def test_platform_operator_dashboard_counts_every_shop(client, operator, shop, other_shop):
    MemberFactory(shop=shop)
    MemberFactory(shop=other_shop)
    client.force_login(operator)

    cards = _cards(client.get(reverse("admin:index")))

    assert cards["Members"] == 2


def test_staff_user_without_a_shop_sees_no_shops_numbers(client, shop):
    """A staff account that is neither operator nor shop admin must not see all shops' totals."""
    MemberFactory(shop=shop)
    stray = UserFactory(shop=None, role="", is_staff=True, username="stray")
    client.force_login(stray)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert _cards(response)["Members"] == 0


# --- platform operator ------------------------------------------------------------------------


def test_operator_creates_the_owner_of_a_shop(client, operator, shop):
    client.force_login(operator)

    response = add_user(client, "new-owner", User.Role.OWNER, shop=str(shop.pk))

    assert response.status_code == 302, errors_text(response)
    user = User.objects.get(username="new-owner")
    assert (user.shop, user.role, user.is_staff) == (shop, User.Role.OWNER, True)


def test_operator_cannot_give_a_role_without_a_shop(client, operator):
    client.force_login(operator)

    response = add_user(client, "lost", User.Role.MANAGER)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["shop"] == [
        "A staff account with a role needs a shop."
    ]
    assert not User.objects.filter(username="lost").exists()
