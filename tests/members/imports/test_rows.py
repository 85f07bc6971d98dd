"""Whole files through the validation job: real-spreadsheet rows, in-file duplicates, row numbers
that match what the owner sees, and the column mapping shown on the preview."""

from __future__ import annotations

import datetime as dt

import pytest

from members.imports.models import ImportJob
from members.models import Member
from tests.members.imports.conftest import (
    HEADER,
    commit,
    counts,
    make_csv,
    make_xlsx,
    problems,
    upload,
)

pytestmark = pytest.mark.django_db


def test_blank_rows_are_skipped_and_row_numbers_stay_those_of_the_sheet(tmp_path, import_shop):
    rows = [
        HEADER,
        ["0812345678", "ก"],
        [],
        [None, None, None],
        ["", "  "],
        ["0812345679", "ข"],
        ["bad", "ค"],
    ]
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows))
    assert job.rows_total == 3
    assert problems(job) == [(7, "phone", "phone_invalid")]


def test_header_on_a_later_row_and_columns_in_any_order(tmp_path, import_shop, branch, owner):
    rows = [
        ["รายชื่อลูกค้าจากระบบเดิม"],
        ["ส่งออกเมื่อ 1/11/2569"],
        ["Points", "Gender", "Phone", "Last name", "First name", "Address"],
        [10, "F", "0812345678", "รักดี", "สมหญิง", "123 ถนนสุขุมวิท"],
    ]
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows), branch=branch)
    assert job.header_row == 3
    assert job.columns["ignored"] == [{"letter": "F", "label": "Address"}]
    assert counts(job)["new"] == 1
    commit(job, user=owner)
    member = Member.objects.get(phone="+66812345678")
    assert (member.first_name, member.last_name, member.gender, member.balance) == (
        "สมหญิง",
        "รักดี",
        "female",
        10,
    )


def test_full_name_column_is_split(tmp_path, import_shop, owner):
    rows = [["ชื่อ-นามสกุล", "เบอร์โทร"], ["นาย สมชาย ใจดี", "081-234-5678"]]
    commit(upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows)), user=owner)
    member = Member.objects.get(phone="+66812345678")
    assert (member.first_name, member.last_name) == ("สมชาย", "ใจดี")


def test_name_column_alone_is_split_as_a_full_name(tmp_path, import_shop, owner):
    rows = [["ชื่อ", "เบอร์โทร"], ["สมชาย ใจดี", "0812345678"]]
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows))
    assert job.columns["names_in_first_name"] is True
    commit(job, user=owner)
    member = Member.objects.get(phone="+66812345678")
    assert (member.first_name, member.last_name) == ("สมชาย", "ใจดี")


def test_phones_that_lost_their_leading_zero_as_excel_numbers(tmp_path, import_shop, owner):
    rows = [["Phone", "Points"], [812345678, 5], [8.12345679e8, 5], ["๐๘๑๒๓๔๕๖๘๐", 5]]
    commit(upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows)), user=owner)
    assert set(Member.objects.values_list("phone", flat=True)) == {
        "+66812345678",
        "+66812345679",
        "+66812345680",
    }


def test_duplicate_phones_in_the_file_point_to_the_first_row(tmp_path, import_shop):
    rows = [
        ["Phone", "ชื่อ", "Points"],
        ["0812345678", "ก", 10],
        ["0899999999", "ข", 5],
        ["081-234-5678", "ค", 20],  # the same number written another way
        [812345678, "ง", 30],
    ]
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows))
    assert problems(job) == [(4, "phone", "phone_duplicate"), (5, "phone", "phone_duplicate")]
    assert [e.params for e in job.errors.all()] == [{"first_row": 2}, {"first_row": 2}]
    assert counts(job) == {"new": 2, "updated": 0, "unchanged": 0, "errors": 2}
    assert job.points_total == 15  # only the first row's points


def test_duplicate_customer_ids_in_the_file(tmp_path, import_shop):
    rows = [["Phone", "Customer ID"], ["0812345678", "C1"], ["0812345679", "C1"]]
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows))
    assert problems(job) == [(3, "customer_id", "customer_id_duplicate")]


def test_negative_and_fractional_points_are_errors_not_rounded(tmp_path, import_shop):
    rows = [["Phone", "Points"], ["0812345678", -10], ["0812345679", 10.5], ["0812345680", "12.0"]]
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows))
    assert problems(job) == [(2, "points", "points_negative"), (3, "points", "points_fraction")]
    assert job.points_total == 12


def test_birthdays_as_excel_dates_text_and_buddhist_years(tmp_path, import_shop, owner):
    rows = [
        ["Phone", "วันเกิด"],
        ["0812345671", dt.datetime(1990, 3, 15)],
        ["0812345672", "15/03/2533"],
        ["0812345673", "1990-03-15"],
        ["0812345674", "15 มีนาคม 2533"],
        ["0812345675", 32947],
    ]
    commit(upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows)), user=owner)
    assert set(Member.objects.values_list("birthday", flat=True)) == {dt.date(1990, 3, 15)}


def test_every_bad_cell_of_a_row_is_reported_with_its_value(tmp_path, import_shop):
    rows = [
        HEADER,
        ["0812345678", "ก", "ข", "1.5", "robot", "31/02/1990", "not-an-email"],
    ]
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows))
    assert [(e.column, e.value, e.code) for e in job.errors.all()] == [
        ("points", "1.5", "points_fraction"),
        ("gender", "robot", "gender_unknown"),
        ("birthday", "31/02/1990", "birthday_invalid"),
        ("email", "not-an-email", "email_invalid"),
    ]


def test_unknown_tags_and_tiers_are_errors(tmp_path, import_shop, vip, gold):
    rows = [
        ["Phone", "Tags", "Tier"],
        ["0812345678", "VIP, ขาประจำ", "Gold"],
        ["0812345679", "vip", "Platinum"],
    ]
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows))
    assert problems(job) == [(2, "tags", "tag_unknown"), (3, "tier", "tier_unknown")]
    assert job.errors.get(code="tier_unknown").params == {"name": "Platinum", "choices": "Gold"}


def test_tags_tier_customer_id_and_note_are_imported(tmp_path, import_shop, owner, vip, gold):
    rows = [
        ["Phone", "Tags", "Tier", "Customer ID", "Note"],
        ["0812345678", "vip", "gold", 1001, "ลูกค้าเก่า\nชอบลาเต้"],
    ]
    commit(upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows)), user=owner)
    member = Member.objects.get(phone="+66812345678")
    assert list(member.tags.all()) == [vip]
    assert member.tier == gold
    assert member.customer_id == "1001"
    assert member.note == "ลูกค้าเก่า\nชอบลาเต้"


def test_thai_csv_from_windows_excel(tmp_path, import_shop, owner):
    rows = [["เบอร์โทร", "ชื่อ", "นามสกุล", "พอยท์"], ["0812345678", "สมชาย", "ใจดี", "1,500"]]
    path = make_csv(tmp_path / "a.csv", rows, encoding="cp874")
    job = commit(upload(import_shop, path), user=owner)
    assert job.state == ImportJob.State.DONE
    member = Member.objects.get(phone="+66812345678")
    assert (member.first_name, member.balance) == ("สมชาย", 1500)
