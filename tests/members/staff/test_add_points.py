"""Adding points at the counter: find a member by phone or member code, see the points (tier
included) before confirming, confirm once, see the new balance; an unknown phone earns as a new
pending member. Bad input gets a clear message and changes nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.models import EntryKind, LedgerEntry, Purchase
from members.models import Member
from members.qr import member_code_issue
from shops.staffing.models import StaffAction
from tests.factories import MemberFactory, ShopFactory
from tests.members.conftest import assert_invariants
from tests.members.staff.conftest import UA, spend

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def find(client, **data):
    return client.post(reverse("staff:find"), data)


# --- finding a member -----------------------------------------------------------------------------


def test_staff_home_sends_an_anonymous_visitor_to_the_sign_in(client):
    response = client.get(reverse("staff:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:login"))


@pytest.mark.parametrize(
    "typed",
    ["0812345678", "081-234-5678", "+66 81 234 5678", "๐๘๑๒๓๔๕๖๗๘", "66812345678", "081 234 5678"],
)
def test_a_member_is_found_by_phone_in_any_form_people_type(cashier_client, member, typed):
    response = find(cashier_client, phone=typed)

    assert response.status_code == 302
    assert response["Location"] == reverse("staff:member", args=[member.public_id])


def test_member_page_shows_name_tier_balance_and_a_masked_phone(cashier_client, member, gold):
    member.tier = gold
    member.save()
    ledger.points_credit(
        member=member,
        kind=EntryKind.IMPORT,
        points=120,
        idempotency_key="seed",
        actor=Actor.system(),
    )

    html = cashier_client.get(reverse("staff:member", args=[member.public_id])).content.decode()

    assert "Somchai Jaidee" in html
    assert "Gold" in html
    assert 'data-testid="member-balance">120<' in html
    assert "081-xxx-5678" in html
    assert "081-234-5678" not in html and "+66812345678" not in html


def test_a_phone_that_is_not_a_phone_gets_a_clear_message(cashier_client):
    response = find(cashier_client, phone="abc")

    assert response.status_code == 200
    assert "is not a phone number" in response.content.decode()
    assert not Member.objects.exists()


def test_an_empty_search_asks_for_a_phone_or_a_code(cashier_client):
    response = find(cashier_client, phone="", code="")
    assert "phone number or scan their QR code" in response.content.decode()


def test_a_member_of_another_shop_is_not_found_by_phone(cashier_client):
    MemberFactory(shop=ShopFactory(), phone="+66812345678")

    response = find(cashier_client, phone="0812345678")

    # Offered as a new member of this shop, never the other shop's member.
    assert response.status_code == 200
    assert response.context["member"] is None
    assert 'data-testid="new-member-note"' in response.content.decode()


def test_another_shops_member_page_does_not_exist(cashier_client):
    stranger = MemberFactory(shop=ShopFactory())
    response = cashier_client.get(reverse("staff:member", args=[stranger.public_id]))
    assert response.status_code == 404


# --- member QR code (issue 5's one-time codes) --------------------------------------------------


def test_a_member_is_found_by_the_code_of_their_qr(cashier_client, member):
    code = member_code_issue(member=member).code

    response = find(cashier_client, code=f"{code[:4]} {code[4:]}")

    assert response.status_code == 302
    assert response["Location"] == reverse("staff:member", args=[member.public_id])


def test_a_used_member_code_is_refused_the_second_time(cashier_client, member):
    code = member_code_issue(member=member).code
    find(cashier_client, code=code)

    response = find(cashier_client, code=code)

    assert response.status_code == 404
    assert "already been used" in response.content.decode()


@pytest.mark.parametrize("code", ["12345678", "1234 5678"])
def test_an_unknown_member_code_gets_a_clear_message(cashier_client, member, code):
    response = find(cashier_client, code=code)

    assert response.status_code == 404
    assert "No member has this code" in response.content.decode()
    assert StaffAction.objects.filter(kind=StaffAction.Kind.FIND, detail__found=False).exists()


def test_another_shops_member_code_is_unknown_here(cashier_client):
    stranger = MemberFactory(shop=ShopFactory())
    code = member_code_issue(member=stranger).code

    response = find(cashier_client, code=code)

    assert response.status_code == 404
    assert "No member has this code" in response.content.decode()


def test_a_code_that_is_not_eight_digits_is_refused_by_its_shape(cashier_client):
    response = find(cashier_client, code="12ab")
    assert response.status_code == 200
    assert "8 digits" in response.content.decode()


# --- see the points before confirming -------------------------------------------------------------


def test_review_shows_the_points_with_the_tier_multiplier(cashier_client, member, gold):
    member.tier = gold
    member.save()

    response = spend(cashier_client, member, amount="149", step="review")

    # floor(149 / 25 × 1.5) = floor(8.94) = 8
    assert response.status_code == 200
    assert response.context["preview"].points == 8
    html = response.content.decode()
    assert 'data-testid="confirm-points">+8<' in html
    assert "× 1.5" in html
    assert not LedgerEntry.objects.exists()


def test_the_live_preview_answers_points_or_the_reason_there_are_none(cashier_client, member, gold):
    member.tier = gold
    member.save()
    url = reverse("staff:preview")

    ok = cashier_client.get(url, {"amount": "๑,๐๐๐", "member": str(member.public_id)}).json()
    bad = cashier_client.get(url, {"amount": "-5", "member": str(member.public_id)}).json()
    none = cashier_client.get(url, {"amount": "10"}).json()

    assert ok == {
        "ok": True,
        "amount": "1000.00",
        "points": 60,
        "multiplier": "1.50",
        "tier": "Gold",
    }
    assert bad["ok"] is False and "more than 0" in bad["error"]
    assert none["ok"] is False and "earns no points" in none["error"]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "more than 0 baht"),
        ("-5", "more than 0 baht"),
        ("abc", "is not an amount in baht"),
        ("10000000", "too large"),
        ("10,000,000", "too large"),
        ("12,50", "A comma only separates thousands"),
        ("1.250,00", "A comma only separates thousands"),
        ("10.005", "2 decimal places"),
        ("", "This field is required"),
        ("10", "earns no points"),
    ],
)
@pytest.mark.parametrize("step", ["review", "confirm"])
def test_a_bad_spend_gets_a_clear_message_and_changes_nothing(
    cashier_client, member, amount, message, step
):
    response = spend(cashier_client, member, amount=amount, step=step)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not LedgerEntry.objects.exists()
    assert not Purchase.objects.exists()
    member.refresh_from_db()
    assert member.balance == 0


def test_a_thousands_comma_is_read_as_people_mean_it(cashier_client, member):
    review = spend(cashier_client, member, amount="1,250.00", step="review")
    added = spend(cashier_client, member, amount="1,250")

    assert review.status_code == 200
    assert review.context["preview"].amount == Decimal("1250.00")
    assert added.status_code == 302
    assert LedgerEntry.objects.get().purchase.amount == Decimal("1250.00")


def test_more_points_than_one_entry_may_give_is_refused_before_confirming(
    cashier_client, member, staff_shop
):
    staff_shop.max_points_per_entry = 100
    staff_shop.save()

    live = cashier_client.get(
        reverse("staff:preview"), {"amount": "2,525", "member": str(member.public_id)}
    ).json()
    review = spend(cashier_client, member, amount="2525", step="review")
    confirm = spend(cashier_client, member, amount="2525")

    assert live["ok"] is False and "would earn 101 points" in live["error"]
    assert review.status_code == 422 and "at most 100" in review.content.decode()
    assert confirm.status_code == 422
    assert not LedgerEntry.objects.exists()


# --- confirm ----------------------------------------------------------------------------------------


def test_confirm_adds_points_at_the_branch_and_shows_the_new_balance(
    cashier_client, cashier, branch, member
):
    key = uuid.uuid4()

    response = spend(cashier_client, member, amount="๕๐๐", receipt_no="R-0042", key=key)

    entry = LedgerEntry.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:done", args=[entry.public_id])
    assert (entry.points, entry.branch, entry.created_by, entry.channel) == (
        20,
        branch,
        cashier,
        "store",
    )
    assert entry.idempotency_key == f"staff:{key}"
    assert entry.purchase.amount == Decimal("500.00")
    assert entry.purchase.receipt_no == "R-0042"
    done = cashier_client.get(response["Location"]).content.decode()
    assert 'data-testid="done-balance">20<' in done
    assert_invariants(member.shop_id)


def test_a_double_submit_with_the_same_key_adds_points_once(cashier_client, member):
    key = uuid.uuid4()

    first = spend(cashier_client, member, amount="500", key=key)
    second = spend(cashier_client, member, amount="500", key=key)
    third = spend(cashier_client, member, amount="500.00", key=key)

    assert LedgerEntry.objects.count() == 1
    assert first["Location"] == second["Location"] == third["Location"]
    member.refresh_from_db()
    assert member.balance == 20
    assert StaffAction.objects.filter(kind=StaffAction.Kind.POINTS_ADD).count() == 1


def test_the_same_form_reused_for_another_amount_adds_nothing(cashier_client, member):
    key = uuid.uuid4()
    spend(cashier_client, member, amount="500", key=key)

    response = spend(cashier_client, member, amount="900", key=key)

    assert response.status_code == 409
    assert "already used for another amount" in response.content.decode()
    assert LedgerEntry.objects.count() == 1
    # The page offers a fresh form with a new key.
    assert str(response.context["form"].initial["key"]) != str(key)


def test_a_missing_or_forged_key_never_adds_points(cashier_client, member):
    data = {"member": str(member.public_id), "amount": "500", "key": "not-a-uuid"}
    response = cashier_client.post(reverse("staff:confirm"), data)
    assert response.status_code == 302 and response["Location"] == reverse("staff:home")
    assert not LedgerEntry.objects.exists()


def test_points_cannot_be_added_to_another_shops_member(cashier_client):
    stranger = MemberFactory(shop=ShopFactory())

    response = spend(cashier_client, stranger, amount="500")

    assert response.status_code == 404
    assert not LedgerEntry.objects.exists()


def test_a_blocked_member_gets_no_points(cashier_client, member):
    member.status = Member.Status.BLOCKED
    member.save()

    page = cashier_client.get(reverse("staff:member", args=[member.public_id])).content.decode()
    response = spend(cashier_client, member, amount="500")

    assert 'data-testid="member-blocked"' in page
    assert response.status_code == 422
    assert "blocked or deleted" in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_edit_goes_back_to_the_spend_form_with_the_same_key(cashier_client, member):
    key = uuid.uuid4()
    data = {"edit": "1", "member": str(member.public_id), "amount": "500", "key": str(key)}

    response = cashier_client.post(reverse("staff:review"), data)

    assert response.status_code == 200
    form = response.context["form"]
    assert str(form.initial["key"]) == str(key) and form.initial["amount"] == "500"


# --- an unknown phone: a new pending member --------------------------------------------------------


def test_an_unknown_phone_offers_points_to_a_new_pending_member(cashier_client, branch):
    page = find(cashier_client, phone="089-999-1234")
    assert page.status_code == 200
    assert "089-999-1234" in page.content.decode()
    assert not Member.objects.exists()

    response = spend(cashier_client, phone="+66899991234", amount="250")

    member = Member.objects.get()
    assert (member.status, member.phone, member.balance) == ("pending", "+66899991234", 10)
    assert member.signup_branch is None
    assert LedgerEntry.objects.get().branch == branch
    done = cashier_client.get(response["Location"]).content.decode()
    assert 'data-testid="pending-note"' in done


def test_a_new_phone_sent_twice_makes_one_member_and_one_entry(cashier_client):
    key = uuid.uuid4()
    spend(cashier_client, phone="+66899991234", amount="250", key=key)
    spend(cashier_client, phone="+66899991234", amount="250", key=key)

    assert Member.objects.count() == 1
    assert LedgerEntry.objects.count() == 1


def test_a_phone_that_registered_meanwhile_gets_the_points_on_its_member(cashier_client, member):
    # The cashier saw "new member" for 0812345678, but it belongs to Somchai by the time they confirm.
    spend(cashier_client, phone="+66812345678", amount="250")

    assert Member.objects.count() == 1
    member.refresh_from_db()
    assert member.balance == 10


# --- audit ------------------------------------------------------------------------------------------


def test_finding_and_adding_points_are_in_the_audit_log(cashier_client, cashier, branch, member):
    find(cashier_client, phone="0812345678")
    spend(cashier_client, member, amount="500")

    rows = list(StaffAction.objects.order_by("id"))
    kinds = [r.kind for r in rows]
    assert kinds[-2:] == [StaffAction.Kind.FIND, StaffAction.Kind.POINTS_ADD]
    add = rows[-1]
    assert (add.user, add.shop, add.branch) == (cashier, branch.shop, branch)
    assert add.object_type == "ledgerentry"
    assert add.object_id == str(LedgerEntry.objects.get().public_id)
    assert add.detail["points"] == 20 and add.detail["amount"] == "500.00"
    assert (add.ip_address, add.user_agent) == ("203.0.113.7", UA)


# --- the page itself --------------------------------------------------------------------------------


def _static_bytes(html: str) -> int:
    import re

    total = 0
    for path in re.findall(r'(?:href|src)="/static/([^"]+\.(?:css|js))"', html):
        found = finders.find(path)
        assert found, path
        with open(found, "rb") as f:
            total += len(f.read())
    return total


def test_the_add_points_page_weighs_under_150_kb_without_images(cashier_client, member):
    response = cashier_client.get(reverse("staff:member", args=[member.public_id]))
    html = response.content.decode()

    weight = len(response.content) + _static_bytes(html)

    assert "css/staff.css" in html and "js/staff.js" in html
    assert "jsQR" not in html.split("data-jsqr")[0]  # the QR decoder is never loaded up front
    assert weight < 150 * 1024, weight


def test_no_staff_page_loads_anything_from_another_site(cashier_client, member):
    for url in (reverse("staff:home"), reverse("staff:member", args=[member.public_id])):
        html = cashier_client.get(url).content.decode()
        assert "https://" not in html and "http://" not in html.replace("http://testserver", "")


def test_the_menu_shows_coupon_and_delivery_as_coming_soon_until_they_exist(cashier_client):
    from django.urls import NoReverseMatch

    html = cashier_client.get(reverse("staff:home")).content.decode()

    for name in ("coupon", "delivery"):
        try:
            url = reverse(f"staff:{name}")
        except NoReverseMatch:
            assert f'aria-disabled="true" data-testid="nav-{name}"' in html
        else:
            assert f'href="{url}"' in html


def test_the_add_points_page_takes_five_queries(
    cashier_client, member, gold, django_assert_num_queries
):
    member.tier = gold
    member.save()
    url = reverse("staff:member", args=[member.public_id])
    cashier_client.get(url)

    # session, user, user's shop, the branches the cashier may work at, the member with tier
    with django_assert_num_queries(5):
        response = cashier_client.get(url)
    assert response.status_code == 200
