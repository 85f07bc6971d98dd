"""The daily expiry job over a large ledger.

Builds, in PostgreSQL with INSERT … SELECT generate_series, a shop with ``--scale`` × 200,000
members and 1,000,000 lots (five per member, imported at different months, expiring 12 months after
the month of earning), of which 200,000 (one per member) expired at the end of last month; each lot
has its ledger entry and the balances are the sums. Then times ``points_expire_due(today=<the 1st of
this month>)`` (target < 30 s at full size), runs it a second time (nothing left to do), and checks
the invariants and the totals with SQL.

For comparison, the floor measured in the same run, on the same data built again after the job: the
same rows (entries, allocations, lots, balances) written once each by one statement over all due
lots, no batches and no row locks, in a transaction that is rolled back.

    .venv/bin/python bench/expiry.py [--scale 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common

TARGET_SECONDS = 30.0
FULL_LOTS = 1_000_000
FULL_DUE = 200_000
FULL_MEMBERS = 200_000


def first_of_this_month() -> dt.date:
    from django.utils import timezone

    return timezone.localdate().replace(day=1)


def seed(shop_id: int, *, members: int, lots: int, due: int, today: dt.date) -> None:
    """Members, one ``import`` entry and one lot per credit, balances = sums. The first ``due`` lots
    (one per member while ``due`` ≤ ``members``) were earned 13 months before ``today`` and so
    expired yesterday; the others were earned 1–11 months ago and have not."""
    from django.db import connection
    from django.utils import timezone

    from members.ledger.models import LedgerEntry, PointLot
    from members.models import Member

    now = timezone.now()
    member, entry, lot = common.table(Member), common.table(LedgerEntry), common.table(PointLot)
    p = {
        "shop": shop_id,
        "now": now,
        "members": members,
        "lots": lots,
        "due": due,
        "month": today,
    }
    # The month 13 months before ``today``'s month: its lots' last day is the end of last month.
    year, month = today.year, today.month - 13
    while month < 1:
        year, month = year - 1, month + 12
    p["due_month"] = dt.date(year, month, 1)

    cols, exprs, defaults = common.insert_columns(
        Member,
        {
            "shop_id": "%(shop)s",
            "public_id": "gen_random_uuid()",
            "status": "'registered'",
            "registered_at": "%(now)s",
            "created_at": "%(now)s",
            "updated_at": "%(now)s",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {member} ({cols}) SELECT {exprs} FROM generate_series(1, %(members)s)",
            {**p, **defaults},
        )
        cols, exprs, defaults = common.insert_columns(
            LedgerEntry,
            {
                "shop_id": "%(shop)s",
                "public_id": "gen_random_uuid()",
                "member_id": "src.member_id",
                "kind": "'import'",
                "points": "src.points",
                "balance_after": "src.running",
                "idempotency_key": "'seed:' || src.g",
                "actor_kind": "'system'",
                "channel": "'import'",
                "note": "'bench seed'",
                "created_at": "(src.earned_on + time '12:00') AT TIME ZONE 'Asia/Bangkok'",
            },
        )
        cursor.execute(
            f"""
            INSERT INTO {entry} ({cols})
            SELECT {exprs} FROM (
                SELECT s.*, SUM(s.points) OVER (
                    PARTITION BY s.member_id ORDER BY s.earned_on, s.g) AS running
                FROM (
                    SELECT g, m.id AS member_id,
                        CASE WHEN g < %(due)s
                             THEN %(due_month)s::date + mod(g, 28)::int
                             ELSE (%(month)s::date - make_interval(months => 1 + mod(g, 11)::int))
                                  ::date + mod(g, 28)::int
                        END AS earned_on,
                        1 + mod(g::bigint * 37, 200)::int AS points
                    FROM generate_series(0, %(lots)s - 1) AS g
                    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS idx
                          FROM {member} WHERE shop_id = %(shop)s) m
                      ON m.idx = mod(g, %(members)s)
                ) s
            ) src
            ORDER BY src.earned_on, src.g
            """,
            {**p, **defaults},
        )
        local_day = "(e.created_at AT TIME ZONE 'Asia/Bangkok')::date"
        cols, exprs, defaults = common.insert_columns(
            PointLot,
            {
                "shop_id": "e.shop_id",
                "member_id": "e.member_id",
                "entry_id": "e.id",
                "points": "e.points",
                "remaining": "e.points",
                "debt_paid": "0",
                "earned_on": local_day,
                "available_on": local_day,
                # months_after with 12 months: the end of the 12th month after the month of earning
                "expires_on": f"(date_trunc('month', {local_day}) + interval '13 months' "
                "- interval '1 day')::date",
            },
        )
        cursor.execute(
            f"INSERT INTO {lot} ({cols}) SELECT {exprs} FROM {entry} e "
            "WHERE e.shop_id = %(shop)s ORDER BY e.id",
            {**p, **defaults},
        )
        cursor.execute(
            f"""
            UPDATE {member} SET balance = s.total
            FROM (SELECT member_id, SUM(points) AS total FROM {entry}
                  WHERE shop_id = %(shop)s GROUP BY member_id) s
            WHERE {member}.id = s.member_id
            """,
            p,
        )


def due_totals(shop_id: int, today: dt.date) -> dict:
    from django.db import connection

    from members.ledger.models import PointLot

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*), COALESCE(SUM(remaining), 0), count(DISTINCT member_id)
            FROM {common.table(PointLot)}
            WHERE shop_id = %s AND remaining > 0 AND expires_on < %s
            """,
            [shop_id, today],
        )
        lots, points, members = cursor.fetchone()
        cursor.execute(
            f"SELECT count(*) FROM {common.table(PointLot)} WHERE shop_id = %s", [shop_id]
        )
        all_lots = cursor.fetchone()[0]
    return {"lots": all_lots, "due_lots": lots, "due_points": int(points), "due_members": members}


