"""What happens to members who already exist (skip, update, add points), all or nothing against
valid rows only, the same file uploaded twice, expiry and tiers of imported points."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import OperationalError

from members.imports import committing, passes, services
from members.imports.models import ImportJob
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.models import EntryKind, LedgerEntry, PointLot
from members.models import Member
from tests.factories import MemberFactory, TierFactory
from tests.members.conftest import assert_invariants
from tests.members.imports.conftest import commit, counts, make_xlsx, problems, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def somchai(import_shop):
    member = MemberFactory(
        shop=import_shop, phone="+66812345678", first_name="สมชาย", last_name="ใจดี", email=""
    )
    ledger.points_adjust(
        member=member, points=40, note="opening", idempotency_key="seed", actor=Actor.system()
    )
    member.refresh_from_db()
    return member


def sheet(tmp_path, *rows, name="a.xlsx"):
    return make_xlsx(
        tmp_path / name, [["Phone", "First name", "Last name", "Points", "E-mail"], *rows]
    )


def test_skip_leaves_existing_members_alone_and_adds_new_ones(
    tmp_path, import_shop, somchai, owner
):
    path = sheet(
        tmp_path, ["0812345678", "Somchai", "", 100, "s@x.co"], ["0899999999", "ใหม่", "", 5, ""]
    )
    job = upload(import_shop, path, policy="skip")
    assert counts(job) == {"new": 1, "updated": 0, "unchanged": 1, "errors": 0}
    commit(job, user=owner)
    somchai.refresh_from_db()
    assert (somchai.first_name, somchai.email, somchai.balance) == ("สมชาย", "", 40)
    assert Member.objects.get(phone="+66899999999").balance == 5


def test_update_changes_only_filled_cells_and_never_points(tmp_path, import_shop, somchai, owner):
    path = sheet(tmp_path, ["0812345678", "Somchai", "", 100, "s@x.co"])
    job = upload(import_shop, path, policy="update")
    assert counts(job) == {"new": 0, "updated": 1, "unchanged": 0, "errors": 0}
    commit(job, user=owner)
    somchai.refresh_from_db()
    # the blank last name did not erase "ใจดี"; the points column is ignored for existing members
    assert (somchai.first_name, somchai.last_name, somchai.email) == ("Somchai", "ใจดี", "s@x.co")
    assert somchai.balance == 40
    assert_invariants(import_shop.pk)


def test_update_with_the_same_values_is_unchanged(tmp_path, import_shop, somchai):
    job = upload(
        import_shop, sheet(tmp_path, ["0812345678", "สมชาย", "ใจดี", "", ""]), policy="update"
    )
    assert counts(job) == {"new": 0, "updated": 0, "unchanged": 1, "errors": 0}
    with pytest.raises(services.ImportNotAllowed):
        services.import_confirm(job=job, user=None)


def test_add_points_credits_existing_members_and_keeps_profiles(
    tmp_path, import_shop, somchai, owner
):
    job = upload(
        import_shop, sheet(tmp_path, ["0812345678", "Other", "", 100, ""]), policy="add-points"
    )
    assert counts(job) == {"new": 0, "updated": 1, "unchanged": 0, "errors": 0}
    assert job.points_total == 100
    commit(job, user=owner)
    somchai.refresh_from_db()
    assert (somchai.first_name, somchai.balance) == ("สมชาย", 140)
    assert LedgerEntry.objects.filter(member=somchai, kind=EntryKind.IMPORT).count() == 1
    assert_invariants(import_shop.pk)


def test_add_points_refuses_blocked_members(tmp_path, import_shop, somchai):
    Member.objects.filter(pk=somchai.pk).update(status=Member.Status.BLOCKED)
    job = upload(import_shop, sheet(tmp_path, ["0812345678", "", "", 100, ""]), policy="add-points")
    assert problems(job) == [(2, "points", "member_blocked")]


@pytest.mark.parametrize("policy", ["skip", "update", "add-points"])
def test_the_same_file_uploaded_again_never_adds_points_twice(tmp_path, import_shop, owner, policy):
    path = sheet(
        tmp_path, ["0812345678", "สมชาย", "", 100, ""], ["0812345679", "สมหญิง", "", 50, ""]
    )
    first = commit(upload(import_shop, path, policy="skip"), user=owner)
    assert first.state == ImportJob.State.DONE
    # when the very same file is uploaded again, under any policy
    again = upload(import_shop, path, policy=policy)
    # then it is all unchanged, and committing (if allowed) adds nothing
    assert counts(again) == {"new": 0, "updated": 0, "unchanged": 2, "errors": 0}
    assert again.file_sha256 == first.file_sha256
    assert sorted(Member.objects.values_list("balance", flat=True)) == [50, 100]
    assert LedgerEntry.objects.filter(kind=EntryKind.IMPORT).count() == 2


def test_a_replayed_commit_job_adds_nothing(tmp_path, import_shop, owner):
    job = commit(upload(import_shop, sheet(tmp_path, ["0812345678", "", "", 100, ""])), user=owner)
    # django-q2 may deliver a task twice: the second run finds the job done
    again = services.import_commit(job_id=job.pk)
    assert again.state == ImportJob.State.DONE
    assert Member.objects.get().balance == 100
    assert LedgerEntry.objects.count() == 1


def test_a_changed_file_with_add_points_adds_its_points(tmp_path, import_shop, owner):
    commit(upload(import_shop, sheet(tmp_path, ["0812345678", "", "", 100, ""])), user=owner)
    path = sheet(
        tmp_path, ["0812345678", "", "", 30, ""], ["0812345679", "", "", 1, ""], name="b.xlsx"
    )
    commit(upload(import_shop, path, policy="add-points"), user=owner)
    assert Member.objects.get(phone="+66812345678").balance == 130


def test_all_or_nothing_refuses_to_confirm_while_rows_have_errors(tmp_path, import_shop):
    job = upload(
        import_shop, sheet(tmp_path, ["0812345678", "", "", 10, ""], ["bad", "", "", 1, ""])
    )
    with pytest.raises(services.ImportNotAllowed):
        services.import_confirm(job=job, user=None)
    job.refresh_from_db()
    assert job.state == ImportJob.State.VALIDATED
    assert not Member.objects.exists()


def test_valid_only_imports_the_good_rows_and_reports_the_others(tmp_path, import_shop, owner):
    job = upload(
        import_shop,
        sheet(
            tmp_path,
            ["0812345678", "", "", 10, ""],
            ["bad", "", "", 1, ""],
            ["0812345679", "", "", -1, ""],
        ),
    )
    job = commit(job, user=owner, mode="valid")
    assert job.state == ImportJob.State.DONE
    assert counts(job) == {"new": 1, "updated": 0, "unchanged": 0, "errors": 2}
    assert problems(job) == [(3, "phone", "phone_invalid"), (4, "points", "points_negative")]
    assert list(Member.objects.values_list("phone", flat=True)) == ["+66812345678"]


def test_all_or_nothing_writes_nothing_when_a_row_turns_bad_before_commit(
    tmp_path, import_shop, owner
):
    # given a clean preview
    path = make_xlsx(
        tmp_path / "a.xlsx",
        [["Phone", "Customer ID", "Points"], ["0812345678", "C1", 10], ["0812345679", "C2", 20]],
    )
    job = upload(import_shop, path)
    assert job.error_count == 0
    services.import_confirm(job=job, user=owner)
    # when someone binds C2 to another member before the commit job runs
    MemberFactory(shop=import_shop, phone="+66890000000", customer_id="C2")
    job = services.import_commit(job_id=job.pk)
    # then nothing of the file is imported, and the preview shows why
    assert job.state == ImportJob.State.FAILED
    assert job.failure == {"code": "commit_has_errors", "params": {"count": 1}}
    assert problems(job) == [(3, "customer_id", "customer_id_taken")]
    assert not Member.objects.filter(phone="+66812345678").exists()
    assert not LedgerEntry.objects.exists()


def test_valid_only_commit_skips_a_row_that_turned_bad(tmp_path, import_shop, owner):
    path = make_xlsx(
        tmp_path / "a.xlsx",
        [["Phone", "Customer ID", "Points"], ["0812345678", "C1", 10], ["0812345679", "C2", 20]],
    )
    job = upload(import_shop, path, mode="valid")
    services.import_confirm(job=job, user=owner)
    MemberFactory(shop=import_shop, phone="+66890000000", customer_id="C2")
    job = services.import_commit(job_id=job.pk)
    assert job.state == ImportJob.State.DONE
    assert counts(job) == {"new": 1, "updated": 0, "unchanged": 0, "errors": 1}
    assert Member.objects.get(phone="+66812345678").balance == 10


def test_interrupted_valid_only_commit_resumes_after_the_last_chunk(
    tmp_path, import_shop, owner, monkeypatch
):
    monkeypatch.setattr(passes, "CHUNK_ROWS", 2)
    rows = [[f"08123456{i:02d}", "", "", i + 1, ""] for i in range(5)]
    job = upload(import_shop, sheet(tmp_path, *rows), mode="valid")
    services.import_confirm(job=job, user=owner)
    # the worker dies after the first chunk (simulated by a database error in the second)
    original = committing.apply_plans
    calls = {"n": 0}

    def dies_on_second_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("server closed the connection")
        return original(*args, **kwargs)

    monkeypatch.setattr(committing, "apply_plans", dies_on_second_chunk)
    with pytest.raises(OperationalError):
        committing.commit_valid_rows(ImportJob.objects.get(pk=job.pk))
    job.refresh_from_db()
    assert job.commit_row == 3  # rows 2 and 3 are in
    assert Member.objects.count() == 2
    # when django-q2 retries the task, it goes on from row 4
    monkeypatch.setattr(committing, "apply_plans", original)
    job = services.import_commit(job_id=job.pk)
    assert job.state == ImportJob.State.DONE
    assert counts(job) == {"new": 5, "updated": 0, "unchanged": 0, "errors": 0}
    assert sorted(Member.objects.values_list("balance", flat=True)) == [1, 2, 3, 4, 5]
    assert LedgerEntry.objects.count() == 5
    assert_invariants(import_shop.pk)


@time_machine.travel(dt.datetime(2026, 1, 10, 0, 30, tzinfo=dt.UTC), tick=False)
def test_imported_points_are_lots_under_the_shop_expiry_policy(tmp_path, import_shop, owner):
    import_shop.expiry_mode = "months_after"
    import_shop.expiry_months = 3
    import_shop.save()
    commit(upload(import_shop, sheet(tmp_path, ["0812345678", "", "", 100, ""])), user=owner)
    lot = PointLot.objects.get()
    # 10 January in Bangkok (07:30), 3 months after January → end of April
    assert (lot.earned_on, lot.expires_on) == (dt.date(2026, 1, 10), dt.date(2026, 4, 30))


def test_imported_points_move_a_member_up_a_tier(tmp_path, import_shop, owner):
    import_shop.tiers_enabled = True
    import_shop.tier_window = "lifetime"
    import_shop.save()
    silver = TierFactory(shop=import_shop, name="Silver", threshold=100)
    gold = TierFactory(shop=import_shop, name="Gold", threshold=1000)
    path = sheet(
        tmp_path,
        ["0812345678", "", "", 150, ""],
        ["0812345679", "", "", 5000, ""],
        ["0812345680", "", "", 5, ""],
    )
    commit(upload(import_shop, path), user=owner)
    tiers = dict(Member.objects.values_list("phone", "tier_id"))
    assert tiers == {"+66812345678": silver.pk, "+66812345679": gold.pk, "+66812345680": None}


def test_customer_id_already_bound_to_another_member(tmp_path, import_shop, somchai):
    MemberFactory(shop=import_shop, phone="+66899999999", customer_id="C9")
    rows = [
        ["Phone", "Customer ID"],
        ["0812345678", "C9"],
        ["0812345670", "C9x"],
        ["0812345671", "C9"],
    ]
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows), policy="update")
    assert problems(job) == [
        (2, "customer_id", "customer_id_taken"),
        (4, "customer_id", "customer_id_duplicate"),
    ]


def test_update_does_not_rebind_a_member_with_another_customer_id(tmp_path, import_shop, somchai):
    Member.objects.filter(pk=somchai.pk).update(customer_id="OLD")
    rows = [["Phone", "Customer ID"], ["0812345678", "NEW"]]
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows), policy="update")
    assert problems(job) == [(2, "customer_id", "customer_id_bound")]


def test_other_shops_members_with_the_same_phone_are_not_touched(
    tmp_path, import_shop, other_shop, owner
):
    theirs = MemberFactory(shop=other_shop, phone="+66812345678", first_name="B")
    job = upload(import_shop, sheet(tmp_path, ["0812345678", "A", "", 10, ""]), policy="update")
    assert counts(job)["new"] == 1
    commit(job, user=owner)
    theirs.refresh_from_db()
    assert (theirs.first_name, theirs.balance) == ("B", 0)
    assert Member.objects.filter(phone="+66812345678").count() == 2


def test_cancel_deletes_the_upload_and_writes_nothing(tmp_path, import_shop):
    job = upload(import_shop, sheet(tmp_path, ["0812345678", "", "", 10, ""]))
    path = job.file.path
    services.import_cancel(job=job)
    job.refresh_from_db()
    assert job.state == ImportJob.State.CANCELLED
    assert not Member.objects.exists()
    # the file is deleted once the cancel commits (on_commit): run the callbacks here
    from pathlib import Path

    services._delete_file(job)
    assert not Path(path).exists()


def test_row_errors_of_finished_imports_are_purged_after_30_days(tmp_path, import_shop):
    """A row error keeps the cell's value (here a wrong phone): personal data, kept for the
    preview and its download, then purged by a daily job once the import is long finished."""
    from django.utils.module_loading import import_string

    from loyalty.schedules import SCHEDULES

    [job] = [job for job in SCHEDULES if job.name == "purge-import-errors"]
    purge = import_string(job.func)
    bad = ["08123", "Somchai", "", 10, ""]
    with time_machine.travel(dt.datetime(2026, 10, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        old = upload(import_shop, sheet(tmp_path, bad, name="old.xlsx"))
        services.import_cancel(job=old)
    with time_machine.travel(dt.datetime(2026, 10, 20, 10, 0, tzinfo=dt.UTC), tick=False):
        recent = upload(import_shop, sheet(tmp_path, bad, name="recent.xlsx"))
        services.import_cancel(job=recent)
    with time_machine.travel(dt.datetime(2026, 10, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        waiting = upload(import_shop, sheet(tmp_path, bad, name="waiting.xlsx"))
    assert old.errors.filter(value="08123").exists()

    with time_machine.travel(dt.datetime(2026, 11, 1, 3, 42, tzinfo=dt.UTC), tick=False):
        assert purge() == 1
        assert purge() == 0  # safe to run twice

    assert not old.errors.exists()
    assert counts(old)["errors"] == 1  # the job keeps its counts
    assert recent.errors.count() == 1  # finished 12 days ago
    assert waiting.errors.count() == 1  # not finished: the preview still needs it


def test_a_confirmed_import_cannot_be_cancelled(tmp_path, import_shop, owner):
    job = commit(upload(import_shop, sheet(tmp_path, ["0812345678", "", "", 10, ""])), user=owner)
    with pytest.raises(services.ImportNotAllowed):
        services.import_cancel(job=job)


def test_unconfirmed_uploads_are_purged_after_a_week(tmp_path, import_shop):
    with time_machine.travel(dt.datetime(2026, 11, 1, tzinfo=dt.UTC)):
        old = upload(import_shop, sheet(tmp_path, ["0812345678", "", "", 10, ""]))
    fresh = upload(import_shop, sheet(tmp_path, ["0812345679", "", "", 10, ""], name="b.xlsx"))
    from pathlib import Path

    old_path = Path(old.file.path)
    assert services.imports_purge_stale(days=7) == 1
    assert services.imports_purge_stale(days=7) == 0  # safe to run twice
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.state == ImportJob.State.CANCELLED and not old.file and not old_path.exists()
    assert fresh.state == ImportJob.State.VALIDATED and fresh.file


@pytest.mark.parametrize("mode", ["all", "valid"])
def test_planner_statistics_are_refreshed_as_the_import_grows_the_tables(
    tmp_path, import_shop, owner, monkeypatch, mode
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(passes, "CHUNK_ROWS", 2)
    rows = [[f"08123456{i:02d}", "", "", 1, ""] for i in range(40)]
    job = upload(import_shop, sheet(tmp_path, *rows), mode=mode)
    with CaptureQueriesContext(connection) as queries:
        job = commit(job, user=owner)
    assert job.state == ImportJob.State.DONE
    analysed = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    if connection.vendor == "postgresql":
        # after 2 rows, then 8 and 32: fourfold growth each time
        assert len(analysed) == 3
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "0"  # put back as it was
    else:
        assert analysed == []  # SQLite's planner needs no statistics to use the index
    assert Member.objects.filter(shop=import_shop).count() == 40
    assert_invariants(import_shop.pk)
