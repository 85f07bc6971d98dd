"""A cashier's purchase above the shop's cashier amount limit (default 20,000 THB) needs a manager's
approval on the same phone: the manager's password or approval PIN, counted by django-axes like a
sign-in; the approval is bound to that one purchase, expires after a few minutes, and the entry
records who approved."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from members.ledger.models import LedgerEntry
from members.staff import approvals, services
from members.staff.approvals import Purpose
from members.staff.errors import ApprovalInvalid, ApprovalRefused, ApprovalRequired
from members.staff.models import PointsClaim
from shops.apikeys import api_key_create
from shops.models import User
from shops.staffing.models import StaffAction
from tests.concurrency import run_concurrently
from tests.factories import DEFAULT_PASSWORD, MemberFactory, ShopFactory, UserFactory
from tests.members.conftest import assert_invariants
from tests.members.staff.conftest import UA, spend

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
BIG = "25,000.00"
PIN = "246810"


def grant(approver, cashier, branch, *, amount="25000.00", key, member=None, phone=""):
    return approvals.staff_approval_grant(
        approver=approver,
        cashier=cashier,
        branch=branch,
        purpose=Purpose.POINTS,
        amount=Decimal(amount),
        form_key=key,
        member=member,
        phone=phone,
    )


def add(cashier, branch, member, *, amount="25000.00", key, approval=None):
    return services.staff_points_add(
        user=cashier, branch=branch, amount=amount, form_key=key, member=member, approval=approval
    )


def approve(client, member, *, key, username="boss", secret=DEFAULT_PASSWORD, amount=BIG):
    return client.post(
        reverse("staff:approve"),
        {
            "member": str(member.public_id),
            "phone": "",
            "amount": amount,
            "receipt_no": "",
            "key": str(key),
            "username": username,
            "secret": secret,
        },
    )


def confirm(client, member, *, key, approval="", amount=BIG):
    return client.post(
        reverse("staff:confirm"),
        {
            "member": str(member.public_id),
            "phone": "",
            "amount": amount,
            "receipt_no": "",
            "key": str(key),
            "approval": approval,
        },
    )


def token_of(response) -> str:
    return response.context["approval"].token


# --- the rule -----------------------------------------------------------------------------------


def test_only_a_cashier_above_the_limit_needs_approval(staff_shop, cashier, shop_manager):
    limit = staff_shop.cashier_amount_limit
    assert limit == Decimal("20000.00")
    assert approvals.approval_needed(user=cashier, shop=staff_shop, amount=limit + Decimal("0.01"))
    assert not approvals.approval_needed(user=cashier, shop=staff_shop, amount=limit)
    assert not approvals.approval_needed(user=shop_manager, shop=staff_shop, amount=limit * 100)


def test_a_cashier_above_the_limit_writes_nothing_without_approval(cashier, branch, member):
    with pytest.raises(ApprovalRequired, match=r"above 20,000\.00 baht need a manager"):
        add(cashier, branch, member, key=uuid.uuid4())
    assert not LedgerEntry.objects.exists()


def test_an_approved_purchase_records_the_manager(cashier, shop_manager, branch, member):
    key = uuid.uuid4()
    approval = grant(shop_manager, cashier, branch, key=key, member=member)

    result = add(cashier, branch, member, key=key, approval=approval.token)

    assert (result.points, result.entry.created_by, result.entry.approved_by) == (
        1000,
        cashier,
        shop_manager,
    )
    approved = StaffAction.objects.get(kind=StaffAction.Kind.APPROVE)
    assert (approved.user, approved.detail["cashier"], approved.detail["amount"]) == (
        shop_manager,
        "nok",
        "25000.00",
    )
    added = StaffAction.objects.get(kind=StaffAction.Kind.POINTS_ADD)
    assert added.detail["approved_by"] == "boss" and "approved by boss" in added.object_repr


def test_a_manager_adds_a_big_purchase_alone(shop_manager, branch, member):
    result = add(shop_manager, branch, member, key=uuid.uuid4())
    assert result.entry.approved_by is None and result.points == 1000


@pytest.mark.parametrize(
    "change",
    ["amount", "member", "key", "cashier"],
)
def test_an_approval_works_only_for_the_purchase_it_was_given_for(
    change, cashier, other_cashier, shop_manager, branch, member
):
    key = uuid.uuid4()
    approval = grant(shop_manager, cashier, branch, key=key, member=member)
    use = {"user": cashier, "member": member, "amount": "25000.00", "form_key": key}
    use[{"amount": "amount", "member": "member", "key": "form_key", "cashier": "user"}[change]] = {
        "amount": "30000.00",
        "member": MemberFactory(shop=member.shop),
        "key": uuid.uuid4(),
        "cashier": other_cashier,
    }[change]

    with pytest.raises(ApprovalInvalid, match="another purchase"):
        services.staff_points_add(branch=branch, approval=approval.token, **use)
    assert not LedgerEntry.objects.exists()


def test_a_forged_or_edited_token_is_refused(cashier, shop_manager, branch, member):
    key = uuid.uuid4()
    token = grant(shop_manager, cashier, branch, key=key, member=member).token
    with pytest.raises(ApprovalInvalid):
        add(cashier, branch, member, key=key, approval=token[:-2] + "xx")
    with pytest.raises(ApprovalInvalid):
        add(cashier, branch, member, key=key, approval="approved")


def test_an_approval_expires_after_a_few_minutes(cashier, shop_manager, branch, member):
    key = uuid.uuid4()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        token = grant(shop_manager, cashier, branch, key=key, member=member).token
    later = start + approvals.APPROVAL_LIFETIME + dt.timedelta(seconds=1)
    with time_machine.travel(later), pytest.raises(ApprovalInvalid, match="expired"):
        add(cashier, branch, member, key=key, approval=token)
    assert not LedgerEntry.objects.exists()


def test_a_replayed_approval_makes_no_second_entry(cashier, shop_manager, branch, member):
    key = uuid.uuid4()
    token = grant(shop_manager, cashier, branch, key=key, member=member).token

    first = add(cashier, branch, member, key=key, approval=token)
    again = add(cashier, branch, member, key=key, approval=token)

    assert again.replayed and again.entry == first.entry
    assert LedgerEntry.objects.count() == 1
    with pytest.raises(ApprovalInvalid):  # and it cannot approve a new form
        add(cashier, branch, member, key=uuid.uuid4(), approval=token)


def test_an_approval_stops_working_when_its_manager_is_deactivated(
    cashier, shop_manager, branch, member
):
    key = uuid.uuid4()
    token = grant(shop_manager, cashier, branch, key=key, member=member).token
    shop_manager.is_active = False
    shop_manager.save()

    with pytest.raises(ApprovalInvalid, match="can no longer approve"):
        add(cashier, branch, member, key=key, approval=token)


@pytest.mark.parametrize("who", ["cashier", "other shop's manager", "inactive manager"])
def test_only_an_active_manager_or_owner_of_the_shop_may_approve(
    who, cashier, other_cashier, branch, member, staff_shop
):
    approver = {
        "cashier": other_cashier,
        "other shop's manager": UserFactory(shop=ShopFactory(), role=User.Role.MANAGER),
        "inactive manager": UserFactory(shop=staff_shop, role=User.Role.MANAGER, is_active=False),
    }[who]

    with pytest.raises(ApprovalRefused, match="Only a manager or the owner"):
        grant(approver, cashier, branch, key=uuid.uuid4(), member=member)

    refused = StaffAction.objects.get(kind=StaffAction.Kind.APPROVE_REFUSED)
    assert (refused.user, refused.detail["reason"]) == (cashier, "not_allowed")
    assert not StaffAction.objects.filter(kind=StaffAction.Kind.APPROVE).exists()


def test_the_api_is_not_limited(staff_shop, member):
    _key, raw = api_key_create(shop=staff_shop, name="pos")
    response = Client().post(
        "/api/v1/points/earn",
        json.dumps({"member_id": str(member.public_id), "amount": "50000.00"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_IDEMPOTENCY_KEY="pos-1",
    )
    assert response.status_code == 201 and response.json()["points"] == 2000


# --- on the phone -------------------------------------------------------------------------------


def test_the_whole_approval_on_the_cashiers_phone(cashier_client, shop_manager, member, branch):
    key = uuid.uuid4()

    # given the cashier reviews a big spend: the page asks for a manager
    review = spend(cashier_client, member, amount=BIG, key=key, step="review")
    assert review.status_code == 200
    assert 'data-testid="approval"' in review.content.decode()
    assert 'data-testid="confirm"' not in review.content.decode()

    # when they confirm anyway, nothing is written and the approval is asked again
    skipped = confirm(cashier_client, member, key=key)
    assert skipped.status_code == 403 and 'data-testid="approval"' in skipped.content.decode()
    assert not LedgerEntry.objects.exists()

    # when the manager types their password on the phone
    approved = approve(cashier_client, member, key=key)
    assert approved.status_code == 200
    html = approved.content.decode()
    assert 'data-testid="approved-by"' in html and "Approved by boss" in html
    assert DEFAULT_PASSWORD not in html

    # then the cashier confirms and the entry names the manager
    done = confirm(cashier_client, member, key=key, approval=token_of(approved))
    entry = LedgerEntry.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse(
        "staff:done", args=[entry.public_id]
    )
    assert (entry.points, entry.approved_by) == (1000, shop_manager)
    today = cashier_client.get(reverse("staff:today")).content.decode()
    assert 'data-testid="tx-approved"' in today and "Approved by boss" in today

    # and a resubmit of the same page is the same entry
    again = confirm(cashier_client, member, key=key, approval=token_of(approved))
    assert again["Location"] == done["Location"] and LedgerEntry.objects.count() == 1
    assert_invariants(member.shop_id)


def test_an_approval_pin_approves_but_never_signs_in(cashier_client, shop_manager, member):
    shop_manager.set_approval_pin(PIN)
    shop_manager.save()
    key = uuid.uuid4()

    approved = approve(cashier_client, member, key=key, secret=PIN)
    sign_in = Client(HTTP_USER_AGENT=UA).post(
        reverse("staff:login"), {"username": "boss", "password": PIN}
    )

    assert approved.status_code == 200 and token_of(approved)
    assert sign_in.status_code == 200 and "_auth_user_id" not in sign_in.client.session
    assert shop_manager.approval_pin != PIN  # stored hashed


@pytest.mark.parametrize(
    ("username", "secret", "message"),
    [
        ("boss", "wrong", "Wrong username, password or PIN"),
        ("nobody", DEFAULT_PASSWORD, "Wrong username, password or PIN"),
        ("ploy", DEFAULT_PASSWORD, "Only a manager or the owner"),  # a cashier
        ("their-boss", DEFAULT_PASSWORD, "Only a manager or the owner"),  # another shop
    ],
)
def test_a_refused_approval_says_why_and_is_in_the_audit(
    cashier_client, shop_manager, other_cashier, member, username, secret, message
):
    UserFactory(username="their-boss", shop=ShopFactory(), role=User.Role.MANAGER)

    response = approve(cashier_client, member, key=uuid.uuid4(), username=username, secret=secret)

    assert response.status_code == 403
    assert message in response.content.decode()
    assert response.context["approval"] is None
    assert StaffAction.objects.get(kind=StaffAction.Kind.APPROVE_REFUSED).detail["username"] == (
        username
    )


def test_an_approval_for_another_amount_is_refused_on_the_phone(
    cashier_client, shop_manager, member
):
    key = uuid.uuid4()
    approved = approve(cashier_client, member, key=key)

    changed = confirm(cashier_client, member, key=key, approval=token_of(approved), amount="30000")

    assert changed.status_code == 403
    assert "This approval was for another purchase" in changed.content.decode()
    assert not LedgerEntry.objects.exists()


def test_wrong_pins_lock_the_manager_out_like_wrong_passwords(
    settings, cashier_client, shop_manager, member
):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    shop_manager.set_approval_pin(PIN)
    shop_manager.save()
    key = uuid.uuid4()
    # the third wrong PIN locks the username out on this phone, as a third wrong password would
    answers = [
        approve(cashier_client, member, key=key, secret=guess).status_code
        for guess in ("111111", "222222", "333333")
    ]
    assert answers == [403, 403, 429]

    locked = approve(cashier_client, member, key=key)  # the right password, too late

    assert locked.status_code == 429
    assert "Too many wrong passwords or PINs" in locked.content.decode()
    assert locked.context["approval"] is None
    reasons = list(
        StaffAction.objects.filter(kind=StaffAction.Kind.APPROVE_REFUSED)
        .order_by("id")
        .values_list("detail__reason", flat=True)
    )
    assert reasons == ["wrong_secret", "wrong_secret", "locked_out", "locked_out"]
    # The cashier is still signed in on their phone.
    assert cashier_client.get(reverse("staff:home")).status_code == 200


def test_a_points_qr_code_above_the_limit_needs_approval_too(
    cashier_client, shop_manager, branch, member
):
    key = str(uuid.uuid4())
    data = {"amount": BIG, "receipt_no": "R-9", "key": key}

    asked = cashier_client.post(reverse("staff:claim_new"), data)
    assert asked.status_code == 403 and 'data-testid="approval"' in asked.content.decode()
    assert not PointsClaim.objects.exists()

    approved = cashier_client.post(
        reverse("staff:claim_new"),
        {**data, "approve": "1", "username": "boss", "secret": DEFAULT_PASSWORD},
    )
    assert approved.status_code == 200 and "Approved by boss" in approved.content.decode()

    made = cashier_client.post(reverse("staff:claim_new"), {**data, "approval": token_of(approved)})
    claim = PointsClaim.objects.get()
    assert made.status_code == 302 and claim.approved_by == shop_manager

    result = services.points_claim_redeem(shop=branch.shop, token=claim.token, member=member)
    assert result.entry.approved_by == shop_manager and result.points == 1000


def test_the_ledger_admin_shows_who_approved(
    cashier, shop_manager, branch, member, staff_shop, client
):
    key = uuid.uuid4()
    add(
        cashier,
        branch,
        member,
        key=key,
        approval=grant(shop_manager, cashier, branch, key=key, member=member).token,
    )
    owner = UserFactory(username="owner", shop=staff_shop, role=User.Role.OWNER, is_staff=True)
    client.force_login(owner)

    page = client.get(reverse("admin:members_ledgerentry_changelist")).content.decode()

    assert f"{cashier.get_full_name() or 'nok'} (approved by boss)" in page


def test_an_owner_sets_and_removes_a_managers_approval_pin_in_the_admin(
    staff_shop, shop_manager, client
):
    owner = UserFactory(username="owner", shop=staff_shop, role=User.Role.OWNER, is_staff=True)
    client.force_login(owner)
    url = reverse("admin:shops_user_change", args=[shop_manager.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update(
        username="boss",
        role="manager",
        is_active="on",
        branches=[],
        new_approval_pin=PIN,
        date_joined_0=shop_manager.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=shop_manager.date_joined.strftime("%H:%M:%S"),
    )

    saved = client.post(url, data)
    shop_manager.refresh_from_db()
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert shop_manager.check_approval_pin(PIN) and PIN not in shop_manager.approval_pin

    client.post(url, {**data, "new_approval_pin": "", "clear_approval_pin": "on"})
    shop_manager.refresh_from_db()
    assert shop_manager.approval_pin == ""


# --- at the same time ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_one_approval_sent_twice_at_once_makes_one_entry(cashier, shop_manager, branch, member):
    key = uuid.uuid4()
    token = grant(shop_manager, cashier, branch, key=key, member=member).token

    results = run_concurrently(lambda _i: add(cashier, branch, member, key=key, approval=token), 6)

    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(not r.replayed for r in results) == 1
    entry = LedgerEntry.objects.get()
    assert entry.approved_by == shop_manager
    assert_invariants(member.shop_id)
