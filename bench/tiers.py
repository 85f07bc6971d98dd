"""The tier evaluation job over a large shop.

Builds, in PostgreSQL with INSERT … SELECT generate_series, a shop (4 tiers, calendar-year window,
monthly evaluation) with ``--scale`` × 1,000,000 members, each with 2 credits spread over the last
25 months (one in ten an adjustment, which does not count for tiers) and a lot for each, a reward
spend (entry and allocation) for one member in four, a tier from before the evaluation for most and a
manual floor for one in a hundred; balances are the sums. Then times ``tiers_evaluate_shop`` for
the end of last month (target < 60 s at full size), runs it a second time (nothing changes), checks
200 members against the per-member rule in ``members.ledger.services.tier_target`` and the ledger's
invariants.

For comparison, the floor measured in the same run: one read-only statement that computes every
member's new tier the same way (before the job), and one UPDATE that writes the same member rows
(after the job, rolled back); no batches, no row locks.

    .venv/bin/python bench/tiers.py [--scale 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common

TARGET_SECONDS = 60.0
FULL_MEMBERS = 1_000_000
CREDITS_PER_MEMBER = 2
SAMPLE = 200
# The tier each member had before the evaluation, from its position ``g`` in the seeding order.
SEEDED_TIER = (
    "CASE mod({g}, 5) WHEN 0 THEN %(t0)s WHEN 1 THEN %(t1)s WHEN 2 THEN %(t2)s "
    "WHEN 3 THEN %(t3)s END"
)
TIERS = [
    ("Member", 0, "1.00"),
    ("Silver", 500, "1.10"),
    ("Gold", 2000, "1.25"),
    ("Platinum", 5000, "1.50"),
]


def evaluation_date() -> dt.date:
    """The end of last month: the date the monthly evaluation that ran this month was for."""
    from django.utils import timezone

    return timezone.localdate().replace(day=1) - dt.timedelta(days=1)


def seed(shop, *, members: int, credits: int, until: dt.date) -> None:
    """See the module doc. Entry dates are spread over the 760 days before ``until``."""
    from django.db import connection
    from django.utils import timezone

    from members.ledger.models import LedgerEntry, LotAllocation, PointLot
    from members.models import Member
    from shops.models import Tier

    tier_ids = list(
        Tier.objects.filter(shop=shop).order_by("threshold").values_list("pk", flat=True)
    )
    member, entry = common.table(Member), common.table(LedgerEntry)
    lot, alloc = common.table(PointLot), common.table(LotAllocation)
    p = {
        "shop": shop.pk,
        "now": timezone.now(),
        "members": members,
        "credits": members * credits,
        "until": until,
        **{f"t{i}": pk for i, pk in enumerate(tier_ids)},
    }
    with connection.cursor() as cursor:
        # Tiers before the evaluation: every tier and none, in turn; Gold by hand for 1 in 100.
        cols, exprs, defaults = common.insert_columns(
            Member,
            {
                "shop_id": "%(shop)s",
                "public_id": "gen_random_uuid()",
                "status": "'registered'",
                "tier_id": SEEDED_TIER.format(g="g"),
                "manual_tier_id": "CASE WHEN mod(g, 100) = 7 THEN %(t2)s END",
                "registered_at": "%(now)s",
                "created_at": "%(now)s",
                "updated_at": "%(now)s",
            },
        )
        cursor.execute(
            f"INSERT INTO {member} ({cols}) SELECT {exprs} "
            "FROM generate_series(0, %(members)s - 1) AS g",
            {**p, **defaults},
        )
        cols, exprs, defaults = common.insert_columns(
            LedgerEntry,
            {
                "shop_id": "%(shop)s",
                "public_id": "gen_random_uuid()",
                "member_id": "src.member_id",
                "kind": "CASE WHEN mod(src.g, 10) = 9 THEN 'adjust' ELSE 'import' END",
                "points": "src.points",
                "balance_after": "src.running",
                "idempotency_key": "'seed:' || src.g",
                "actor_kind": "'system'",
                "channel": "CASE WHEN mod(src.g, 10) = 9 THEN 'admin' ELSE 'import' END",
                "note": "'bench seed'",
                "created_at": "src.created_at",
            },
        )
        cursor.execute(
            f"""
            INSERT INTO {entry} ({cols})
            SELECT {exprs} FROM (
                SELECT s.*, SUM(s.points) OVER (
                    PARTITION BY s.member_id ORDER BY s.created_at, s.g) AS running
                FROM (
                    SELECT g, m.id AS member_id, 1 + mod(g::bigint * 7919, 3000)::int AS points,
                        ((%(until)s::date - 1 - mod(g::bigint * 37, 760)::int) + time '12:00')
                            AT TIME ZONE 'Asia/Bangkok' AS created_at
                    FROM generate_series(0, %(credits)s - 1) AS g
                    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS idx
                          FROM {member} WHERE shop_id = %(shop)s) m
                      ON m.idx = mod(g, %(members)s)
                ) s
            ) src
            ORDER BY src.created_at, src.g
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
                "expires_on": "NULL",
            },
        )
        cursor.execute(
            f"INSERT INTO {lot} ({cols}) SELECT {exprs} FROM {entry} e "
            "WHERE e.shop_id = %(shop)s ORDER BY e.id",
            {**p, **defaults},
        )
        # A reward for one member in four: half of their oldest lot, the day before ``until``.
        cols, exprs, defaults = common.insert_columns(
            LedgerEntry,
            {
                "shop_id": "f.shop_id",
                "public_id": "gen_random_uuid()",
                "member_id": "f.member_id",
                "kind": "'redeem'",
                "points": "-GREATEST(1, f.points / 2)",
                "balance_after": "0",
                "idempotency_key": "'seed-redeem:' || f.id",
                "actor_kind": "'member'",
                "channel": "'line'",
                "note": "'bench seed'",
                "created_at": "((%(until)s::date - 1) + time '18:00') AT TIME ZONE 'Asia/Bangkok'",
            },
        )
        # The allocation is written from the entries' RETURNING rows (the lot id is in the key):
        # a join on rows this transaction just wrote would be planned without statistics.
        cursor.execute(
            f"""
            WITH spent AS (
                INSERT INTO {entry} ({cols})
                SELECT {exprs} FROM (
                    SELECT DISTINCT ON (l.member_id) l.id, l.shop_id, l.member_id, l.points
                    FROM {lot} l WHERE l.shop_id = %(shop)s AND mod(l.member_id, 4) = 0
                    ORDER BY l.member_id, l.id
                ) f
                ORDER BY f.member_id
                RETURNING id, idempotency_key, points
            )
            INSERT INTO {alloc} (debit_id, lot_id, points)
            SELECT id, substr(idempotency_key, length('seed-redeem:') + 1)::bigint, -points
            FROM spent
            """,
            {**p, **defaults},
        )
        cursor.execute(
            f"""
            UPDATE {lot} l SET remaining = l.remaining - a.points
            FROM {alloc} a JOIN {entry} e ON e.id = a.debit_id
            WHERE a.lot_id = l.id AND e.shop_id = %(shop)s AND e.kind = 'redeem'
            """,
            p,
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
        cursor.execute(
            f"""
            UPDATE {entry} e SET balance_after = m.balance FROM {member} m
            WHERE m.id = e.member_id AND e.shop_id = %(shop)s AND e.kind = 'redeem'
            """,
            p,
        )


def floor(shop, evaluation: dt.date) -> tuple[float, int]:
    """Every member's new tier in one read-only statement (the job's rule: the highest tier reached
    in any window, never below the manual tier); returns the seconds and how many would change."""
    from django.db import connection

    from members.ledger import rules
    from members.ledger.models import TIER_QUALIFYING_KINDS, LedgerEntry
    from members.models import Member
    from shops.models import Tier

    until = evaluation + dt.timedelta(days=1)
    windows = rules.qualifying_windows(until, window=shop.tier_window)

    def midnight(day):
        from django.utils import timezone

        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

    sums, p = [], {"shop": shop.pk, "kinds": [str(k) for k in TIER_QUALIFYING_KINDS]}
    for i, (start, end) in enumerate(windows):
        cond = f"e.created_at < %(end{i})s"
        p[f"end{i}"] = midnight(end)
        if start is not None:
            cond = f"e.created_at >= %(start{i})s AND {cond}"
            p[f"start{i}"] = midnight(start)
        sums.append(f"COALESCE(SUM(e.points) FILTER (WHERE {cond}), 0)")
    best = f"GREATEST({', '.join(sums)})" if len(sums) > 1 else sums[0]
    entry, member, tier = common.table(LedgerEntry), common.table(Member), common.table(Tier)
    sql = f"""
        SELECT count(*) FROM (
            SELECT m.id, m.tier_id,
                (SELECT t.id FROM {tier} t
                 WHERE t.shop_id = m.shop_id AND (t.threshold <= COALESCE(q.best, 0)
                                                   OR t.id = m.manual_tier_id)
                 ORDER BY t.threshold DESC LIMIT 1) AS new_tier
            FROM {member} m
            LEFT JOIN (
                SELECT e.member_id, {best} AS best
                FROM {entry} e LEFT JOIN {entry} r ON r.id = e.reversal_of_id
                WHERE e.shop_id = %(shop)s
                  AND (e.kind = ANY(%(kinds)s) OR (e.kind = 'reversal' AND r.kind = ANY(%(kinds)s)))
                GROUP BY e.member_id
            ) q ON q.member_id = m.id
            WHERE m.shop_id = %(shop)s AND m.status <> 'erased'
        ) x
        WHERE x.new_tier IS DISTINCT FROM x.tier_id
    """
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, p)
        would_change = cursor.fetchone()[0]
    return time.perf_counter() - start, would_change


