"""An import committing while cashiers add points to the same new phone numbers: one member per
phone, every point counted once, the ledger's invariants intact (PostgreSQL row locks; SQLite
serialises writers)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from members.imports import passes, services
from members.imports.models import ImportJob
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.models import EntryKind, LedgerEntry
from members.models import Member
from tests.concurrency import run_concurrently
from tests.factories import ShopFactory
from tests.members.conftest import assert_invariants
from tests.members.imports.conftest import make_xlsx, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("mode", ["all", "valid"])
def test_import_and_cashiers_on_the_same_new_phones(tmp_path, mode, monkeypatch):
    monkeypatch.setattr(passes, "CHUNK_ROWS", 25)
    shop = ShopFactory(thb_per_point=Decimal("10.00"), expiry_mode="never", tiers_enabled=False)
    phones = [f"08123{i:05d}" for i in range(120)]
    path = make_xlsx(tmp_path / "a.xlsx", [["Phone", "Points"], *[[p, 10] for p in phones]])
    job = upload(shop, path, policy="add-points", mode=mode)
    services.import_confirm(job=job, user=None)
    cashiers = 6 if connection.vendor == "postgresql" else 3

    def work(i: int):
        if i == 0:
            return services.import_commit(job_id=job.pk)
        # each cashier earns 5 points (50 THB) for every 7th phone of the file, from a different start
        for phone in phones[i::7]:
            ledger.points_earn(
                shop=shop,
                phone=phone,
                amount="50",
                idempotency_key=f"till-{i}-{phone}",
                actor=Actor.system(channel="store"),
            )
        return i

    results = run_concurrently(work, 1 + cashiers, timeout=120)
    assert not [r for r in results if isinstance(r, Exception)], results
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE, job.failure
    assert Member.objects.filter(shop=shop).count() == len(phones)
    assert LedgerEntry.objects.filter(shop=shop, kind=EntryKind.IMPORT).count() == len(phones)
    earned = {}
    for i in range(1, cashiers + 1):
        for phone in phones[i::7]:
            earned[phone] = earned.get(phone, 0) + 5
    for member in Member.objects.filter(shop=shop):
        local = "0" + member.phone[3:]
        assert member.balance == 10 + earned.get(local, 0), member.phone
    assert_invariants(shop.pk)


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL only")
def test_progress_of_an_all_or_nothing_commit_is_visible_while_it_runs(tmp_path, monkeypatch):
    """The commit is one transaction; the progress bar still moves (second connection)."""
    from django.db import connections

    monkeypatch.setattr(passes, "CHUNK_ROWS", 10)
    shop = ShopFactory(expiry_mode="never", tiers_enabled=False)
    path = make_xlsx(
        tmp_path / "a.xlsx", [["Phone", "Points"], *[[f"08124{i:05d}", 1] for i in range(35)]]
    )
    job = upload(shop, path)
    services.import_confirm(job=job, user=None)
    seen = []
    original = passes.Progress.report

    def report_and_look(self, **values):
        original(self, **values)
        outside = connections.create_connection("default")  # what the progress page reads
        try:
            with outside.cursor() as cursor:
                cursor.execute(
                    "SELECT rows_done, state FROM members_importjob WHERE id = %s", [job.pk]
                )
                seen.append(cursor.fetchone())
                cursor.execute("SELECT count(*) FROM members_member WHERE shop_id = %s", [shop.pk])
                seen.append(("members visible", cursor.fetchone()[0]))
        finally:
            outside.close()

    monkeypatch.setattr(passes.Progress, "report", report_and_look)
    job = services.import_commit(job_id=job.pk)
    assert job.state == ImportJob.State.DONE
    assert seen == [
        (10, "committing"),
        ("members visible", 0),  # all or nothing: nobody sees a member before the end
        (20, "committing"),
        ("members visible", 0),
        (30, "committing"),
        ("members visible", 0),
        (35, "committing"),
        ("members visible", 0),
    ]
