"""Upload → validation (preview) → confirm → commit, through the services the admin and the
command use; what is written, and what is not before the owner confirms."""

from __future__ import annotations

import datetime as dt

import pytest

from members.imports.models import ImportJob
from members.ledger.models import EntryKind, LedgerEntry, PointLot
from members.models import Member
from tests.members.conftest import assert_invariants
from tests.members.imports.conftest import HEADER, commit, counts, make_xlsx, problems, upload

pytestmark = pytest.mark.django_db


def test_validation_writes_nothing_and_counts_each_kind_of_row(tmp_path, import_shop, branch):
    # given a file with two new members and one bad row
    path = make_xlsx(
        tmp_path / "members.xlsx",
        [
            HEADER,
            ["0812345678", "สมชาย", "ใจดี", 150, "ชาย", dt.date(1990, 3, 15), "a@example.com"],
            [812345679, "สมหญิง", "รักดี", 0, "หญิง", "15/03/2533", ""],
            ["not a phone", "x", "y", -5, "?", "", ""],
        ],
    )
    # when it is uploaded and validated
    job = upload(import_shop, path, branch=branch)
    # then the preview counts and the errors are recorded, and nothing else
    assert job.state == ImportJob.State.VALIDATED
    assert counts(job) == {"new": 2, "updated": 0, "unchanged": 0, "errors": 1}
    assert job.points_total == 150
    assert problems(job) == [
        (4, "phone", "phone_invalid"),
        (4, "points", "points_negative"),
        (4, "gender", "gender_unknown"),
    ]
    assert not Member.objects.filter(shop=import_shop).exists()
    assert not LedgerEntry.objects.filter(shop=import_shop).exists()


def test_commit_creates_pending_members_with_import_lots(tmp_path, import_shop, branch, owner):
    path = make_xlsx(
        tmp_path / "members.xlsx",
        [
            HEADER,
            ["081-234-5678", "สมชาย", "ใจดี", 150, "ชาย", dt.date(1990, 3, 15), "a@example.com"],
            ["0812345679", "สมหญิง", "รักดี", "", "หญิง", "15/03/2533", ""],
        ],
    )
    job = upload(import_shop, path, branch=branch)
    job = commit(job, user=owner)

    assert job.state == ImportJob.State.DONE
    assert counts(job) == {"new": 2, "updated": 0, "unchanged": 0, "errors": 0}
    somchai = Member.objects.get(shop=import_shop, phone="+66812345678")
    assert somchai.status == Member.Status.PENDING
    assert (somchai.first_name, somchai.last_name, somchai.gender) == ("สมชาย", "ใจดี", "male")
    assert somchai.birthday == dt.date(1990, 3, 15)
    assert somchai.signup_branch == branch
    assert somchai.balance == 150
    entry = LedgerEntry.objects.get(member=somchai)
    assert entry.kind == EntryKind.IMPORT
    assert entry.channel == "import"
    assert entry.created_by == owner
    assert entry.branch == branch
    assert entry.idempotency_key == f"{job.idempotency_prefix}+66812345678"
    lot = PointLot.objects.get(entry=entry)
    assert (lot.points, lot.remaining, lot.expires_on) == (150, 150, None)
    somying = Member.objects.get(shop=import_shop, phone="+66812345679")
    assert somying.birthday == dt.date(1990, 3, 15)
    assert somying.balance == 0
    assert not LedgerEntry.objects.filter(member=somying).exists()
    assert not job.file  # the upload is deleted once imported
    assert_invariants(import_shop.pk)
