"""Validation keeps the rows it parsed next to the upload, and the commit uses them instead of
reading the file again: same members, points and errors; the checks that can change in between are
still made at commit; a kept file that does not fit the upload is not used; it goes with the upload."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from members.imports import parsed, passes, services
from members.imports.models import ImportJob
from members.imports.planning import ParsedRow, RowError
from members.ledger.models import LedgerEntry
from members.models import Member
from shops.models import Tag
from tests.members.conftest import assert_invariants
from tests.members.imports.conftest import commit, counts, make_xlsx, problems, upload

pytestmark = pytest.mark.django_db

HEADER = ["Phone", "First name", "Last name", "Points", "Birthday", "E-mail", "Tags"]


def kept_path(job: ImportJob) -> Path:
    return Path(job.file.storage.path(parsed.parsed_rows_name(job)))


@pytest.fixture
def members_file(tmp_path, vip):
    return make_xlsx(
        tmp_path / "members.xlsx",
        [
            HEADER,
            ["081-234-5678", " สมชาย\u00a0", "ใจดี", "1,500", dt.date(1990, 3, 15), "", "VIP"],
            [812345679, "สมหญิง", "", 20, "15 มี.ค. 33", "S@Example.COM", ""],
            ["not a phone", "x", "", -5, "", "", ""],
            ["0812345678", "again", "", 1, "", "", ""],  # the same phone as row 2
        ],
    )


def no_file_reading(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the commit read the upload again")

    monkeypatch.setattr(passes, "open_table", boom)


def test_validation_keeps_the_parsed_rows_next_to_the_upload(members_file, import_shop):
    job = upload(import_shop, members_file, mode="valid")
    path = kept_path(job)
    assert path.parent == Path(job.file.path).parent
    lines = path.read_bytes().splitlines()
    assert json.loads(lines[0]) == {
        "format": parsed.FORMAT,
        "version": parsed.VERSION,
        "sha256": job.file_sha256,
    }
    assert json.loads(lines[-1]) == {"rows": 4}
    assert len(lines) == 6


@pytest.mark.parametrize("mode", ["valid", "all"])
def test_the_commit_uses_the_kept_rows_and_does_not_read_the_file(
    tmp_path, import_shop, vip, owner, monkeypatch, mode
):
    path = make_xlsx(
        tmp_path / "a.xlsx",
        [HEADER, ["081-234-5678", "สมชาย", "ใจดี", "1,500", "15/03/2533", "", "vip"]]
        + [[f"08123400{i:02d}", "", "", i, "", "", ""] for i in range(30)],
    )
    job = upload(import_shop, path, mode=mode)
    assert job.error_count == 0
    no_file_reading(monkeypatch)
    job = commit(job, user=owner)
    assert job.state == ImportJob.State.DONE, job.failure
    somchai = Member.objects.get(phone="+66812345678")
    assert (somchai.first_name, somchai.last_name, somchai.birthday, somchai.balance) == (
        "สมชาย",
        "ใจดี",
        dt.date(1990, 3, 15),
        1500,
    )
    assert list(somchai.tags.values_list("name", flat=True)) == ["VIP"]
    assert Member.objects.count() == 31
    assert LedgerEntry.objects.count() == 30  # the row with 0 points has no entry
    assert_invariants(import_shop.pk)


def test_kept_rows_give_the_same_errors_and_counts_as_the_file(
    members_file, import_shop, owner, monkeypatch
):
    job = upload(import_shop, members_file, mode="valid")
    preview = (counts(job), problems(job))
    no_file_reading(monkeypatch)
    job = commit(job, user=owner)
    assert (counts(job), problems(job)) == preview
    assert preview == (
        {"new": 2, "updated": 0, "unchanged": 0, "errors": 2},
        [
            (4, "phone", "phone_invalid"),
            (4, "points", "points_negative"),
            (5, "phone", "phone_duplicate"),
        ],
    )
    assert sorted(Member.objects.values_list("email", flat=True)) == ["", "S@example.com"]


def test_a_tag_deleted_after_validation_is_still_caught_at_commit(
    members_file, import_shop, owner, monkeypatch
):
    job = upload(import_shop, members_file, mode="valid")
    Tag.objects.filter(shop=import_shop, name="VIP").delete()
    no_file_reading(monkeypatch)
    job = commit(job, user=owner)
    assert (2, "tags", "tag_unknown") in problems(job)
    assert not Member.objects.filter(phone="+66812345678").exists()


@pytest.mark.parametrize(
    "spoil",
    [
        lambda lines: lines[:-1],  # cut short: no trailer
        lambda lines: lines[:-2] + lines[-1:],  # a row missing
        lambda lines: [b'{"format":"member-import-rows","version":99,"sha256":"x"}', *lines[1:]],
        lambda lines: [b"not json", *lines[1:]],
        lambda lines: [],
    ],
)
def test_kept_rows_that_do_not_fit_the_upload_are_not_used(
    members_file, import_shop, owner, monkeypatch, spoil
):
    job = upload(import_shop, members_file, mode="valid")
    path = kept_path(job)
    path.write_bytes(b"\n".join(spoil(path.read_bytes().splitlines())) + b"\n")
    read = []
    original = passes.open_table
    monkeypatch.setattr(passes, "open_table", lambda *a, **k: read.append(1) or original(*a, **k))
    job = commit(job, user=owner)
    assert read == [1]  # the commit read the upload instead
    assert counts(job) == {"new": 2, "updated": 0, "unchanged": 0, "errors": 2}


def test_the_kept_rows_are_deleted_with_the_upload(members_file, import_shop, owner):
    done = upload(import_shop, members_file, mode="valid")
    done_path = kept_path(done)
    commit(done, user=owner)
    assert not done_path.exists()

    cancelled = upload(import_shop, members_file, mode="valid", name="b.xlsx")
    cancelled_path = kept_path(cancelled)
    assert cancelled_path.exists()
    services.import_cancel(job=cancelled)
    services._delete_file(cancelled)  # what on_commit runs
    assert not cancelled_path.exists()


def test_validation_run_again_replaces_what_it_kept(members_file, import_shop, owner):
    job = upload(import_shop, members_file, mode="valid")
    path = kept_path(job)
    path.write_bytes(b"left over\n")
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED)
    job = services.import_validate(job_id=job.pk)
    assert json.loads(path.read_bytes().splitlines()[-1]) == {"rows": 4}
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [Path(job.file.name).name, path.name]
    )


def test_a_row_survives_being_kept():
    row = ParsedRow(
        row=7,
        phone="+66812345678",
        first_name="สมชาย",
        last_name="ณ อยุธยา",
        points=1500,
        gender="male",
        birthday=dt.date(1990, 3, 15),
        email="s@example.com",
        tags=["VIP", "ลูกค้าประจำ"],
        tier="Gold",
        customer_id="C-001",
        note="โทรก่อนส่งของ\nช่วงบ่าย",
        present={"phone", "first_name", "points"},
        errors=[RowError(7, "email", "x@", "email_invalid", {"max": 254})],
    )
    assert parsed._decode(json.loads(json.dumps(parsed._encode(row)))) == row
    blank = ParsedRow(row=3)
    assert parsed._decode(json.loads(json.dumps(parsed._encode(blank)))) == blank
