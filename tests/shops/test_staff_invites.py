"""Onboarding by invite: a manager creates an invite for a branch in the back office (a link and a
QR code, shown once, expiring, single use); the cashier opens it on a phone, sets a name, username
and password, and gets a cashier account at that branch. Plus the read-only staff activity log."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shops.models import User
from shops.staffing.models import StaffAction, StaffInvite
from shops.staffing.services import (
    InviteInvalid,
    staff_invite_accept,
    staff_invite_create,
    staff_invite_revoke,
)
from tests.factories import BranchFactory, ShopFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
PASSWORD = "a-long-pass-2026"


@pytest.fixture
def branch(shop):
    return BranchFactory(shop=shop, name="Siam", code="SIAM")


@pytest.fixture
def invite_link(branch, manager):
    _invite, token = staff_invite_create(shop=branch.shop, branch=branch, created_by=manager)
    return reverse("staff:join", args=[token])


def join(client, url, **data):
    payload = {
        "name": "Nok",
        "username": "nok",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **data,
    }
    return client.post(url, payload)


# --- the back office -----------------------------------------------------------------------------


def test_a_manager_creates_an_invite_and_sees_the_link_and_qr_code_once(manager_client, branch):
    response = manager_client.post(
        reverse("admin:shops_staffinvite_add"),
        {"branch": branch.pk, "name": "Nok, mornings", "valid_for": "3"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="invite-created"' in html
    link = re.search(r'data-testid="invite-link">([^<]+)<', html).group(1)
    assert link.startswith("http://testserver/staff/join/")
    assert "<svg" in html and "data:image/png;base64," in html
    token = link.rstrip("/").rsplit("/", 1)[1]
    invite = StaffInvite.objects.get()
    # Only the hash is stored; the link is never shown again.
    assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(StaffInvite.objects.values().get())
    assert (
        dt.timedelta(days=2, hours=23) < invite.expires_at - timezone.now() <= dt.timedelta(days=3)
    )
    assert (invite.branch, invite.name, invite.state) == (branch, "Nok, mornings", "open")
    listing = manager_client.get(reverse("admin:shops_staffinvite_changelist")).content.decode()
    assert token not in listing
    assert StaffAction.objects.get(kind=StaffAction.Kind.INVITE_CREATE).branch == branch


def test_the_invite_form_offers_only_open_branches_of_the_shop(manager_client, shop, branch):
    BranchFactory(shop=shop, name="Closed one", is_active=False)
    BranchFactory(shop=ShopFactory(), name="Elsewhere")

    form = manager_client.get(reverse("admin:shops_staffinvite_add")).context["adminform"].form

    assert list(form.fields["branch"].queryset) == [branch]


def test_an_invite_cannot_be_edited_only_revoked(manager_client, branch, manager):
    invite, _token = staff_invite_create(shop=branch.shop, branch=branch, created_by=manager)
    url = reverse("admin:shops_staffinvite_changelist")

    manager_client.post(url, {"action": "revoke_invites", "_selected_action": [invite.pk]})

    invite.refresh_from_db()
    assert invite.state == "revoked"
    assert StaffAction.objects.filter(kind=StaffAction.Kind.INVITE_REVOKE).count() == 1


def test_a_cashier_has_no_back_office_for_invites(branch):
    cashier = UserFactory(shop=branch.shop, role=User.Role.CASHIER)
    client = Client()
    client.force_login(cashier)
    response = client.get(reverse("admin:shops_staffinvite_add"))
    assert response.status_code == 302  # to the admin sign-in: cashiers are not admin staff


# --- joining ---------------------------------------------------------------------------------------


def test_opening_the_invite_shows_the_shop_and_branch(client, invite_link):
    html = client.get(invite_link).content.decode()
    assert "Siam" in html and "Shop A" in html


def test_the_invite_makes_a_cashier_at_its_branch_with_no_back_office(client, invite_link, branch):
    response = join(client, invite_link, name="Nok Siam", username="nok")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('staff:login')}?username=nok"
    user = User.objects.get(username="nok")
    assert (user.shop, user.role, user.first_name) == (branch.shop, "cashier", "Nok Siam")
    assert list(user.branches.all()) == [branch]
    assert user.is_staff is False and user.is_superuser is False
    assert user.check_password(PASSWORD)
    invite = StaffInvite.objects.get()
    assert (invite.state, invite.used_by) == ("used", user)
    assert StaffAction.objects.get(kind=StaffAction.Kind.JOIN).user == user
    # ... and can sign in at /staff/.
    signed = client.post(reverse("staff:login"), {"username": "nok", "password": PASSWORD})
    assert signed["Location"] == reverse("staff:home")


def test_a_used_invite_gets_a_clear_message_and_changes_nothing(client, invite_link):
    join(client, invite_link, username="nok")

    again = join(Client(), invite_link, username="someone")
    page = Client().get(invite_link)

    assert again.status_code == page.status_code == 410
    assert "already been used" in again.content.decode()
    assert not User.objects.filter(username="someone").exists()


def test_an_expired_invite_gets_a_clear_message_and_changes_nothing(client, invite_link):
    with time_machine.travel(timezone.now() + dt.timedelta(days=3, seconds=1)):
        page = client.get(invite_link)
        response = join(client, invite_link)

    assert page.status_code == response.status_code == 410
    assert "has expired" in response.content.decode()
    assert not User.objects.filter(role=User.Role.CASHIER).exists()
    assert StaffInvite.objects.get().used_at is None


def test_a_revoked_invite_gets_a_clear_message(client, invite_link):
    staff_invite_revoke(invite=StaffInvite.objects.get())
    response = join(client, invite_link)
    assert response.status_code == 410
    assert "cancelled" in response.content.decode()
    assert not User.objects.filter(role=User.Role.CASHIER).exists()


def test_an_invite_to_a_closed_branch_cannot_be_used(client, invite_link, branch):
    branch.is_active = False
    branch.save()
    response = join(client, invite_link)
    assert response.status_code == 410
    assert not User.objects.filter(role=User.Role.CASHIER).exists()


@pytest.mark.parametrize("token", ["not-a-token", "x" * 32])
def test_an_unknown_invite_link_gets_a_clear_message(client, token):
    response = client.get(reverse("staff:join", args=[token]))
    assert response.status_code == 410
    assert "not valid" in response.content.decode()


def test_a_taken_username_is_refused_in_any_letter_case(client, invite_link, shop):
    UserFactory(username="Nok", shop=ShopFactory())

    response = join(client, invite_link, username="nok")

    assert response.status_code == 200
    assert "username is taken" in response.content.decode()
    assert StaffInvite.objects.get().used_at is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password1": "12345678", "password2": "12345678"}, "entirely numeric"),
        ({"password1": "short", "password2": "short"}, "too short"),
        ({"password2": "something-else-2026"}, "not the same"),
        ({"name": ""}, "This field is required"),
        ({"username": "no spaces please"}, "Enter a valid username"),
    ],
)
def test_bad_account_details_get_a_clear_message(client, invite_link, changes, message):
    response = join(client, invite_link, **changes)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert StaffInvite.objects.get().used_at is None
    assert not User.objects.filter(role=User.Role.CASHIER).exists()


def test_the_service_refuses_a_weak_password_even_without_the_form(branch):
    _invite, token = staff_invite_create(shop=branch.shop, branch=branch, created_by=None)
    with pytest.raises(Exception, match="too common"):
        staff_invite_accept(token=token, name="Nok", username="nok", password="password")
    assert StaffInvite.objects.get().used_at is None


def test_an_invite_must_be_for_an_open_branch_of_the_shop(shop, branch):
    with pytest.raises(Exception, match="active branch"):
        staff_invite_create(shop=shop, branch=BranchFactory(), created_by=None)
    with pytest.raises(Exception, match="at most 30 days"):
        staff_invite_create(
            shop=shop, branch=branch, created_by=None, valid_for=dt.timedelta(days=31)
        )


def test_invite_errors_say_why(branch):
    with pytest.raises(InviteInvalid) as exc:
        staff_invite_accept(token="nope", name="a", username="b", password=PASSWORD)
    assert exc.value.code == "invite_unknown"


# --- the activity log --------------------------------------------------------------------------


def test_managers_read_their_shops_activity_log_and_cannot_change_it(manager_client, branch, shop):
    cashier = UserFactory(username="nok", shop=shop, role=User.Role.CASHIER)
    from shops.staffing.services import staff_action_record

    row = staff_action_record(user=cashier, kind=StaffAction.Kind.SIGN_IN, branch=branch)

    listing = manager_client.get(reverse("admin:shops_staffaction_changelist"))
    assert listing.status_code == 200
    assert row in listing.context["cl"].result_list
    assert manager_client.get(reverse("admin:shops_staffaction_add")).status_code == 403
    response = manager_client.post(
        reverse("admin:shops_staffaction_change", args=[row.pk]), {"username": "x"}
    )
    assert response.status_code == 403
    assert (
        manager_client.post(
            reverse("admin:shops_staffaction_delete", args=[row.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    row.refresh_from_db()
    assert row.username == "nok"


def test_the_sidebar_links_invites_and_activity(manager_client):
    html = manager_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:shops_staffinvite_changelist") in html
    assert reverse("admin:shops_staffaction_changelist") in html
