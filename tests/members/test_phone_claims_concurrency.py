"""Races on one pending phone: two LINE users proving it at once, a proof racing earns on the
pending member, an SMS proof racing the cashier's confirmation. Exactly one merge, invariants
hold.

Threaded, with a real commit per thread (PostgreSQL row locks; ``make test`` with DATABASE_URL,
and CI). On SQLite every write transaction is IMMEDIATE, which serialises writers; the same tests
run there too as a check of that.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.models import LedgerEntry, Member
from members.phone_claims import services as proof
from members.phone_claims.errors import ClaimLost
from members.phone_claims.models import PhoneClaim
from members.signup.services import member_register
from shops.models import User
from shops.staffing.models import StaffAction
from tests.concurrency import run_concurrently
from tests.factories import BranchFactory, ShopFactory, UserFactory
from tests.members.conftest import assert_invariants
from tests.sms_fixtures import fake_sms, last_code

__all__ = ["fake_sms"]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = "+66812345678"
STORE = Actor.system(channel="store")


@pytest.fixture
def shop(db, settings):
    settings.OTP_RESEND_SECONDS = 0  # several accounts ask for codes to one phone in a row
    settings.OTP_MAX_PER_HOUR = 100
    return ShopFactory(thb_per_point=Decimal("25.00"), expiry_mode="never", welcome_points=50)


@pytest.fixture
def branch(shop):
    return BranchFactory(shop=shop)


def threads_for(n: int) -> int:
    return n if connection.vendor == "postgresql" else min(n, 6)


def pending_with_points(shop, branch) -> Member:
    return ledger.points_earn(
        shop=shop, phone=PHONE, amount="500", branch=branch, idempotency_key="seed", actor=STORE
    ).member


def claimant(shop, n: int):
    return member_register(
        shop=shop,
        line_user_id=f"U{n:032x}",
        first_name=f"Claimant{n}",
        last_name="X",
        phone=PHONE,
        birthday=dt.date(1990, 1, 1),
        accepted_terms=True,
    ).claim


def code_for(claim, fake_sms) -> str:
    proof.phone_code_send(member=claim.member)  # autocommit: the SMS goes out at once
    return last_code(fake_sms, PHONE)


def test_two_accounts_proving_one_phone_at_once_merge_it_exactly_once(shop, branch, fake_sms):
    pending = pending_with_points(shop, branch)
    n = threads_for(6)
    claims = [claimant(shop, i) for i in range(n)]
    codes = [code_for(claim, fake_sms) for claim in claims]

    results = run_concurrently(
        lambda i: proof.phone_claim_prove(member=claims[i].member, code=codes[i]), n
    )

    won = [r for r in results if isinstance(r, proof.PhoneProof)]
    lost = [r for r in results if isinstance(r, ClaimLost)]
    assert len(won) == 1 and len(lost) == n - 1, results
    winner = won[0].member
    assert winner.balance == 20 + 50 and winner.phone == PHONE
    assert PhoneClaim.objects.filter(status="proven").count() == 1
    assert PhoneClaim.objects.filter(status="lost").count() == n - 1
    assert Member.objects.get(pk=pending.pk).status == Member.Status.MERGED
    for claim in claims:
        if claim.member_id != winner.pk:
            assert Member.objects.get(pk=claim.member_id).balance == 50
    assert_invariants(shop.pk)


def test_a_proof_racing_earns_on_the_pending_member_loses_no_points(shop, branch, fake_sms):
    pending = pending_with_points(shop, branch)
    claim = claimant(shop, 1)
    code = code_for(claim, fake_sms)
    n = threads_for(12)

    def op(i: int):
        if i == 0:
            return proof.phone_claim_prove(member=claim.member, code=code)
        return ledger.points_earn(
            shop=shop,
            phone="081-234-5678",
            amount="100",
            branch=branch,
            idempotency_key=f"race-{i}",
            actor=STORE,
        )

    results = run_concurrently(op, n)

    assert not any(isinstance(r, Exception) for r in results), results
    member = Member.objects.get(pk=claim.member_id)
    pending.refresh_from_db()
    # every earn landed on the pending record before the merge (and moved with it) or on the
    # account after it: all of them are the account's now
    assert (pending.status, pending.balance) == (Member.Status.MERGED, 0)
    assert not LedgerEntry.objects.filter(member=pending).exists()
    assert member.balance == 50 + 20 + 4 * (n - 1)
    assert LedgerEntry.objects.filter(member=member, kind="earn").count() == n
    assert_invariants(shop.pk)


def test_sms_proof_and_the_cashiers_confirmation_at_once_merge_once(shop, branch, fake_sms):
    pending_with_points(shop, branch)
    claim = claimant(shop, 1)
    code = code_for(claim, fake_sms)
    cashier = UserFactory(shop=shop, role=User.Role.CASHIER)
    cashier.branches.add(branch)

    def op(i: int):
        if i % 2:
            return proof.phone_claim_prove(member=claim.member, code=code)
        return proof.phone_claim_confirm_at_counter(
            user=cashier, branch=branch, member=claim.member
        )

    results = run_concurrently(op, threads_for(6))

    assert all(isinstance(r, proof.PhoneProof) for r in results), results
    assert sum(1 for r in results if not r.replayed) == 1
    assert Member.objects.get(pk=claim.member_id).balance == 70
    assert StaffAction.objects.filter(kind=StaffAction.Kind.PHONE_CONFIRM).count() <= 1
    assert_invariants(shop.pk)
