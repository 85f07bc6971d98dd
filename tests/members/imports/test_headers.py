"""Headers in Thai or English, in any order, on the first rows of the sheet."""

from __future__ import annotations

import pytest

from members.imports.headers import (
    choose_header,
    column_key,
    find_header,
    looks_like,
    map_header,
)
from members.imports.names import ALIASES, IGNORE, normalise_header, template_header


@pytest.mark.parametrize(
    ("cell", "key"),
    [
        ("เบอร์โทร", "phone"),
        ("Phone", "phone"),
        ("PHONE NUMBER", "phone"),
        ("เบอร์โทรศัพท์", "phone"),
        ("Mobile", "phone"),
        ("เบอร์โทร / Phone *", "phone"),  # the template's bilingual header
        ("ชื่อ", "first_name"),
        ("First name", "first_name"),
        ("first_name", "first_name"),
        ("นามสกุล", "last_name"),
        ("Surname", "last_name"),
        ("ชื่อ-นามสกุล", "full_name"),
        ("ชื่อ นามสกุล", "full_name"),
        ("Full Name", "full_name"),
        ("พอยท์", "points"),
        ("แต้มสะสม", "points"),
        ("คะแนน", "points"),
        ("Points", "points"),
        ("เพศ", "gender"),
        ("Sex", "gender"),
        ("วันเกิด", "birthday"),
        ("Date of birth", "birthday"),
        ("DOB", "birthday"),
        ("อีเมล", "email"),
        ("E-mail", "email"),
        ("Email", "email"),
        ("แท็ก", "tags"),
        ("Tags", "tags"),
        ("ระดับสมาชิก", "tier"),
        ("Tier", "tier"),
        ("รหัสลูกค้า", "customer_id"),
        ("Customer ID", "customer_id"),
        ("หมายเหตุ", "note"),
        ("Remark", "note"),
        ("Points (พอยท์)", "points"),
        ("LINE name", None),  # an export's extra column is not a name column
        ("system ID", None),
        ("Address", None),
        (None, None),
        ("", None),
    ],
)
def test_column_names_in_thai_or_english(cell, key):
    assert column_key(cell) == key


def test_every_template_header_is_understood():
    for key in ALIASES:
        assert column_key(template_header(key)) == key


def test_columns_in_any_order_with_extras_ignored():
    columns = map_header(("Note", "ที่อยู่", "พอยท์", "Phone", "ชื่อ", "นามสกุล"), 1)
    assert columns.index == {"note": 0, "points": 2, "phone": 3, "first_name": 4, "last_name": 5}
    assert columns.ignored == [("B", "ที่อยู่")]
    assert not columns.names_in_first_name


def test_name_column_alone_holds_full_names():
    columns = map_header(("เบอร์โทร", "ชื่อ"), 1)
    assert columns.names_in_first_name


def test_a_second_column_of_the_same_kind_is_ignored_not_mixed_in():
    columns = map_header(("Phone", "เบอร์โทร"), 1)
    assert columns.index == {"phone": 0}
    assert columns.ignored == [("B", "เบอร์โทร")]


def test_header_below_a_title_is_found():
    rows = [(1, ("รายชื่อสมาชิก ร้านกาแฟ",)), (2, ()), (3, ("ชื่อ", "เบอร์โทร"))]
    assert find_header(rows).header_row == 3


def test_no_phone_column_means_no_header():
    assert map_header(("ชื่อ", "พอยท์"), 1) is None


# LINE MyCustomer's member-template.xlsx, column for column (see the seeds).
MYCUSTOMER = ("เบอร์โทรศัพท์", "ชื่อ-นามสกุล", "จำนวนพอยท์", "เพศ", "วันเกิด", "อีเมล")


def test_mycustomer_template_columns_are_all_read():
    columns = map_header(MYCUSTOMER, 1)
    assert columns.index == {
        "phone": 0,
        "full_name": 1,
        "points": 2,
        "gender": 3,
        "birthday": 4,
        "email": 5,
    }
    assert columns.problems == [] and columns.ignored == []


@pytest.mark.parametrize(
    "cell",
    [
        "จำนวนพอยท์",
        "จำนวนพอยต์",
        "จำนวน พอยท์",
        "จำนวนแต้ม",
        "จำนวนคะแนน",
        "คะแนนคงเหลือ",
        "พอยท์คงเหลือ",
        "แต้มคงเหลือ",
        "แต้มสะสม",
        "คะแนนสะสม",
        "พอยท์สะสม",
        "ยอดพอยท์",
        "พ้อยท์",
        "Points balance",
        "Remaining points",
        "PTS",
        "จำนวนพอยท์ / Points",
    ],
)
def test_the_ways_a_thai_sheet_names_points(cell):
    assert column_key(cell) == "points"


@pytest.mark.parametrize(
    ("cell", "key"),
    [
        ("เบอร์มือถือ", "phone"),
        ("มือถือ", "phone"),
        ("โทร", "phone"),
        ("โทรศัพท์มือถือ", "phone"),
        ("หมายเลขโทรศัพท์", "phone"),
        ("เบอร์โทรลูกค้า", "phone"),
        ("Tel.", "phone"),
        ("Mobile No.", "phone"),
        ("วัน เดือน ปีเกิด", "birthday"),
        ("วัน/เดือน/ปี เกิด", "birthday"),
        ("ว/ด/ป เกิด", "birthday"),
        ("วันเกิด (วว/ดด/ปปปป)", "birthday"),
        ("Date of birth", "birthday"),
        ("อีเมล์", "email"),
        ("ชื่อ - นามสกุล", "full_name"),
        ("ชื่อ/นามสกุล", "full_name"),
        ("ชื่อ-สกุล", "full_name"),
        ("ชื่อลูกค้า", "full_name"),
        ("รหัสสมาชิก", "customer_id"),
        ("Customer ID", "customer_id"),
    ],
)
def test_phone_birthday_name_and_id_variants(cell, key):
    assert column_key(cell) == key


