"""A cell with a character typed text may not contain (``loyalty.text``) is an error of its row,
with a reason that says which character and where: never a crash, never a value changed behind
the owner's back (U+001C–U+001F used to become spaces, U+000B split a note into lines, U+0007
and U+FFFF were stored as they were)."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from members.imports import cells
from members.imports.cells import CellError
from members.imports.messages import describe
from members.models import Member
from shops.models import User
from tests.factories import UserFactory
from tests.members.imports.conftest import TODAY, commit, counts, make_csv, make_xlsx, upload

pytestmark = pytest.mark.django_db


def refusal(fn, value, **kwargs) -> tuple:
    with pytest.raises(CellError) as info:
        fn(value, **kwargs)
    return info.value.code, info.value.params


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [
        (cells.parse_name, "Som\x07chai", ("text_control_character", "U+0007", 4)),
        (cells.parse_name, "Som\x1cchai", ("text_control_character", "U+001C", 4)),
        (cells.parse_name, "Som\uffffchai", ("text_noncharacter", "U+FFFF", 4)),
        (cells.parse_name, "\ufdd0", ("text_noncharacter", "U+FDD0", 1)),
        (cells.parse_note, "line\x0btwo", ("text_control_character", "U+000B", 5)),
        (cells.parse_customer_id, "C-1\x00", ("text_control_character", "U+0000", 4)),
        (cells.split_full_name, "สมชาย\x85ใจดี", ("text_control_character", "U+0085", 6)),
        (cells.parse_phone, "081\x07234 5678", ("text_control_character", "U+0007", 4)),
        (cells.parse_points, "1\x7f00", ("text_control_character", "U+007F", 2)),
        (cells.parse_gender, "ชาย\x01", ("text_control_character", "U+0001", 4)),
        (cells.parse_email, "a@b.th\x02", ("text_control_character", "U+0002", 7)),
        (cells.parse_list, "VIP,\x1dGold", ("text_control_character", "U+001D", 5)),
    ],
)
def test_a_cell_with_a_refused_character_is_an_error_saying_which_and_where(parse, value, expected):
    code, params = refusal(parse, value)
    assert (code, params["char"], params["position"]) == expected


def test_a_birthday_cell_with_a_control_character_is_refused_too():
    code, params = refusal(cells.parse_birthday, "15/03/1990\x07", today=TODAY)
    assert (code, params["char"]) == ("text_control_character", "U+0007")


def test_tabs_and_line_breaks_are_white_space_not_errors():
    assert cells.parse_name("สมชาย\tใจดี\n") == "สมชาย ใจดี"
    assert cells.parse_note("line one\r\nline two") == "line one\nline two"


def test_the_reason_reads_in_english_and_thai(english):
    assert describe("text_control_character", {"char": "U+0007", "position": 4}) == (
        "The cell contains an invisible control character (U+0007) at position 4. Delete it in "
        "the file and upload the file again."
    )
    from django.utils import translation

    with translation.override("th"):
        assert "U+FFFF" in describe("text_noncharacter", {"char": "U+FFFF", "position": 2})
        assert "The cell" not in describe("text_noncharacter", {"char": "U+FFFF", "position": 2})


def test_an_upload_with_refused_characters_gets_row_errors_and_imports_only_the_good_rows(
    import_shop, tmp_path, client, english
):
    # given: a CSV (which can carry any character but NUL: that is a damaged file) with a good
    # row and three bad ones
    path = make_csv(
        tmp_path / "members.csv",
        [
            ["เบอร์โทร", "ชื่อ", "นามสกุล", "หมายเหตุ", "รหัสลูกค้า"],
            ["0812345671", "สมชาย", "ใจดี", "ok", "C-1"],
            ["0812345672", "Som\x07chai", "Jaidee", "", ""],
            ["0812345673", "Nok", "Rak\uffffthai", "", ""],
            ["0812345674", "Ploy", "Dee", "note\x1bhere", "C-4\x1f"],
        ],
    )

    # when
    job = upload(import_shop, path, mode="valid")

    # then: each bad cell is an error of its row with the reason, the value shown with U+FFFD
    errors = [
        (e.row, e.column, e.value, e.code, e.params) for e in job.errors.order_by("row", "id")
    ]
    assert errors == [
        (
            3,
            "first_name",
            "Som\ufffdchai",
            "text_control_character",
            {"char": "U+0007", "position": 4},
        ),
        (4, "last_name", "Rak\ufffdthai", "text_noncharacter", {"char": "U+FFFF", "position": 4}),
        (
            5,
            "customer_id",
            "C-4\ufffd",
            "text_control_character",
            {"char": "U+001F", "position": 4},
        ),
        (5, "note", "note\ufffdhere", "text_control_character", {"char": "U+001B", "position": 5}),
    ]
    commit(job)
    assert counts(job) == {"new": 1, "updated": 0, "unchanged": 0, "errors": 3}
    assert list(Member.objects.filter(shop=import_shop).values_list("first_name", flat=True)) == [
        "สมชาย"
    ]

    # and the error report opens, with the reasons in words
    client.force_login(UserFactory(username="o", shop=import_shop, role=User.Role.OWNER))
    response = client.get(reverse("admin:members_importjob_errors", args=[job.public_id]))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    report = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=2)]
    assert report[0][2:] == (
        "Som\ufffdchai",
        "The cell contains an invisible control character (U+0007) at position 4. Delete it in "
        "the file and upload the file again.",
    )
    assert len(report) == 4


def test_an_xlsx_with_a_noncharacter_xml_allows_is_refused_too(import_shop, tmp_path):
    # U+FDD0 and C1 controls are valid XML, so a workbook can carry them.
    path = make_xlsx(
        tmp_path / "members.xlsx",
        [["เบอร์โทร", "ชื่อ"], ["0812345671", "Som\ufdd0chai"], ["0812345672", "Nok\x9b"]],
    )

    job = upload(import_shop, path)

    assert [(e.row, e.code, e.params["char"]) for e in job.errors.order_by("row")] == [
        (2, "text_noncharacter", "U+FDD0"),
        (3, "text_control_character", "U+009B"),
    ]