def floor(shop_id: int, today: dt.date) -> float:
    """The physical floor: the same rows written once each, by one statement over all of the shop's
    due lots (no batches, no row locks), in a transaction that is rolled back. Returns seconds."""
    import time

    from django.db import connection, transaction

    from members.ledger.models import LedgerEntry, LotAllocation, PointLot
    from members.models import Member

    entry, lot = common.table(LedgerEntry), common.table(PointLot)
    alloc, member = common.table(LotAllocation), common.table(Member)
    cols, exprs, defaults = common.insert_columns(
        LedgerEntry,
        {
            "shop_id": "per.shop_id",
            "public_id": "gen_random_uuid()",
            "member_id": "per.member_id",
            "kind": "'expire'",
            "points": "-per.points",
            "balance_after": "m.balance - per.points",
            "idempotency_key": "'floor:' || per.member_id::text",
            "actor_kind": "'system'",
            "channel": "'system'",
            "note": "'floor'",
            "created_at": "now()",
        },
    )
    sql = f"""
        WITH due AS (
            SELECT id, shop_id, member_id, remaining FROM {lot}
            WHERE shop_id = %(shop)s AND remaining > 0 AND expires_on < %(today)s
        ), per AS (
            SELECT shop_id, member_id, SUM(remaining) AS points FROM due
            GROUP BY shop_id, member_id
        ), entries AS (
            INSERT INTO {entry} ({cols})
            SELECT {exprs} FROM per JOIN {member} m ON m.id = per.member_id
            RETURNING id, member_id
        ), allocations AS (
            INSERT INTO {alloc} (debit_id, lot_id, points)
            SELECT entries.id, due.id, due.remaining FROM due JOIN entries USING (member_id)
        ), lots AS (
            UPDATE {lot} SET remaining = 0 FROM due WHERE {lot}.id = due.id
        )
        UPDATE {member} SET balance = {member}.balance - per.points
        FROM per WHERE {member}.id = per.member_id
    """
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, {**defaults, "shop": shop_id, "today": today})
        took = time.perf_counter() - start
        transaction.set_rollback(True)
    return took


def verify(shop_id: int, today: dt.date, before: dict) -> dict:
    """After the job: nothing due is left, each due member has one expire entry for exactly its due
    points, one allocation per due lot, balance_after = the new balance, and the invariants hold."""
    from django.db import connection

    from members.ledger.jobs import expire_key_prefix
    from members.ledger.models import LedgerEntry, LotAllocation, PointLot
    from members.models import Member

    entry, lot = common.table(LedgerEntry), common.table(PointLot)
    alloc, member = common.table(LotAllocation), common.table(Member)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {lot} WHERE shop_id = %s AND remaining > 0 AND expires_on < %s",
            [shop_id, today],
        )
        left = cursor.fetchone()[0]
        cursor.execute(
            f"""
            SELECT count(*), COALESCE(-SUM(e.points), 0),
                   count(*) FILTER (WHERE e.balance_after <> m.balance),
                   count(*) FILTER (WHERE e.idempotency_key NOT LIKE %s)
            FROM {entry} e JOIN {member} m ON m.id = e.member_id
            WHERE e.shop_id = %s AND e.kind = 'expire'
            """,
            [expire_key_prefix(today - dt.timedelta(days=1)) + "%", shop_id],
        )
        entries, points, wrong_balance_after, other_keys = cursor.fetchone()
        cursor.execute(
            f"SELECT count(*), COALESCE(SUM(a.points), 0) FROM {alloc} a "
            f"JOIN {entry} e ON e.id = a.debit_id WHERE e.shop_id = %s AND e.kind = 'expire'",
            [shop_id],
        )
        allocations, allocated = cursor.fetchone()
    invariants = common.check_invariants(shop_id)
    checks = {
        "due_lots_left": left,
        "expire_entries": entries,
        "expired_points": int(points),
        "allocations": allocations,
        "allocated_points": int(allocated),
        "expire_entries_with_wrong_balance_after": wrong_balance_after,
        "expire_entries_with_other_keys": other_keys,
        "invariants": invariants,
    }
    checks["ok"] = (
        left == 0
        and entries == before["due_members"]
        and points == before["due_points"] == allocated
        and allocations == before["due_lots"]
        and wrong_balance_after == 0
        and other_keys == 0
        and invariants["ok"]
    )
    return checks