@pytest.mark.parametrize(
    "cell",
    [
        "จำนวน\u200bพอยท์",  # a zero-width space from a web page
        "จำนวน\u00a0พอยท์",  # a no-break space
        "\ufeffจำนวนพอยท์",  # a byte-order mark left at the start of a CSV
        "จํานวนพอยท์",  # ำ typed as NIKHAHIT + SARA AA
        "  จำนวนพอยท์ *  ",
        "จำนวนพอยท์:",
        "ＰＯＩＮＴＳ",  # full-width letters
    ],
)
def test_names_are_normalised_before_they_are_compared(cell):
    assert column_key(cell) == "points"
    assert normalise_header(cell) in (normalise_header("จำนวนพอยท์"), "points")


def test_thai_digits_and_doubled_sara_e_are_normalised():
    assert normalise_header("ที่อยู่ ๒") == normalise_header("ที่อยู่ 2")
    assert column_key("เเต้มสะสม") == "points"  # แ typed as เ + เ


@pytest.mark.parametrize(
    ("cell", "looks"),
    [
        ("พอยท์ยกมา", "points"),
        ("แต้มที่ใช้ไป", "points"),
        ("คะแนนรวม", "points"),
        ("Total points", "points"),
        ("เบอร์สำรอง", "phone"),
        ("Phone 2", "phone"),
        ("ปีเกิด", "birthday"),
        ("Birth year", "birthday"),
        ("ที่อยู่", ""),
        ("Appointment", ""),  # "point" inside another word is not points
        ("ยอดซื้อสะสม", ""),
    ],
)
def test_names_that_look_like_points_phone_or_birthday(cell, looks):
    assert column_key(cell) is None
    assert looks_like(cell) == looks


def problem_codes(columns):
    return [(p.letter, p.code, p.blocking) for p in columns.problems]


def test_every_column_not_read_has_a_problem_saying_why():
    columns = map_header(
        (*MYCUSTOMER, "ที่อยู่", "พอยท์ยกมา", "LINE ID", "เบอร์โทร", "อีเมล", "พอยท์ติดลบ"), 1
    )
    assert problem_codes(columns) == [
        ("G", "column_unknown", False),
        ("H", "column_looks_like", True),
        ("I", "column_not_imported_line", False),
        ("J", "column_ambiguous", True),  # a second phone column: which one?
        ("K", "column_duplicate", False),  # a second e-mail column: a warning
        ("L", "column_not_imported_export", False),
    ]
    assert columns.problems[1].params == {"field": "points"}
    assert columns.problems[3].params == {"field": "phone", "used": "A"}
    assert [letter for letter, _label in columns.ignored] == ["G", "H", "I", "J", "K", "L"]


def test_the_owners_choices_come_first():
    header = (*MYCUSTOMER, "พอยท์ยกมา", "ที่อยู่")
    # when: the owner reads G as the points, ignores C and H
    columns = map_header(header, 1, {"G": "points", "C": IGNORE, "H": IGNORE})
    # then: no problem is left; C and H are listed as not read
    assert columns.index["points"] == 6
    assert columns.problems == []
    assert columns.chosen == {"G": "points", "C": IGNORE, "H": IGNORE}
    assert [letter for letter, _label in columns.ignored] == ["C", "H"]


def test_a_column_read_by_name_cannot_take_a_field_the_owner_gave_another():
    columns = map_header((*MYCUSTOMER, "พอยท์ยกมา"), 1, {"G": "points"})
    assert columns.index["points"] == 6
    assert problem_codes(columns) == [("C", "column_ambiguous", True)]


def test_a_phone_column_with_an_unknown_name_still_finds_the_header():
    rows = [
        (1, ("รายชื่อลูกค้า โทร 02-123-4567",)),  # a title: looks like a phone, nothing else
        (2, ("เบอร์ลูกค้าหลัก", "ชื่อ", "แต้มสะสม")),
        (3, ("0812345678", "สมชาย", 5)),
    ]
    columns, rest = choose_header(iter(rows))
    assert columns.header_row == 2
    assert "phone" not in columns.index
    assert problem_codes(columns) == [("A", "column_looks_like", True)]
    assert list(rest) == [rows[2]]


def test_the_header_row_does_not_move_with_the_owners_choices():
    rows = [(1, ("รายชื่อลูกค้า",)), (2, ("เบอร์ลูกค้าหลัก", "ชื่อ")), (3, ("0812345678", "ก"))]
    # A is the phone column, and row 1 has text in A too: the header is still row 2
    columns, rest = choose_header(iter(rows), {"A": "phone"})
    assert (columns.header_row, columns.index["phone"], list(rest)) == (2, 0, [rows[2]])


def test_the_members_exports_extra_columns_are_known_in_both_languages():
    from django.utils import translation

    from members.imports.exports import MEMBERS

    for language in ("th", "en"):
        with translation.override(language):
            headers = [str(c.header) for c in MEMBERS.columns()]
        columns = map_header(tuple(headers), 1)
        # status, LINE name, sign-up branch, registered, joined, points debt, system ID
        assert [p.code.rsplit("_", 1)[1] for p in columns.problems] == [
            "export",
            "line",
            *["export"] * 5,
        ], language
