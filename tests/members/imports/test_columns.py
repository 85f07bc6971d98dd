"""No column is dropped quietly (trust issue, defect 3): LINE MyCustomer's template is read with its
points; a column the import does not know is a warning; one that could hold points, a phone or a
birthday blocks the import until the owner says what it holds (or ignores it); that choice is kept
on the job and used by the commit."""

from __future__ import annotations

import pytest

from loyalty.errors import InvalidInput
from members.imports import services
from members.imports.models import ImportJob
from members.imports.parsed import delete_parsed_rows
from members.ledger.models import EntryKind, LedgerEntry
from members.models import Member
from tests.members.imports.conftest import commit, make_csv, make_xlsx, upload

pytestmark = pytest.mark.django_db

# The columns of LINE MyCustomer's member-template.xlsx (see the seeds), and two rows.
MYCUSTOMER = ["เบอร์โทรศัพท์", "ชื่อ-นามสกุล", "จำนวนพอยท์", "เพศ", "วันเกิด", "อีเมล"]
ROWS = [
    ["0812345678", "สมชาย ใจดี", 1500, "ชาย", "15/03/2533", "somchai@example.com"],
    ["0899999999", "สมหญิง รักดี", 320, "หญิง", "", ""],
]


def codes(job: ImportJob) -> list[tuple[str, str, bool]]:
    return [(p["letter"], p["code"], p["blocking"]) for p in job.column_problems]


def test_a_mycustomer_export_keeps_its_points(tmp_path, import_shop, branch, owner):
    # given: a shop moving from MyCustomer uploads its filled-in template
    path = make_xlsx(tmp_path / "member-template.xlsx", [MYCUSTOMER, *ROWS])
    # when
    job = upload(import_shop, path, branch=branch)
    # then: the points column is read, and the preview says so before anything is written
    assert job.columns["found"]["points"]["label"] == "จำนวนพอยท์"
    assert job.points_total == 1820 and job.column_problems == []
    commit(job, user=owner)
    somchai = Member.objects.get(phone="+66812345678")
    assert (somchai.first_name, somchai.last_name, somchai.balance) == ("สมชาย", "ใจดี", 1500)
    assert Member.objects.get(phone="+66899999999").balance == 320


def test_a_csv_with_zero_width_and_spaced_names_keeps_its_points(tmp_path, import_shop):
    header = ["เบอร์\u200bโทร", "จำนวน แต้ม", "วัน เดือน ปีเกิด"]
    path = make_csv(tmp_path / "m.csv", [header, ["0812345678", "75", "1/1/2530"]])
    job = upload(import_shop, path)
    assert set(job.columns["found"]) == {"phone", "points", "birthday"}
    assert job.points_total == 75


def test_a_column_the_import_does_not_know_is_a_warning(tmp_path, import_shop, owner):
    path = make_xlsx(tmp_path / "m.xlsx", [[*MYCUSTOMER, "ที่อยู่"], [*ROWS[0], "กรุงเทพฯ"]])
    job = upload(import_shop, path)
    assert codes(job) == [("G", "column_unknown", False)]
    assert job.column_errors == [] and job.can_commit
    assert commit(job, user=owner).state == ImportJob.State.DONE


@pytest.mark.parametrize("mode", ["all", "valid"])
def test_a_points_like_column_not_read_blocks_the_import(tmp_path, import_shop, owner, mode):
    # given: a sheet whose points column has a name the import does not know
    header = ["เบอร์โทร", "ชื่อ", "พอยท์ยกมา"]
    path = make_xlsx(tmp_path / "m.xlsx", [header, ["0812345678", "สมชาย", 900]])
    job = upload(import_shop, path, mode=mode)
    # then: it is an error naming the column, and nothing can be imported
    assert codes(job) == [("C", "column_looks_like", True)]
    assert job.column_problems[0]["label"] == "พอยท์ยกมา"
    assert not job.can_commit
    with pytest.raises(services.ImportNotAllowed, match="พอยท์ยกมา"):
        services.import_confirm(job=job, user=owner)
    assert not Member.objects.exists()


def test_two_points_columns_are_an_error_until_the_owner_chooses(tmp_path, import_shop, owner):
    header = ["เบอร์โทร", "แต้มสะสม", "แต้มคงเหลือ"]
    job = upload(import_shop, make_xlsx(tmp_path / "m.xlsx", [header, ["0812345678", 900, 40]]))
    assert codes(job) == [("C", "column_ambiguous", True)]
    # when: the owner says the balance is in C, and B is not imported
    job = services.import_columns_map(job=job, mapping={"C": "points", "B": "ignore"}, start=False)
    job = services.import_validate(job_id=job.pk)
    # then: checked again with the choice, which the commit uses
    assert (job.column_errors, job.points_total) == ([], 40)
    assert commit(job, user=owner).state == ImportJob.State.DONE
    assert Member.objects.get().balance == 40