def run(*, members: int, lots: int, due: int, with_floor: bool = True) -> dict:
    """Build, time the job twice, verify, clean up; then, on the same data built again, the floor.
    Returns the results (see module doc).

    The floor runs after the job, on a second build: run before it, its rolled-back rows would leave
    the tables larger than a fresh load, and that alone changes the plans PostgreSQL picks for the
    job's statements."""
    from members.ledger import jobs
    from members.ledger.models import JobRun, LedgerEntry, LotAllocation, PointLot
    from members.models import Member

    tables = (Member, LedgerEntry, PointLot, LotAllocation)
    common.require_postgresql()
    common.drop_leftovers("expiry")
    today = first_of_this_month()
    result = {
        "benchmark": "expiry",
        "machine": common.machine(),
        "params": {"members": members, "lots": lots, "due": due, "today": today.isoformat()},
    }
    timings: dict = {}
    job_run_existed = JobRun.objects.filter(name="expire", run_for=today).exists()
    shop = common.create_shop("expiry", expiry_mode="months_after", expiry_months=12)
    try:
        with common.stopwatch(timings, "seed_s"), common.bulk_load():
            seed(shop.pk, members=members, lots=lots, due=due, today=today)
        with common.stopwatch(timings, "vacuum_analyze_s"):
            common.vacuum_analyze(*tables)
        before = due_totals(shop.pk, today)
        result["data"] = before
        with common.stopwatch(timings, "job_s"):
            first = jobs.points_expire_due(today=today)
        with common.stopwatch(timings, "job_again_s"):
            again = jobs.points_expire_due(today=today)
        result["job"] = first
        result["job_again"] = {k: again[k] for k in ("entries", "lots", "points")}
        with common.stopwatch(timings, "verify_s"):
            result["checks"] = verify(shop.pk, today, before)
        result["checks"]["ok"] = result["checks"]["ok"] and again["entries"] == 0
    finally:
        with common.stopwatch(timings, "cleanup_s"):
            common.drop_shop(shop.pk)
            if not job_run_existed:
                JobRun.objects.filter(name="expire", run_for=today).delete()
    if with_floor:
        common.vacuum_analyze(*tables)
        shop = common.create_shop("expiry", expiry_mode="months_after", expiry_months=12)
        try:
            with common.bulk_load():
                seed(shop.pk, members=members, lots=lots, due=due, today=today)
            common.vacuum_analyze(*tables)
            timings["floor_s"] = round(floor(shop.pk, today), 3)
        finally:
            common.drop_shop(shop.pk)
    result["timings"] = timings
    result["target"] = {
        "seconds_max": TARGET_SECONDS * lots / FULL_LOTS,
        "met": timings["job_s"] < TARGET_SECONDS * lots / FULL_LOTS,
    }
    result["machine"]["load_after"] = common.loadavg()
    return result


def report(result: dict) -> str:
    d, t, j = result["data"], result["timings"], result["job"]
    rows = [
        (
            "data",
            f"{d['lots']:,} lots, {d['due_lots']:,} due ({d['due_points']:,} points) "
            f"of {d['due_members']:,} members; built in {t['seed_s']:.1f} s",
        ),
        (
            "expiry job",
            f"{t['job_s']:.2f} s (target < {result['target']['seconds_max']:g} s: "
            f"{'met' if result['target']['met'] else 'MISSED'}); {j['entries']:,} entries, "
            f"{j['lots']:,} lots, {j['points']:,} points",
        ),
    ]
    if "floor_s" in t:
        rows.append(
            (
                "floor (same writes, 1 statement)",
                f"{t['floor_s']:.2f} s (job / floor = {t['job_s'] / t['floor_s']:.1f}×)",
            )
        )
    rows += [
        ("second run", f"{t['job_again_s']:.2f} s, {result['job_again']['entries']} entries"),
        ("checks", "ok" if result["checks"]["ok"] else str(result["checks"])),
        (
            "load average",
            f"before {result['machine']['load_before']}, after {result['machine']['load_after']}",
        ),
    ]
    return common.format_table("expiry: points_expire_due", ["", "result"], rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--no-floor", action="store_true", help="skip the floor measurement")
    args = parser.parse_args(argv)
    common.bootstrap(args.database_url)
    result = run(
        members=common.scaled(FULL_MEMBERS, args.scale, minimum=10),
        lots=common.scaled(FULL_LOTS, args.scale, minimum=50),
        due=common.scaled(FULL_DUE, args.scale, minimum=10),
        with_floor=not args.no_floor,
    )
    print(report(result))
    common.write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
