"""Headers in Thai or English, in any order, on the first rows of the sheet."""

from __future__ import annotations

import pytest

from members.imports.headers import ALIASES, column_key, find_header, map_header, template_header


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
