"""The member import's LINE user ID column: rows that set it bind (recorded via import, in bulk,
friends kept in step, one signal per member after commit); bad rows refused per row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from members.imports.messages import ROW_PROBLEMS
from members.line.binding import member_bind, member_binding_changed
from members.line.models import BindingRecord, LineFriend
from members.models import Member
from tests.factories import MemberFactory, ShopFactory
from tests.members.imports.conftest import commit, counts, make_xlsx, problems, upload

pytestmark = pytest.mark.django_db

LINE_A, LINE_B, LINE_C = ("U" + c * 32 for c in "abc")


@pytest.fixture
def cafe(db):
    return ShopFactory(
        slug="cafe", thb_per_point=Decimal("25.00"), expiry_mode="never", welcome_points=0
    )


def test_rows_with_a_line_user_id_bind_and_are_recorded_via_import(
    tmp_path, cafe, owner, django_capture_on_commit_callbacks
):
    existing = MemberFactory(shop=cafe, phone="+66812345678", customer_id="C-1")
    friend = LineFriend.objects.create(shop=cafe, line_user_id=LINE_B, state="friend")
    seen = []
    member_binding_changed.connect(
        lambda sender, **kw: seen.append(kw["member_id"]), dispatch_uid="import-test", weak=False
    )
    rows = [
        ["Phone", "First name", "LINE user ID"],
        ["0812345678", "Somchai", LINE_A],
        ["0899999999", "New", LINE_B],
        ["0877777777", "No LINE", ""],
    ]
    job = upload(cafe, make_xlsx(tmp_path / "a.xlsx", rows), policy="update")
    assert counts(job) == {"new": 2, "updated": 1, "unchanged": 0, "errors": 0}

    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = commit(job, user=owner)
        assert job.state == "done", (job.state, job.failure)
    finally:
        member_binding_changed.disconnect(dispatch_uid="import-test")

    existing.refresh_from_db()
    new = Member.objects.get(shop=cafe, phone="+66899999999")
    assert existing.line_user_id == LINE_A and existing.is_bound
    assert new.line_user_id == LINE_B and new.is_bound
    assert not Member.objects.get(shop=cafe, phone="+66877777777").is_bound
    records = {r.line_user_id: r for r in BindingRecord.objects.all()}
    assert set(records) == {LINE_A, LINE_B}
    assert {r.via for r in records.values()} == {"import"}
    assert records[LINE_A].customer_id == "C-1"
    assert records[LINE_A].actor == f"import: {owner.username}"
    assert LineFriend.objects.get(pk=friend.pk).member == new
    assert sorted(seen) == sorted([existing.pk, new.pk])


def test_bad_line_user_ids_are_refused_per_row(tmp_path, cafe):
    member_bind(
        member=MemberFactory(shop=cafe, phone="+66811111111"),
        line_user_id=LINE_A,
        via="api",
        actor="k",
    )
    bound = MemberFactory(shop=cafe, phone="+66822222222")
    member_bind(member=bound, line_user_id=LINE_C, via="api", actor="k")
    rows = [
        ["Phone", "LINE user ID"],
        ["0833333333", "not-a-line-id"],
        ["0844444444", LINE_A],  # another member's
        ["0855555555", LINE_B],
        ["0866666666", LINE_B],  # twice in the file
        ["0822222222", "U" + "d" * 32],  # a member bound to another LINE account
    ]
    job = upload(cafe, make_xlsx(tmp_path / "a.xlsx", rows), policy="update")
    assert problems(job) == [
        (2, "line_user_id", "line_user_id_invalid"),
        (3, "line_user_id", "line_user_id_taken"),
        (5, "line_user_id", "line_user_id_duplicate"),
        (6, "line_user_id", "line_user_id_bound"),
    ]
    with translation.override("th"):
        assert str(ROW_PROBLEMS["line_user_id_invalid"]).startswith("LINE user ID ต้องขึ้นต้นด้วย U")
