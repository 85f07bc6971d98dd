"""Profile and my data: edit own details, marketing consent, download my data, delete account."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.models import LedgerEntry, Member
from members.phone_claims.models import PhoneClaim
from members.qr_models import MemberCode
from members.signup.models import ConsentRecord, SignupAnswer
from members.signup.services import member_erased
from shops.models import Shop, Tag
from tests.factories import MemberFactory, SignupQuestionFactory
from tests.line_fixtures import NOK, SOMCHAI
from tests.members.pages.conftest import branch_of, liff_sign_in, register

# These tests read the English messages; Thai (the default) has its own tests.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def url(name: str) -> str:
    return reverse(f"member:{name}", kwargs={"shop_slug": "cafe"})


def _profile_data(**overrides):
    data = {
        "first_name": "Somchai",
        "last_name": "Jaidee",
        "phone": "0812345678",
        "birthday": "1992-03-15",
        "email": "",
        "gender": "",
    }
    data.update(overrides)
    return data


# --- profile ---------------------------------------------------------------------------------------


def test_member_edits_their_own_details(member_client):
    response = member_client.post(
        url("profile"),
        _profile_data(
            first_name="Somchai", last_name="Rakthai", phone="089-765-4321", email="s@x.th"
        ),
    )

    assert response.status_code == 302
    member = Member.objects.get(pk=member_client.member.pk)
    assert (member.last_name, member.phone, member.email) == ("Rakthai", "+66897654321", "s@x.th")


def test_profile_refuses_another_members_phone_and_changes_nothing(member_client, line_shop):
    MemberFactory(shop=line_shop, phone="+66897654321", status=Member.Status.REGISTERED)

    response = member_client.post(url("profile"), _profile_data(phone="0897654321"))

    assert response.status_code == 400
    assert "already registered" in str(response.context["form"].errors["phone"])
    assert Member.objects.get(pk=member_client.member.pk).phone == "+66812345678"


def test_profile_with_a_pending_members_phone_opens_a_claim_and_moves_nothing(
    member_client, line_shop
):
    pending = MemberFactory(shop=line_shop, phone="+66897654321", status=Member.Status.PENDING)

    response = member_client.post(url("profile"), _profile_data(phone="0897654321"))

    assert response.status_code == 302
    member = Member.objects.get(pk=member_client.member.pk)
    assert member.phone == "+66812345678"  # theirs until they prove the other one
    assert Member.objects.get(pk=pending.pk).phone == "+66897654321"
    [claim] = PhoneClaim.objects.filter(member=member)
    assert (claim.pending_id, claim.phone, claim.status) == (pending.pk, "+66897654321", "open")


def test_profile_refuses_a_be_year(member_client):
    response = member_client.post(url("profile"), _profile_data(birthday="2535-03-15"))

    assert response.status_code == 400
    assert "1992" in str(response.context["form"].errors["birthday"])


def test_member_withdraws_and_gives_marketing_consent(client, fake_line, line_shop):
    liff_sign_in(client, fake_line, line_shop, SOMCHAI)
    client.post(
        url("signup"),
        {
            "first_name": "A",
            "last_name": "B",
            "phone": "0812345678",
            "birthday": "1990-01-01",
            "branch": branch_of(line_shop).pk,
            "accept_terms": "on",
            "marketing": "on",
        },
    )
    member = Member.objects.get(line_user_id=SOMCHAI)
    assert client.get(url("profile")).context["marketing"] is True

    client.post(url("marketing"), {"marketing": ""})
    client.post(url("marketing"), {"marketing": ""})  # twice: one record

    records = list(member.consents.filter(kind="marketing").order_by("id"))
    assert [r.granted for r in records] == [True, False]
    assert records[-1].method == "profile"
    assert client.get(url("profile")).context["marketing"] is False

    client.post(url("marketing"), {"marketing": "on"})
    assert client.get(url("profile")).context["marketing"] is True


# --- my data ---------------------------------------------------------------------------------------


@pytest.fixture
def rich_member(member_client, line_shop):
    member = member_client.member
    question = SignupQuestionFactory(shop=line_shop, label="Favourite drink", kind="text")
    SignupAnswer.objects.create(shop=line_shop, member=member, question=question, text="Latte")
    member.tags.add(Tag.objects.create(shop=line_shop, name="Coffee lover"))
    ledger.points_earn(
        shop=line_shop,
        member=member,
        amount="250",
        branch=branch_of(line_shop),
        idempotency_key="buy-1",
        receipt_no="R-001",
        items=[ledger.LineItem(name="Latte", quantity=1, price=250)],
        actor=Actor.system(channel="store"),
    )
    return member_client


def test_download_my_data_as_json(rich_member):
    response = rich_member.get(url("data_json"))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="my-data-cafe-')
    data = json.loads(response.content)
    assert data["profile"]["first_name"] == "Somchai"
    assert data["profile"]["phone"] == "+66812345678"
    assert data["profile"]["tags"] == ["Coffee lover"]
    assert data["answers"] == [
        {
            "question": "Favourite drink",
            "answer": "Latte",
            "answered_at": data["answers"][0]["answered_at"],
        }
    ]
    assert {c["what"] for c in data["consents"]} == {"terms", "privacy", "marketing"}
    assert [e["kind"] for e in data["history"]] == ["welcome", "earn"]
    assert data["purchases"][0]["receipt_no"] == "R-001"
    assert "Latte" in data["purchases"][0]["items"]
    assert sum(p["points_left"] for p in data["open_points"]) == 60


def test_download_my_data_as_xlsx_opens_in_openpyxl(rich_member):
    response = rich_member.get(url("data_xlsx"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert {
        "Profile",
        "Sign-up answers",
        "Consent records",
        "Points history",
        "Purchases",
        "Points and expiry",
    } <= set(book.sheetnames)
    history = list(book["Points history"].iter_rows(values_only=True))
    assert isinstance(history[1][1], dt.datetime)


def test_my_data_xlsx_has_headers_and_words_in_english_on_an_english_page(rich_member):
    """The file is for the person: no code keys ("first_name", "earn"), but what the page says."""
    book = load_workbook(io.BytesIO(rich_member.get(url("data_xlsx")).content), read_only=True)

    profile = {row[0]: row[1] for row in book["Profile"].iter_rows(values_only=True, max_col=2)}
    assert profile["First name"] == "Somchai"
    assert profile["Phone"] == "081-234-5678"
    assert profile["Status"] == "Registered"
    assert "first_name" not in profile and "Exported at" in profile
    history = list(book["Points history"].iter_rows(values_only=True))
    assert history[0][:4] == ("Entry ID", "Time", "Kind", "Points")
    assert [row[2] for row in history[1:]] == ["Welcome points", "Earned from a purchase"]
    consents = list(book["Consent records"].iter_rows(values_only=True))
    assert consents[0] == ("What", "Version", "Given", "How", "When")
    assert {row[2] for row in consents[1:]} <= {"Yes", "No"}


def test_my_data_xlsx_is_in_thai_on_a_thai_page(rich_member):
    Shop.objects.update(language="th")  # the shop's language decides member pages

    book = load_workbook(io.BytesIO(rich_member.get(url("data_xlsx")).content), read_only=True)

    assert {"โปรไฟล์", "ประวัติพอยท์", "การซื้อ", "บันทึกความยินยอม"} <= set(book.sheetnames)
    profile = {row[0]: row[1] for row in book["โปรไฟล์"].iter_rows(values_only=True, max_col=2)}
    assert profile["ชื่อ"] == "Somchai"
    assert profile["เบอร์โทร"] == "081-234-5678"
    history = list(book["ประวัติพอยท์"].iter_rows(values_only=True))
    assert history[0][:4] == ("รหัสรายการ", "เวลา", "ประเภท", "พอยท์")
    assert history[1][2] == "พอยท์ต้อนรับ"


def test_my_data_json_keeps_stable_keys_and_stored_values_in_any_language(rich_member, settings):
    settings.LANGUAGE_CODE = "th"

    data = json.loads(rich_member.get(url("data_json")).content)

    assert data["profile"]["first_name"] == "Somchai"
    assert [e["kind"] for e in data["history"]] == ["welcome", "earn"]


def test_every_section_row_has_exactly_its_columns(rich_member):
    """A value that a section collects but does not declare would be missing from the xlsx."""
    from members.pages import export

    data = export.member_data(rich_member.member)

    assert set(data["profile"]) == {c.key for c in export.PROFILE}
    for section in export.sections():
        for row in data[section.name]:
            assert set(row) == {c.key for c in section.columns}, section.name


def test_my_data_is_only_mine(rich_member, line_shop):
    MemberFactory(shop=line_shop, first_name="Stranger", phone="+66899999999")

    body = rich_member.get(url("data_json")).content.decode()

    assert "Stranger" not in body and "+66899999999" not in body


def test_other_apps_can_add_their_section_to_my_data(rich_member):
    from members.pages import export

    export.register_section(
        "stamps",
        lambda member: [{"code": f"C-{member.pk}"}],
        title="Stamp cards",
        columns=[export.Column("code", "stamp code")],
        models=[],
    )
    try:
        data = json.loads(rich_member.get(url("data_json")).content)
        book = load_workbook(io.BytesIO(rich_member.get(url("data_xlsx")).content))
    finally:
        export._SECTIONS.pop("stamps")

    assert data["stamps"] == [{"code": f"C-{rich_member.member.pk}"}]
    assert list(book["Stamp cards"].values) == [("Stamp code",), (f"C-{rich_member.member.pk}",)]


# --- delete my account -----------------------------------------------------------------------------


def test_delete_needs_the_confirmation(member_client):
    response = member_client.post(url("delete"), {})

    assert response.status_code == 400
    assert Member.objects.get(pk=member_client.member.pk).status == Member.Status.REGISTERED


def test_delete_my_account_erases_personal_data_keeps_the_ledger_and_ends_the_session(
    rich_member, line_shop
):
    member = rich_member.member
    rich_member.get(url("card"))  # a QR code exists
    entries = list(LedgerEntry.objects.filter(member=member).values_list("pk", "points"))
    consents = ConsentRecord.objects.filter(member=member).count()
    heard = []

    def listener(sender, member, **kwargs):
        heard.append(member.pk)

    member_erased.connect(listener)
    try:
        response = rich_member.post(url("delete"), {"confirm": "on"})
    finally:
        member_erased.disconnect(listener)

    assert response.status_code == 200
    assert b'data-testid="account-deleted"' in response.content
    member = Member.objects.get(pk=member.pk)
    assert member.status == Member.Status.ERASED
    for field in ("phone", "line_user_id", "customer_id", "birthday"):
        assert getattr(member, field) is None, field
    for field in ("first_name", "last_name", "email", "line_display_name", "gender", "note"):
        assert getattr(member, field) == "", field
    assert not member.tags.exists()
    assert not SignupAnswer.objects.filter(member=member).exists()
    assert not MemberCode.objects.filter(member=member).exists()
    # the ledger keeps its rows, by member id only; consent records stay as evidence
    assert list(LedgerEntry.objects.filter(member=member).values_list("pk", "points")) == entries
    assert ConsentRecord.objects.filter(member=member).count() == consents
    assert heard == [member.pk]
    # the session of this shop has ended
    assert rich_member.get(url("card")).status_code == 302


def test_after_deleting_the_same_line_user_can_sign_up_again_as_new(
    member_client, fake_line, line_shop
):
    old = member_client.member
    member_client.post(url("delete"), {"confirm": "on"})

    new = register(member_client, fake_line, line_shop, SOMCHAI)

    assert new.pk != old.pk
    assert new.balance == 50
    assert Member.objects.get(pk=old.pk).status == Member.Status.ERASED


def test_erasing_twice_changes_nothing_more(line_shop):
    from members.signup.services import member_erase

    member = MemberFactory(shop=line_shop, line_user_id=NOK)
    member_erase(member=member)
    again = member_erase(member=member)

    assert again.status == Member.Status.ERASED