def write_floor(shop) -> tuple[float, int]:
    """After the job: one UPDATE that writes the same member rows back to the tiers they had
    before (the same columns the job writes), in a transaction that is rolled back. The cost of
    the job's writes without batches or row locks; returns the seconds and the rows written."""
    from django.db import connection, transaction
    from django.utils import timezone

    from members.models import Member
    from shops.models import Tier

    tier_ids = list(
        Tier.objects.filter(shop=shop).order_by("threshold").values_list("pk", flat=True)
    )
    member = common.table(Member)
    p = {"shop": shop.pk, "now": timezone.now(), **{f"t{i}": pk for i, pk in enumerate(tier_ids)}}
    sql = f"""
        UPDATE {member} SET tier_id = s.tier, tier_changed_at = %(now)s, updated_at = %(now)s
        FROM (
            SELECT id, {SEEDED_TIER.format(g="(row_number() OVER (ORDER BY id) - 1)")} AS tier
            FROM {member} WHERE shop_id = %(shop)s
        ) s
        WHERE {member}.id = s.id AND {member}.tier_id IS DISTINCT FROM s.tier
    """
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, p)
        took, rows = time.perf_counter() - start, cursor.rowcount
        transaction.set_rollback(True)
    return took, rows


def check_sample(shop, evaluation: dt.date, size: int) -> dict:
    """Members drawn at random get the tier the per-member rule gives them (with the floor)."""
    from members.ledger.services import tier_target
    from members.models import Member
    from shops.models import Tier

    tiers = list(Tier.objects.filter(shop=shop).order_by("threshold"))
    ids = list(Member.objects.filter(shop=shop).values_list("pk", flat=True))
    wrong = []
    for member in Member.objects.filter(
        pk__in=random.Random(7).sample(ids, min(size, len(ids)))
    ).select_related("shop", "tier", "manual_tier"):
        target = tier_target(member, until=evaluation + dt.timedelta(days=1), tiers=tiers)
        floor_tier = member.manual_tier
        if floor_tier is not None and (target is None or floor_tier.threshold > target.threshold):
            target = floor_tier
        if member.tier_id != (target.pk if target else None):
            wrong.append(member.pk)
    return {"checked": min(size, len(ids)), "wrong": wrong}


