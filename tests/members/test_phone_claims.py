"""Proof of a pending member's phone: codes by SMS through the fake gateway (single use, tries,
expiry, rate limits), the first proof wins, the merge moves everything, the cashier's confirmation,
personal data and the purge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from loyalty.sms import SmsRefused
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.earning import LineItem
from members.ledger.errors import MemberNotActive
from members.models import LedgerEntry, Member, PointLot, Purchase
from members.pages import export
from members.phone_claims import services as proof
from members.phone_claims.errors import ClaimLost, CodeNotValid, NoOpenClaim, TooManyCodes
from members.phone_claims.merge import KEPT, member_foreign_keys, relation_key
from members.phone_claims.models import PhoneClaim, PhoneCode
from members.qr_models import MemberCode
from members.signup.models import ConsentRecord, SignupAnswer
from members.signup.services import member_erase, member_register
from members.staff.services import points_claim_redeem
from rewards.models import SpotCode
from rewards.services import Address, reward_redeem
from shops.models import Tier, User
from shops.staffing.models import StaffAction
from tests.factories import (
    BranchFactory,
    PointsClaimFactory,
    RewardFactory,
    ShopFactory,
    SignupQuestionFactory,
    TagFactory,
    UserFactory,
)
from tests.members.conftest import assert_invariants
from tests.sms_fixtures import fake_sms, last_code

__all__ = ["fake_sms"]
# These tests read the English messages; the pages and the browser test check the Thai.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PHONE = "+66812345678"
NOK = "U" + "1" * 32
PLOY = "U" + "2" * 32
STORE = Actor.system(channel="store")


@pytest.fixture
def shop(db):
    return ShopFactory(
        slug="cafe",
        thb_per_point=Decimal("25.00"),
        welcome_points=50,
        expiry_mode="months_after",
        expiry_months=12,
        tiers_enabled=False,
    )


@pytest.fixture
def branch(shop):
    return BranchFactory(shop=shop, name="Siam")


def earn(shop, branch, amount="500", key="store-1", phone=PHONE):
    return ledger.points_earn(
        shop=shop, phone=phone, amount=amount, branch=branch, idempotency_key=key, actor=STORE
    )


def sign_up(shop, line_user_id=NOK, phone=PHONE):
    return member_register(
        shop=shop,
        line_user_id=line_user_id,
        first_name="Nok",
        last_name="Dee",
        phone=phone,
        birthday=dt.date(1990, 1, 1),
        accepted_terms=True,
    )


@pytest.fixture
def claim(shop, branch):
    """Points on a phone at the store, then a LINE user signs up typing that phone."""
    earn(shop, branch)
    registration = sign_up(shop)
    assert registration.claim is not None
    return registration.claim


def send(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return proof.phone_code_send(member=member)


@pytest.fixture
def sent(claim, fake_sms, django_capture_on_commit_callbacks):
    send(claim.member, django_capture_on_commit_callbacks)
    return claim


# --- codes by SMS ----------------------------------------------------------------------------------


def test_the_code_goes_out_by_sms_after_commit_and_only_its_hash_is_stored(
    claim, fake_sms, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = proof.phone_code_send(member=claim.member)
    assert fake_sms.messages == []  # nothing leaves while the transaction is open
    for callback in callbacks:
        callback()

    code = last_code(fake_sms, PHONE)
    row.refresh_from_db()
    assert row.sent_at is not None and row.message_id == fake_sms.messages[0].message_id
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert row.expires_at == row.created_at + dt.timedelta(minutes=5)
    assert row.line_user_id == NOK


def test_the_right_code_merges_the_pending_member_into_the_account(sent, fake_sms, shop):
    pending = sent.pending

    result = proof.phone_claim_prove(member=sent.member, code=last_code(fake_sms, PHONE))

    member = Member.objects.get(pk=sent.member_id)
    assert result.points == 20 and not result.replayed
    assert (member.phone, member.balance) == (PHONE, 20 + 50)
    assert sorted(member.ledger_entries.values_list("kind", flat=True)) == ["earn", "welcome"]
    assert Purchase.objects.get().member_id == member.pk
    pending.refresh_from_db()
    assert (pending.status, pending.phone, pending.balance) == ("merged", None, 0)
    assert not LedgerEntry.objects.filter(member=pending).exists()
    claim = PhoneClaim.objects.get(pk=sent.pk)
    assert (claim.status, claim.method, claim.points_moved) == ("proven", "sms", 20)
    assert_invariants(shop.pk)


def test_a_proof_repeated_is_a_replay_and_the_code_works_once(sent, fake_sms):
    code = last_code(fake_sms, PHONE)
    first = proof.phone_claim_prove(member=sent.member, code=code)

    again = proof.phone_claim_prove(member=sent.member, code=code)

    assert again.replayed and again.points == first.points
    assert Member.objects.get(pk=sent.member_id).balance == 70


def test_a_wrong_code_is_refused_and_the_try_is_kept(sent, fake_sms):
    right = last_code(fake_sms, PHONE)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    with pytest.raises(CodeNotValid) as refused:
        proof.phone_claim_prove(member=sent.member, code=wrong)

    assert "4 more tries" in str(refused.value)
    assert PhoneCode.objects.get().attempts == 1  # committed although the request was refused
    assert Member.objects.get(pk=sent.pending_id).balance == 20


def test_after_five_wrong_tries_even_the_right_code_is_refused(sent, fake_sms):
    right = last_code(fake_sms, PHONE)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(CodeNotValid):
            proof.phone_claim_prove(member=sent.member, code=wrong)

    with pytest.raises(CodeNotValid) as refused:
        proof.phone_claim_prove(member=sent.member, code=right)

    assert "Too many wrong tries" in str(refused.value)
    assert PhoneClaim.objects.get().status == "open"


def test_an_expired_code_is_refused(sent, fake_sms):
    code = last_code(fake_sms, PHONE)

    later = timezone.now() + dt.timedelta(minutes=5, seconds=1)
    with time_machine.travel(later), pytest.raises(CodeNotValid) as refused:
        proof.phone_claim_prove(member=sent.member, code=code)

    assert "expired" in str(refused.value)


def test_a_new_code_replaces_the_previous_one(sent, fake_sms, django_capture_on_commit_callbacks):
    old = last_code(fake_sms, PHONE)
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        send(sent.member, django_capture_on_commit_callbacks)
        new = last_code(fake_sms, PHONE)
        if new != old:  # one in a million they are equal
            with pytest.raises(CodeNotValid):
                proof.phone_claim_prove(member=sent.member, code=old)
        assert proof.phone_claim_prove(member=sent.member, code=new).points == 20


def test_codes_typed_with_thai_digits_or_spaces_are_read(sent, fake_sms):
    code = last_code(fake_sms, PHONE)
    typed = " ".join(code[:3]) + " " + code[3:].translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))

    assert proof.phone_claim_prove(member=sent.member, code=typed).points == 20


def test_not_six_digits_is_refused_without_using_a_try(sent):
    with pytest.raises(CodeNotValid):
        proof.phone_claim_prove(member=sent.member, code="12a")
    assert PhoneCode.objects.get().attempts == 0


def test_no_code_asked_for_yet_is_refused(claim):
    with pytest.raises(CodeNotValid) as refused:
        proof.phone_claim_prove(member=claim.member, code="123456")
    assert "Ask for a code first" in str(refused.value)


# --- rate limits -----------------------------------------------------------------------------------


def test_one_code_a_minute_per_phone(sent, django_capture_on_commit_callbacks):
    with pytest.raises(TooManyCodes) as refused:
        send(sent.member, django_capture_on_commit_callbacks)
    assert refused.value.extra["per"] == "phone"

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        send(sent.member, django_capture_on_commit_callbacks)
    assert PhoneCode.objects.count() == 2


def test_at_most_five_codes_an_hour_per_phone_even_for_two_accounts(
    claim, shop, fake_sms, django_capture_on_commit_callbacks
):
    other = sign_up(shop, line_user_id=PLOY).claim
    start = timezone.now()
    for i in range(5):
        with time_machine.travel(start + dt.timedelta(minutes=2 * i)):
            send((claim, other)[i % 2].member, django_capture_on_commit_callbacks)

    eleventh_minute = start + dt.timedelta(minutes=11)
    with time_machine.travel(eleventh_minute), pytest.raises(TooManyCodes) as refused:
        send(other.member, django_capture_on_commit_callbacks)
    assert "last hour" in str(refused.value)
    with time_machine.travel(start + dt.timedelta(minutes=61)):
        send(claim.member, django_capture_on_commit_callbacks)
    assert len(fake_sms.messages) == 6


def test_one_code_a_minute_per_line_account_across_phones(
    shop, branch, fake_sms, django_capture_on_commit_callbacks
):
    # given the LINE account asked for a code for one phone ...
    earn(shop, branch, key="a", phone="0811111111")
    earn(shop, branch, key="b", phone="0822222222")
    member = sign_up(shop, phone="0811111111").member
    send(member, django_capture_on_commit_callbacks)

    # ... then claims another phone (profile) and asks again at once
    proof.phone_claim_withdraw(member=member)
    from members.phone_claims.services import phone_claim_open

    pending = Member.objects.get(shop=shop, phone="+66822222222")
    phone_claim_open(member=member, pending=pending, phone="+66822222222")
    with pytest.raises(TooManyCodes) as refused:
        send(member, django_capture_on_commit_callbacks)
    assert refused.value.extra["per"] == "line"


def test_a_failed_send_is_recorded_and_does_not_count_for_the_hour(
    claim, fake_sms, django_capture_on_commit_callbacks
):
    fake_sms.fail_next(status=503)

    row = send(claim.member, django_capture_on_commit_callbacks)

    row.refresh_from_db()
    assert row.sent_at is None and row.send_error.startswith("sms_unavailable")
    assert PhoneCode.objects.filter(send_error="").count() == 0


def test_codes_are_refused_when_sms_is_off(claim, settings):
    settings.SMS_API_KEY = ""
    with pytest.raises(SmsRefused) as refused:
        proof.phone_code_send(member=claim.member)
    assert "counter" in str(refused.value)


# --- two accounts, one phone -----------------------------------------------------------------------


def test_the_first_proof_wins_and_the_other_claim_is_lost(
    claim, shop, fake_sms, django_capture_on_commit_callbacks
):
    other = sign_up(shop, line_user_id=PLOY).claim
    send(other.member, django_capture_on_commit_callbacks)
    proof.phone_claim_prove(member=other.member, code=last_code(fake_sms, PHONE))

    with pytest.raises(ClaimLost) as refused:
        proof.phone_code_send(member=claim.member)

    assert "confirmed by another member" in str(refused.value)
    assert PhoneClaim.objects.get(pk=claim.pk).status == "lost"
    assert Member.objects.get(pk=claim.member_id).balance == 50
    assert Member.objects.get(pk=other.member_id).balance == 70


def test_a_pending_record_taken_meanwhile_loses_the_claim(
    claim, fake_sms, django_capture_on_commit_callbacks
):
    Member.objects.filter(pk=claim.pending_id).update(status=Member.Status.BLOCKED)

    with pytest.raises(ClaimLost):
        send(claim.member, django_capture_on_commit_callbacks)
    assert PhoneClaim.objects.get(pk=claim.pk).status == "lost"  # kept although refused


def test_withdrawn_claim_cannot_be_proven(claim):
    proof.phone_claim_withdraw(member=claim.member)
    with pytest.raises(NoOpenClaim):
        proof.phone_claim_prove(member=claim.member, code="123456")


# --- the merge -------------------------------------------------------------------------------------


def _every_relation_used_by(pending, shop, branch):
    """Rows of every kind that point at a member, on ``pending``."""
    ledger.points_earn(  # a purchase with items: what was bought (PurchaseProduct)
        shop=shop,
        member=pending,
        amount="100",
        items=[LineItem(sku="LAT-01", name="Latte", quantity=Decimal(1), price=Decimal(100))],
        idempotency_key="items",
        actor=STORE,
    )
    ledger.points_adjust(
        member=pending, points=500, note="seed", idempotency_key="seed", actor=Actor.system()
    )
    reward_redeem(
        member=pending, reward=RewardFactory(shop=shop), idempotency_key="r1", actor=STORE
    )
    reward_redeem(
        member=pending,
        reward=RewardFactory(shop=shop, kind="delivery"),
        idempotency_key="r2",
        actor=STORE,
        address=Address("Nok", "0812345678", "1 Road", "10110"),
    )
    SpotCode.objects.create(
        shop=shop,
        member=pending,
        reward=RewardFactory(shop=shop),
        code="123456",
        expires_at=timezone.now(),
    )
    points_claim_redeem(
        shop=shop, token=PointsClaimFactory(shop=shop, branch=branch).token, member=pending
    )
    ConsentRecord.objects.create(
        shop=shop, member=pending, kind="marketing", granted=True, method="import"
    )
    question = SignupQuestionFactory(shop=shop, label="Job")
    SignupAnswer.objects.create(shop=shop, member=pending, question=question, text="old answer")
    pending.tags.add(TagFactory(shop=shop))
    MemberCode.objects.create(shop=shop, member=pending, code="87654321", expires_at=timezone.now())
    from members.line.models import AccountLinkNonce, LineFriend

    AccountLinkNonce.objects.create(
        shop=shop, member=pending, nonce="n" * 43, expires_at=timezone.now()
    )
    LineFriend.objects.create(
        shop=shop, line_user_id="U" + "7" * 32, state="friend", member=pending
    )
    from campaigns.segments.services import rfm_refresh

    rfm_refresh(shop_id=shop.pk)  # the pending member has a purchase: it gets RFM scores
    from campaigns.broadcasts.models import Broadcast, BroadcastRecipient

    BroadcastRecipient.objects.create(
        broadcast=Broadcast.objects.create(shop=shop, name="Promo"),
        member=pending,
        channel="sms",
        phone=pending.phone or "",
    )
    from campaigns.sms.models import SmsMessage

    SmsMessage.objects.create(shop=shop, member=pending, phone=pending.phone or "", text="Sale")
    from tests.factories import LinkClickFactory, TrackedLinkFactory

    LinkClickFactory(link=TrackedLinkFactory(shop=shop), member=pending)


def test_the_merge_moves_every_row_that_points_at_the_pending_member(
    shop, branch, fake_sms, django_capture_on_commit_callbacks
):
    # given a pending member with a row in every table that points at a member
    pending = earn(shop, branch).member
    _every_relation_used_by(pending, shop, branch)
    used = {
        relation_key(f)
        for f in member_foreign_keys()
        if f.model._base_manager.filter(**{f.name: pending}).exists()
    }
    # (a table added later must be given a row here, so the merge is shown to handle it)
    assert used == {relation_key(f) for f in member_foreign_keys()} - KEPT
    balance = Member.objects.get(pk=pending.pk).balance
    claim = sign_up(shop).claim
    send(claim.member, django_capture_on_commit_callbacks)

    # when the phone is proven
    proof.phone_claim_prove(member=claim.member, code=last_code(fake_sms, PHONE))

    # then nothing points at the pending record any more but the claim itself
    for field in member_foreign_keys():
        if relation_key(field) in KEPT:
            continue
        left = field.model._base_manager.filter(**{field.name: pending})
        assert not left.exists(), relation_key(field)
    member = Member.objects.get(pk=claim.member_id)
    assert member.balance == balance + 50
    assert member.tags.count() == 1
    assert member.coupons.count() == 1 and member.deliveries.count() == 1
    assert not MemberCode.objects.filter(member=member).exists()  # the pending's codes: gone
    assert_invariants(shop.pk)


def test_merged_history_has_one_running_balance(
    shop, branch, fake_sms, django_capture_on_commit_callbacks
):
    earn(shop, branch, key="before")
    claim = sign_up(shop).claim
    earn(shop, branch, key="after")  # the phone still earns on the pending record meanwhile
    send(claim.member, django_capture_on_commit_callbacks)

    proof.phone_claim_prove(member=claim.member, code=last_code(fake_sms, PHONE))

    entries = list(LedgerEntry.objects.filter(member=claim.member_id).order_by("id"))
    running = 0
    for entry in entries:
        running += entry.points
        assert entry.balance_after == running
    assert running == 20 + 50 + 20
    assert_invariants(shop.pk)


def test_debt_of_the_pending_member_is_paid_from_the_accounts_points(
    shop, branch, fake_sms, django_capture_on_commit_callbacks
):
    # given the pending member spent points and then the purchase was refunded: debt
    result = earn(shop, branch, amount="1000")  # 40 points
    pending = result.member
    ledger.points_spend(member=pending, points=30, idempotency_key="spend", actor=STORE)
    ledger.purchase_reverse(
        purchase=result.purchase, note="refund", idempotency_key="refund", actor=STORE
    )
    pending.refresh_from_db()
    assert (pending.balance, pending.debt) == (-30, 30)
    claim = sign_up(shop).claim
    send(claim.member, django_capture_on_commit_callbacks)

    proof.phone_claim_prove(member=claim.member, code=last_code(fake_sms, PHONE))

    member = Member.objects.get(pk=claim.member_id)
    assert (member.balance, member.debt) == (20, 0)  # 50 welcome − 30 debt
    assert sum(PointLot.objects.filter(member=member).values_list("remaining", flat=True)) == 20
    assert_invariants(shop.pk)


def test_the_merged_account_keeps_the_higher_tier_and_reaches_a_new_one(
    shop, branch, fake_sms, django_capture_on_commit_callbacks
):
    shop.tiers_enabled = True
    shop.save()
    silver = Tier.objects.create(shop=shop, name="Silver", threshold=0)
    gold = Tier.objects.create(shop=shop, name="Gold", threshold=60)
    pending = earn(shop, branch, amount="1000").member  # 40 points earned
    Member.objects.filter(pk=pending.pk).update(tier=silver)
    claim = sign_up(shop).claim  # 50 welcome points
    send(claim.member, django_capture_on_commit_callbacks)

    proof.phone_claim_prove(member=claim.member, code=last_code(fake_sms, PHONE))

    assert Member.objects.get(pk=claim.member_id).tier == gold  # 90 earned together


def test_a_cashier_adding_points_by_phone_after_the_merge_reaches_the_account(
    sent, shop, branch, fake_sms
):
    proof.phone_claim_prove(member=sent.member, code=last_code(fake_sms, PHONE))

    result = earn(shop, branch, key="later")

    assert result.member.pk == sent.member_id
    with pytest.raises(MemberNotActive):  # a screen still showing the old record
        ledger.points_earn(
            shop=shop, member=sent.pending, amount="100", idempotency_key="stale", actor=STORE
        )


def test_the_pending_records_details_fill_what_the_account_lacks(
    shop, branch, fake_sms, django_capture_on_commit_callbacks
):
    pending = earn(shop, branch).member
    Member.objects.filter(pk=pending.pk).update(customer_id="C-1", email="nok@example.com")
    claim = sign_up(shop).claim
    send(claim.member, django_capture_on_commit_callbacks)

    proof.phone_claim_prove(member=claim.member, code=last_code(fake_sms, PHONE))

    member = Member.objects.get(pk=claim.member_id)
    assert (member.customer_id, member.email, member.first_name) == (
        "C-1",
        "nok@example.com",
        "Nok",
    )
    pending.refresh_from_db()
    assert (pending.customer_id, pending.email) == (None, "")


# --- at the counter --------------------------------------------------------------------------------


@pytest.fixture
def cashier(shop, branch):
    user = UserFactory(shop=shop, role=User.Role.CASHIER, username="cashier-a")
    user.branches.add(branch)
    return user


def test_a_cashier_confirms_the_phone_at_the_counter_and_it_is_recorded(
    claim, cashier, branch, shop
):
    result = proof.phone_claim_confirm_at_counter(user=cashier, branch=branch, member=claim.member)

    assert result.points == 20
    claim.refresh_from_db()
    assert (claim.status, claim.method, claim.confirmed_by, claim.branch) == (
        "proven",
        "counter",
        cashier,
        branch,
    )
    assert claim.confirmed_by_name == "cashier-a"
    action = StaffAction.objects.get(kind=StaffAction.Kind.PHONE_CONFIRM)
    assert (action.user, action.branch, action.detail["points"]) == (cashier, branch, 20)
    assert proof.phone_claim_confirm_at_counter(
        user=cashier, branch=branch, member=claim.member
    ).replayed
    assert StaffAction.objects.filter(kind=StaffAction.Kind.PHONE_CONFIRM).count() == 1
    assert_invariants(shop.pk)


def test_a_cashier_of_another_branch_cannot_confirm(claim, shop):
    from members.staff.errors import StaffNotAllowed

    elsewhere = BranchFactory(shop=shop)
    other = UserFactory(shop=shop, role=User.Role.CASHIER)
    other.branches.add(elsewhere)

    with pytest.raises(StaffNotAllowed):
        proof.phone_claim_confirm_at_counter(
            user=other, branch=BranchFactory(shop=shop), member=claim.member
        )
    assert PhoneClaim.objects.get().status == "open"


# --- personal data ---------------------------------------------------------------------------------


def test_erasing_the_account_withdraws_its_claim_and_blanks_the_numbers(sent):
    member_erase(member=sent.member)

    claim = PhoneClaim.objects.get(pk=sent.pk)
    assert (claim.status, claim.phone) == ("withdrawn", "")
    assert list(PhoneCode.objects.values_list("phone", "line_user_id")) == [("", "")]
    assert Member.objects.get(pk=sent.pending_id).balance == 20  # the pending record stays


def test_my_data_lists_the_members_phone_claims(claim):
    data = export.member_data(claim.member)

    assert data["phone_claims"][0]["phone"] == PHONE


def test_the_purge_deletes_old_codes_and_blanks_old_lost_claims(sent):
    proof.phone_claim_withdraw(member=sent.member)
    later = timezone.now() + dt.timedelta(days=31)

    result = proof.phone_codes_purge(now=later)

    assert result == {"codes_deleted": 1, "claims_blanked": 1}
    assert PhoneClaim.objects.get().phone == ""
    assert proof.phone_codes_purge(now=later) == {"codes_deleted": 0, "claims_blanked": 0}


def test_the_purge_keeps_recent_codes(sent):
    assert proof.phone_codes_purge()["codes_deleted"] == 0


def test_the_purge_is_a_daily_job():
    from django.utils.module_loading import import_string

    from loyalty.schedules import SCHEDULES

    [job] = [j for j in SCHEDULES if j.name == "purge-phone-codes"]
    assert import_string(job.func)() == {"codes_deleted": 0, "claims_blanked": 0}