def test_the_owners_choice_is_kept_and_used_by_the_commit(tmp_path, import_shop, owner):
    header = ["เบอร์โทร", "ชื่อ", "พอยท์ยกมา", "ยอดซื้อ"]
    rows = [header, ["0812345678", "สมชาย", 900, 5000], ["0812345679", "สมหญิง", 15, 200]]
    job = upload(import_shop, make_xlsx(tmp_path / "m.xlsx", rows))
    # when: the owner reads C as points (D stays a warning)
    job = services.import_columns_map(job=job, mapping={"C": "points"}, start=False)
    assert (job.state, job.column_mapping, job.points_total) == ("queued", {"C": "points"}, 0)
    job = services.import_validate(job_id=job.pk)
    assert codes(job) == [("D", "column_unknown", False)]
    assert job.points_total == 915
    assert job.columns["headers"][2] == {
        "index": 2,
        "letter": "C",
        "label": "พอยท์ยกมา",
        "field": "points",
        "chosen": True,
    }
    # the commit reads the file again (the rows kept by the check are gone): with the choice
    delete_parsed_rows(job)
    job = commit(job, user=owner)
    assert job.state == ImportJob.State.DONE and job.points_total == 915
    assert sorted(
        LedgerEntry.objects.filter(kind=EntryKind.IMPORT).values_list("points", flat=True)
    ) == [15, 900]


def test_ignoring_a_column_settles_it(tmp_path, import_shop, owner):
    header = ["เบอร์โทร", "ชื่อ", "พอยท์", "แต้มที่ใช้ไป"]
    job = upload(import_shop, make_xlsx(tmp_path / "m.xlsx", [header, ["0812345678", "ก", 9, 3]]))
    assert codes(job) == [("D", "column_looks_like", True)]
    services.import_columns_map(job=job, mapping={"D": "ignore"}, start=False)
    job = services.import_validate(job_id=job.pk)
    assert job.column_problems == [] and job.can_commit
    assert job.columns["ignored"] == [{"letter": "D", "label": "แต้มที่ใช้ไป"}]


def test_a_phone_column_with_an_unknown_name_can_be_chosen(tmp_path, import_shop, owner):
    # given: no column the import knows as the phone; before, the file was refused (no header)
    header = ["เบอร์ลูกค้าหลัก", "ชื่อ", "จำนวนพอยท์"]
    rows = [["รายชื่อลูกค้า"], header, ["0812345678", "สมชาย", 10]]
    job = upload(import_shop, make_xlsx(tmp_path / "m.xlsx", rows))
    assert job.state == ImportJob.State.VALIDATED and job.header_row == 2
    assert codes(job) == [("A", "column_looks_like", True)]
    assert job.error_count == 1  # the row has no phone yet
    # when
    services.import_columns_map(job=job, mapping={"A": "phone"}, start=False)
    job = services.import_validate(job_id=job.pk)
    # then
    assert (job.header_row, job.error_count, job.new_count, job.points_total) == (2, 0, 1, 10)
    commit(job, user=owner)
    assert Member.objects.get().balance == 10


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"B": "points", "C": "points"}, "both"),
        ({"A": "ignore"}, "phone"),
        ({"Z": "points"}, "no column Z"),
        ({"C": "balance"}, "Choose what column C holds"),
    ],
)
def test_choices_that_cannot_work_are_refused(tmp_path, import_shop, english, mapping, message):
    header = ["เบอร์โทร", "แต้มสะสม", "แต้มคงเหลือ"]
    job = upload(import_shop, make_xlsx(tmp_path / "m.xlsx", [header, ["0812345678", 9, 4]]))
    with pytest.raises(InvalidInput, match=message):
        services.import_columns_map(job=job, mapping=mapping, start=False)
    job.refresh_from_db()
    assert (job.state, job.column_mapping) == (ImportJob.State.VALIDATED, {})


def test_columns_cannot_change_once_the_import_is_confirmed(tmp_path, import_shop, owner):
    job = upload(import_shop, make_xlsx(tmp_path / "m.xlsx", [MYCUSTOMER, ROWS[0]]))
    job = commit(job, user=owner)
    with pytest.raises(services.ImportNotAllowed):
        services.import_columns_map(job=job, mapping={"C": "ignore"}, start=False)


def test_data_under_no_header_is_a_warning_too(tmp_path, import_shop, english):
    # given: a column whose header was deleted (C) and data right of the header (E)
    rows = [
        ["เบอร์โทร", "ชื่อ", None, "พอยท์"],
        ["0812345678", "สมชาย", None, 10, "VIP"],
        ["0812345679", "สมหญิง", 250, 20],
    ]
    job = upload(import_shop, make_xlsx(tmp_path / "m.xlsx", rows))
    assert [(p["letter"], p["code"], p["params"], p["blocking"]) for p in job.column_problems] == [
        ("C", "column_unnamed", {"row": 3}, False),
        ("E", "column_unnamed", {"row": 2}, False),
    ]
    assert job.can_commit