def run(*, members: int, credits: int = CREDITS_PER_MEMBER, with_floor: bool = True) -> dict:
    """Build, time the job twice, verify, clean up; return the results (see module doc)."""
    from decimal import Decimal

    from members.ledger import jobs
    from members.ledger.models import LedgerEntry, LotAllocation, PointLot
    from members.models import Member
    from shops.models import Tier

    common.require_postgresql()
    common.drop_leftovers("tiers")
    evaluation = evaluation_date()
    result = {
        "benchmark": "tiers",
        "machine": common.machine(),
        "params": {
            "members": members,
            "credits_per_member": credits,
            "evaluation_date": evaluation.isoformat(),
        },
    }
    timings: dict = {}
    shop = common.create_shop(
        "tiers",
        expiry_mode="never",
        tiers_enabled=True,
        tier_window="calendar_year",
        tier_cycle="monthly",
    )
    try:
        Tier.objects.bulk_create(
            Tier(shop=shop, name=name, threshold=threshold, earn_multiplier=Decimal(mult))
            for name, threshold, mult in TIERS
        )
        with common.stopwatch(timings, "seed_s"), common.bulk_load():
            seed(shop, members=members, credits=credits, until=evaluation + dt.timedelta(days=1))
        with common.stopwatch(timings, "vacuum_analyze_s"):
            common.vacuum_analyze(Member, LedgerEntry, PointLot, LotAllocation)
        with common.stopwatch(timings, "count_s"):
            result["data"] = {
                "members": Member.objects.filter(shop=shop).count(),
                "entries": LedgerEntry.objects.filter(shop=shop).count(),
            }
        if with_floor:
            took, would_change = floor(shop, evaluation)
            timings["floor_s"] = round(took, 3)
            result["floor_would_change"] = would_change
        with common.stopwatch(timings, "job_s"):
            changed = jobs.tiers_evaluate_shop(shop=shop, evaluation_date=evaluation)
        with common.stopwatch(timings, "job_again_s"):
            changed_again = jobs.tiers_evaluate_shop(shop=shop, evaluation_date=evaluation)
        result["job"] = {"changed": changed, "changed_again": changed_again}
        with common.stopwatch(timings, "verify_s"):
            sample = check_sample(shop, evaluation, SAMPLE)
            invariants = common.check_invariants(shop.pk)
        if with_floor:
            took, written = write_floor(shop)
            timings["write_floor_s"] = round(took, 3)
            result["write_floor_rows"] = written
        result["checks"] = {
            "sample": sample,
            "invariants": invariants,
            "ok": not sample["wrong"]
            and invariants["ok"]
            and changed_again == 0
            and (
                not with_floor
                or changed == result["floor_would_change"] == result["write_floor_rows"]
            ),
        }
    finally:
        with common.stopwatch(timings, "cleanup_s"):
            common.drop_shop(shop.pk)
    result["timings"] = timings
    limit = TARGET_SECONDS * members / FULL_MEMBERS
    result["target"] = {"seconds_max": limit, "met": timings["job_s"] < limit}
    result["machine"]["load_after"] = common.loadavg()
    return result


