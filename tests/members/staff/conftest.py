"""Fixtures for the staff app: a shop with two branches and a tier, staff of each role, and
signed-in clients working at a branch."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from shops.models import User
from tests.factories import BranchFactory, MemberFactory, ShopFactory, TierFactory, UserFactory

UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36"


@pytest.fixture
def staff_shop(db):
    """25 THB per point, no expiry, tiers on, no welcome points."""
    return ShopFactory(
        name="Cafe Aroi",
        slug="cafe-aroi",
        thb_per_point=Decimal("25.00"),
        expiry_mode="never",
        tiers_enabled=True,
        welcome_points=0,
    )


@pytest.fixture
def branch(staff_shop):
    return BranchFactory(shop=staff_shop, name="Siam", code="SIAM")


@pytest.fixture
def other_branch(staff_shop):
    return BranchFactory(shop=staff_shop, name="Thonglor", code="THL")


@pytest.fixture
def gold(staff_shop):
    return TierFactory(shop=staff_shop, name="Gold", threshold=0, earn_multiplier=Decimal("1.50"))


@pytest.fixture
def cashier(staff_shop, branch):
    user = UserFactory(username="nok", first_name="Nok", shop=staff_shop, role=User.Role.CASHIER)
    user.branches.add(branch)
    return user


@pytest.fixture
def other_cashier(staff_shop, branch):
    user = UserFactory(username="ploy", shop=staff_shop, role=User.Role.CASHIER)
    user.branches.add(branch)
    return user


@pytest.fixture
def shop_manager(staff_shop):
    return UserFactory(username="boss", shop=staff_shop, role=User.Role.MANAGER)


@pytest.fixture
def member(staff_shop):
    return MemberFactory(
        shop=staff_shop, first_name="Somchai", last_name="Jaidee", phone="+66812345678"
    )


def staff_client(user, branch=None) -> Client:
    """A phone signed in as ``user``, at ``branch`` (chosen as the app would)."""
    client = Client(HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.7")
    client.force_login(user)
    if branch is not None:
        response = client.post(reverse("staff:branch"), {"branch": branch.pk})
        assert response.status_code == 302, response
    return client


@pytest.fixture
def cashier_client(cashier, branch):
    return staff_client(cashier)


@pytest.fixture
def manager_client(shop_manager, branch, other_branch):
    return staff_client(shop_manager, branch)


def spend(client, member=None, *, amount="500", key=None, phone="", receipt_no="", step="confirm"):
    """POST the spend form's review or confirm step as the page would."""
    data = {
        "member": str(member.public_id) if member else "",
        "phone": phone,
        "amount": amount,
        "receipt_no": receipt_no,
        "key": str(key or uuid.uuid4()),
    }
    return client.post(reverse(f"staff:{step}"), data)
