"""xlsx exports of members (as filtered) and of the ledger: streamed, formula-safe, Thai intact, and
importable again with the same members and balances."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from loyalty import exports
from members.imports.exports import MEMBERS
from members.imports.models import ImportJob
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.models import Member
from shops.models import User
from tests.factories import MemberFactory, TagFactory, TierFactory, UserFactory
from tests.members.conftest import assert_invariants
from tests.members.imports.conftest import DANGEROUS, commit, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafe_client(client, import_shop):
    client.force_login(UserFactory(username="cafe-owner", shop=import_shop, role=User.Role.OWNER))
    return client


def content_of(response) -> bytes:
    return b"".join(response.streaming_content)


def sheet_rows(data: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [tuple(c.value for c in row) for row in sheet.iter_rows()]


def test_export_button_exports_what_the_filtered_list_shows(cafe_client, import_shop, other_shop):
    MemberFactory(shop=import_shop, first_name="รอลงทะเบียน", status=Member.Status.PENDING)
    MemberFactory(shop=import_shop, first_name="ลงทะเบียนแล้ว", status=Member.Status.REGISTERED)
    MemberFactory(shop=other_shop, first_name="SHOP-B-SECRET", status=Member.Status.PENDING)
    url = reverse("admin:members_member_export_xlsx")
    response = cafe_client.get(url + "?status__exact=pending")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    rows = sheet_rows(content_of(response))
    assert rows[0][0] == "เบอร์โทร / Phone *"
    assert [r[1] for r in rows[1:]] == ["รอลงทะเบียน"]
    everything = sheet_rows(content_of(cafe_client.get(url)))
    assert sorted(r[1] for r in everything[1:]) == ["รอลงทะเบียน", "ลงทะเบียนแล้ว"]


def test_export_keeps_the_search_too(cafe_client, import_shop):
    MemberFactory(shop=import_shop, first_name="สมชาย", phone="+66812345678")
    MemberFactory(shop=import_shop, first_name="สมหญิง", phone="+66812345679")
    response = cafe_client.get(reverse("admin:members_member_export_xlsx") + "?q=081-234-5679")
    assert [r[1] for r in sheet_rows(content_of(response))[1:]] == ["สมหญิง"]


def test_export_action_on_selected_members(cafe_client, import_shop):
    chosen = MemberFactory(shop=import_shop, first_name="เลือก")
    MemberFactory(shop=import_shop, first_name="ไม่เลือก")
    response = cafe_client.post(
        reverse("admin:members_member_changelist"),
        {"action": "export_selected_xlsx", "_selected_action": [chosen.pk]},
    )
    assert response.status_code == 200
    assert [r[1] for r in sheet_rows(content_of(response))[1:]] == ["เลือก"]


def test_formula_like_text_is_written_as_text_never_as_a_formula(cafe_client, import_shop):
    for i, text in enumerate(DANGEROUS):
        MemberFactory(shop=import_shop, phone=f"+6681234567{i}", first_name=text, note=text)
    data = content_of(cafe_client.get(reverse("admin:members_member_export_xlsx")))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    # (an XML reader turns the carriage return into a line feed; it stays text either way)
    assert sorted(c.value for c in cells) == sorted(t.replace("\r", "\n") for t in DANGEROUS)
    for cell in cells:
        assert cell.data_type == "s", cell.value
        assert cell.quotePrefix, cell.value


def test_thai_text_is_intact(cafe_client, import_shop):
    MemberFactory(shop=import_shop, first_name="สมชาย", last_name="ณ อยุธยา", note="ชอบกาแฟเย็น ☕")
    row = sheet_rows(content_of(cafe_client.get(reverse("admin:members_member_export_xlsx"))))[1]
    assert row[1:3] == ("สมชาย", "ณ อยุธยา")
    assert "ชอบกาแฟเย็น ☕" in row


def test_ledger_export_as_filtered(cafe_client, import_shop):
    member = MemberFactory(shop=import_shop, first_name="สมชาย")
    ledger.points_adjust(
        member=member, points=50, note="ของขวัญ", idempotency_key="a", actor=Actor.system()
    )
    ledger.points_adjust(
        member=member, points=-20, note="=1+1", idempotency_key="b", actor=Actor.system()
    )
    url = reverse("admin:members_ledgerentry_export_xlsx")
    rows = sheet_rows(content_of(cafe_client.get(url)))
    assert sorted(r[4] for r in rows[1:]) == [-20, 50]
    assert {r[9] for r in rows[1:]} == {"ของขวัญ", "=1+1"}
    filtered = sheet_rows(content_of(cafe_client.get(url + "?q=ของขวัญ")))
    assert [r[4] for r in filtered[1:]] == [50]


def test_export_of_many_members_uses_few_queries(import_shop, django_assert_max_num_queries):
    tag = TagFactory(shop=import_shop, name="VIP")
    for i in range(30):
        MemberFactory(shop=import_shop, phone=f"+668123456{i:02d}").tags.add(tag)
    with django_assert_max_num_queries(3):
        count = exports.export_file(MEMBERS, Member.objects.filter(shop=import_shop), io.BytesIO())
    assert count == 30


def test_export_is_easy_to_extend():
    shops = exports.register(
        exports.Export(
            key="test-branches",
            title="Branches",
            filename="branches",
            columns=lambda: [exports.Column("code", lambda b: b.code)],
        )
    )
    try:
        assert exports.EXPORTS["test-branches"] is shops
    finally:
        del exports.EXPORTS["test-branches"]


# --- round trip -----------------------------------------------------------------------------------


def _profile(member: Member) -> tuple:
    return (
        member.phone,
        member.first_name,
        member.last_name,
        member.gender,
        member.birthday,
        member.email,
        sorted(t.name for t in member.tags.all()),
        member.tier.name if member.tier else None,
        member.customer_id,
        member.note,
        member.balance,
    )


def test_export_then_import_gives_the_same_members_and_balances(
    cafe_client, import_shop, other_shop, tmp_path
):
    # given shop A's members, with points earned, spent and adjusted
    vip = TagFactory(shop=import_shop, name="VIP")
    TagFactory(shop=import_shop, name="สายกาแฟ")
    gold = TierFactory(shop=import_shop, name="Gold", threshold=10**6)
    a = MemberFactory(
        shop=import_shop,
        phone="+66812345678",
        first_name="สมชาย",
        last_name="ใจดี",
        gender="male",
        birthday=dt.date(1990, 3, 15),
        email="s@example.com",
        customer_id="C-001",
        note="=ชอบลาเต้",
        tier=gold,
    )
    a.tags.add(vip)
    b = MemberFactory(
        shop=import_shop, phone="+6621234567", first_name="ร้าน", last_name="", gender=""
    )
    MemberFactory(shop=import_shop, phone="+14155550123", first_name="John", gender="other")
    ledger.points_earn(
        shop=import_shop, member=a, amount="1000", idempotency_key="e1", actor=Actor.system()
    )
    ledger.points_spend(member=a, points=15, idempotency_key="s1", actor=Actor.system())
    ledger.points_adjust(member=b, points=7, note="x", idempotency_key="j1", actor=Actor.system())
    before = sorted(_profile(m) for m in Member.objects.filter(shop=import_shop))
    assert sorted(p[-1] for p in before) == [0, 7, 25]  # 40 earned − 15 spent; 7; 0

    # when the members are exported and the file is imported into another shop
    data = content_of(cafe_client.get(reverse("admin:members_member_export_xlsx")))
    path = tmp_path / "export.xlsx"
    path.write_bytes(data)
    TagFactory(shop=other_shop, name="VIP")
    TagFactory(shop=other_shop, name="สายกาแฟ")
    TierFactory(shop=other_shop, name="Gold", threshold=10**6)
    job = upload(other_shop, path)
    assert job.error_count == 0, list(job.errors.values_list("row", "column", "code"))
    commit(job)

    # then the other shop has the same members and balances
    after = sorted(_profile(m) for m in Member.objects.filter(shop=other_shop))
    assert after == before
    assert_invariants(other_shop.pk)

    # and importing the export back into shop A changes nothing
    again = upload(import_shop, path, policy="update")
    assert (again.new_count, again.updated_count, again.error_count) == (0, 0, 0)
    assert again.unchanged_count == 3
    assert again.state == ImportJob.State.VALIDATED


def test_the_local_form_of_a_phone_is_what_format_phone_local_gives():
    import random

    from loyalty.phones import format_phone_local

    rnd = random.Random(11)
    phones = [None, "", "+6621234567", "+6653123456", "+661800123456", "+14155550123", "junk"]
    for prefix in range(600, 1000):  # every 3-digit start of a Thai 9-digit number
        for _ in range(3):
            phones.append(f"+66{prefix}{rnd.randrange(10**6):06d}")
    for phone in phones:
        assert exports.local_phone(phone) == format_phone_local(phone), phone
