"""A file is always readable, whatever is stored: the members and ledger exports, the my-data
download and the import template leave out the characters XML 1.0 cannot hold (C0 controls other
than tab, line feed and carriage return; U+FFFE, U+FFFF), which used to make openpyxl and Excel
refuse the whole file. Rows stored before the input rule (or by a path that does not check) are
made here with the factories and services directly."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.urls import reverse
from openpyxl import load_workbook

from loyalty import exports, xlsx
from members.imports.template import member_template
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.models import Member
from members.pages.export import member_data_xlsx
from shops.models import User
from tests.factories import MemberFactory, TierFactory, UserFactory

pytestmark = pytest.mark.django_db


def _controls() -> list[str]:
    # PostgreSQL cannot store U+0000 in text at all; SQLite can, so it is written there too.
    first = 1 if connection.vendor == "postgresql" else 0
    return [chr(c) for c in range(first, 0x20)]


def _bad_characters() -> list[str]:
    return [*_controls(), "\x7f", "\x85", "\ufdd0", "\ufffe", "\uffff", "\U0001ffff"]


def _as_read(char: str) -> str:
    """What a reader sees of "x<char>y" in the file: the character left out where XML cannot hold
    it; tab and line feed kept; a carriage return read as a line feed (XML's end-of-line rule);
    DEL, C1 controls and other noncharacters are valid XML and kept."""
    if char == "\r":
        return "x\ny"
    if xlsx.XML_REFUSED.search(char):
        return "xy"
    return f"x{char}y"


def _read(data: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [tuple(c.value for c in row) for row in sheet.iter_rows()]


@pytest.fixture
def owner_client(client, import_shop):
    client.force_login(UserFactory(username="cafe-owner", shop=import_shop, role=User.Role.OWNER))
    return client


def test_members_export_with_every_control_character_and_uffff_opens_in_openpyxl(
    owner_client, import_shop
):
    # given: one member per bad character, in the name, the note and the LINE name
    chars = _bad_characters()
    for i, char in enumerate(chars):
        MemberFactory(
            shop=import_shop,
            phone=f"+66812345{i:03d}",
            first_name=f"x{char}y",
            note=f"x{char}y",
            line_display_name=f"x{char}y",
        )

    # when
    response = owner_client.get(reverse("admin:members_member_export_xlsx"))
    rows = _read(b"".join(response.streaming_content))

    # then: the file opens, and each value is the stored one without what XML cannot hold
    header, data = rows[0], rows[1:]
    first, note, line_name = 1, 11, 13  # (after the LINE user ID column)
    assert header[note] == "หมายเหตุ / Note"
    by_phone = {row[0]: row for row in data}
    assert len(by_phone) == len(chars)
    for i, char in enumerate(chars):
        row = by_phone[f"081-234-5{i:03d}"]
        assert row[first] == _as_read(char), repr(char)
        assert row[note] == _as_read(char), repr(char)
        assert row[line_name] == _as_read(char), repr(char)


def test_ledger_export_with_every_control_character_and_uffff_opens_in_openpyxl(
    owner_client, import_shop
):
    chars = _bad_characters()
    for i, char in enumerate(chars):
        member = MemberFactory(
            shop=import_shop, phone=f"+66812345{i:03d}", first_name=f"x{char}y", last_name=""
        )
        ledger.points_adjust(
            member=member, points=5, note=f"x{char}y", idempotency_key=f"k{i}", actor=Actor.system()
        )

    response = owner_client.get(reverse("admin:members_ledgerentry_export_xlsx"))
    rows = _read(b"".join(response.streaming_content))

    by_phone = {row[1]: row for row in rows[1:]}
    assert len(by_phone) == len(chars)
    for i, char in enumerate(chars):
        row = by_phone[f"081-234-5{i:03d}"]
        assert row[2] == _as_read(char), repr(char)  # the member
        assert row[9] == _as_read(char), repr(char)  # the note


def test_the_writer_leaves_out_nul_and_surrogates_that_no_database_row_can_hold():
    # A lone surrogate cannot even be encoded as UTF-8: the writer used to fail half-way.
    values = ["a\x00b", "a\ud800b", "\udfff", "a\uffffb\ufffe", "=\x01x"]
    target = io.BytesIO()
    exports.write_rows(
        target,
        title="T",
        columns=[exports.Column("v", lambda v: v)],
        rows=values,
    )
    sheet = load_workbook(io.BytesIO(target.getvalue())).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == ["ab", "ab", None, "ab", "=x"]
    assert cells[-1].data_type == "s" and cells[-1].quotePrefix  # still never a formula


def test_my_data_xlsx_opens_with_a_control_character_and_uffff_in_the_profile(import_shop):
    member = MemberFactory(
        shop=import_shop, first_name="x\x07y", last_name="x\uffffy", line_display_name="=1+1"
    )
    member.refresh_from_db()

    workbook = load_workbook(io.BytesIO(member_data_xlsx(member)))

    # the profile sheet comes first; its labels are in the reader's language
    values = [row[1] for row in workbook.worksheets[0].iter_rows() if len(row) > 1]
    assert [cell.value for cell in values].count("xy") == 2  # first and last name
    # written with the exports' cells: text, never a formula
    display_name = next(cell for cell in values if cell.value == "=1+1")
    assert display_name.data_type == "s"


def test_import_template_opens_with_tier_names_holding_a_control_character(import_shop):
    TierFactory(shop=import_shop, name="Gold\x07", threshold=0)
    TierFactory(shop=import_shop, name="Silver\uffff", threshold=10)

    workbook = load_workbook(io.BytesIO(member_template(shop=import_shop)))

    names = {row[1].value for row in workbook["lists"].iter_rows() if len(row) > 1}
    assert {"Gold", "Silver"} <= names


def test_members_export_is_the_same_for_ordinary_text(owner_client, import_shop):
    # The stripping changes nothing else: Thai, emoji and zero-width joiners are kept.
    MemberFactory(shop=import_shop, first_name="สมชาย\u200bใจดี", note="👨\u200d👩\u200d👧 ☕")
    response = owner_client.get(reverse("admin:members_member_export_xlsx"))
    row = _read(b"".join(response.streaming_content))[1]
    assert row[1] == "สมชาย\u200bใจดี"
    assert "👨\u200d👩\u200d👧 ☕" in row
    assert Member.objects.count() == 1
