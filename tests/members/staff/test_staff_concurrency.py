"""No path adds points twice, whatever runs at the same time: phones racing for one points QR code,
a double tap arriving as two requests at once, two phones accepting one invite. On PostgreSQL these
exercise the row locks; on SQLite (IMMEDIATE transactions) they check the serialised path."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from loyalty.errors import ApplicationError
from members.ledger.models import LedgerEntry
from members.staff import services
from members.staff.errors import ClaimUsed
from members.staff.models import PointsClaim
from shops.models import User
from shops.staffing.services import staff_invite_accept, staff_invite_create
from tests.concurrency import run_concurrently
from tests.factories import MemberFactory
from tests.members.conftest import assert_invariants

pytestmark = pytest.mark.django_db(transaction=True)


def threads(n: int) -> int:
    return n if connection.vendor == "postgresql" else min(n, 8)


def test_many_members_scanning_one_points_qr_code_at_once_give_one_entry(cashier, branch):
    claim = services.points_claim_create(
        user=cashier, branch=branch, amount="500", form_key=uuid.uuid4()
    )[0]
    n = threads(20)
    members = [MemberFactory(shop=branch.shop) for _ in range(n)]

    results = run_concurrently(
        lambda i: services.points_claim_redeem(
            shop=branch.shop, token=claim.token, member=members[i]
        ),
        n,
    )

    winners = [r for r in results if isinstance(r, services.ClaimResult)]
    assert len(winners) == 1, results
    assert all(isinstance(r, ClaimUsed) for r in results if r not in winners), results
    assert LedgerEntry.objects.count() == 1
    claim.refresh_from_db()
    assert claim.claimed_by == winners[0].entry.member
    assert_invariants(branch.shop_id)


def test_one_member_scanning_twice_at_once_gets_the_points_once(cashier, branch, member):
    claim = services.points_claim_create(
        user=cashier, branch=branch, amount="500", form_key=uuid.uuid4()
    )[0]

    results = run_concurrently(
        lambda i: services.points_claim_redeem(shop=branch.shop, token=claim.token, member=member),
        threads(10),
    )

    assert all(isinstance(r, services.ClaimResult) for r in results), results
    assert sum(not r.already for r in results) == 1
    member.refresh_from_db()
    assert member.balance == 20
    assert LedgerEntry.objects.count() == 1
    assert_invariants(branch.shop_id)


def test_a_double_tap_arriving_as_simultaneous_requests_adds_points_once(cashier, branch, member):
    key = str(uuid.uuid4())
    data = {"member": str(member.public_id), "amount": "500", "key": key, "receipt_no": ""}

    def tap(i):
        client = Client()
        client.force_login(cashier)
        return client.post(reverse("staff:confirm"), data)

    results = run_concurrently(tap, threads(10))

    assert all(getattr(r, "status_code", None) == 302 for r in results), results
    assert len({r["Location"] for r in results}) == 1
    assert LedgerEntry.objects.count() == 1
    member.refresh_from_db()
    assert member.balance == 20
    assert_invariants(branch.shop_id)


def test_a_new_phone_typed_at_two_counters_at_once_makes_one_member(cashier, other_cashier, branch):
    from members.models import Member

    staff = [cashier, other_cashier]
    results = run_concurrently(
        lambda i: services.staff_points_add(
            user=staff[i % 2],
            branch=branch,
            amount="500",
            form_key=uuid.uuid4(),
            phone="+66899990000",
        ),
        threads(6),
    )

    assert all(not isinstance(r, Exception) for r in results), results
    assert Member.objects.filter(phone="+66899990000").count() == 1
    assert LedgerEntry.objects.count() == threads(6)
    assert_invariants(branch.shop_id)


def test_two_phones_accepting_one_invite_at_once_make_one_account(staff_shop, branch):
    _invite, token = staff_invite_create(shop=staff_shop, branch=branch, created_by=None)
    n = threads(6)

    results = run_concurrently(
        lambda i: staff_invite_accept(
            token=token, name=f"Person {i}", username=f"person{i}", password="a-long-pass-2026"
        ),
        n,
    )

    made = [r for r in results if isinstance(r, User)]
    assert len(made) == 1, results
    assert all(isinstance(r, ApplicationError) for r in results if r not in made), results
    assert User.objects.filter(role=User.Role.CASHIER).count() == 1


def test_a_double_tap_on_make_qr_code_makes_one(cashier, branch):
    key = uuid.uuid4()
    results = run_concurrently(
        lambda i: services.points_claim_create(
            user=cashier, branch=branch, amount="500", form_key=key
        ),
        threads(8),
    )
    assert all(not isinstance(r, Exception) for r in results), results
    assert PointsClaim.objects.count() == 1