def report(result: dict) -> str:
    d, t, j = result["data"], result["timings"], result["job"]
    rows = [
        (
            "data",
            f"{d['members']:,} members, {d['entries']:,} entries; built in {t['seed_s']:.1f} s",
        ),
        (
            "tier job",
            f"{t['job_s']:.2f} s (target < {result['target']['seconds_max']:g} s: "
            f"{'met' if result['target']['met'] else 'MISSED'}); {j['changed']:,} tiers changed",
        ),
    ]
    if "floor_s" in t:
        rows += [
            (
                "floor: compute (1 query)",
                f"{t['floor_s']:.2f} s; {result['floor_would_change']:,} would change",
            ),
            (
                "floor: write (1 UPDATE)",
                f"{t['write_floor_s']:.2f} s for {result['write_floor_rows']:,} rows; "
                f"job / (compute + write) = "
                f"{t['job_s'] / (t['floor_s'] + t['write_floor_s']):.1f}×",
            ),
        ]
    rows += [
        ("second run", f"{t['job_again_s']:.2f} s, {j['changed_again']:,} changed"),
        ("checks", "ok" if result["checks"]["ok"] else str(result["checks"])),
        (
            "load average",
            f"before {result['machine']['load_before']}, after {result['machine']['load_after']}",
        ),
    ]
    return common.format_table("tiers: tiers_evaluate_shop", ["", "result"], rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--no-floor", action="store_true", help="skip the floor measurement")
    args = parser.parse_args(argv)
    common.bootstrap(args.database_url)
    result = run(
        members=common.scaled(FULL_MEMBERS, args.scale, minimum=20), with_floor=not args.no_floor
    )
    print(report(result))
    common.write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
