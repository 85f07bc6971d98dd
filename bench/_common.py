"""What every benchmark needs: Django on a scratch PostgreSQL database, a bench shop that is removed
afterwards, set-based row builders that follow the models, the ledger's invariants, the machine's
description and the table/JSON output.

Nothing here is imported by the product. Model imports happen inside functions, because a benchmark
run as a script sets Django up itself (``bootstrap``) before it can import them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench"
SHOP_SLUG_PREFIX = "bench-"


# --- set-up -------------------------------------------------------------------------------------


def add_common_arguments(parser) -> None:
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        help="PostgreSQL URL; the database is created and migrated if needed "
        f"(default: $DATABASE_URL or {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="size relative to the full benchmark, e.g. 0.01 for a run of a few seconds",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")


def bootstrap(database_url: str) -> None:
    """Point Django at ``database_url`` (created if missing), set it up and migrate it.

    Does nothing when Django is already set up (the smoke test runs the benchmarks inside pytest).
    """
    from django.apps import apps

    if apps.ready:
        return
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("The benchmarks need PostgreSQL: pass --database-url postgres://...")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    # Production-like settings in this process too (DEBUG off: no query log growing in memory).
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(40))
    # A Fernet key (stored secrets are encrypted at rest, loyalty/crypto.py): 32 random bytes.
    os.environ.setdefault(
        "FIELD_ENCRYPTION_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    )
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    ensure_database(database_url)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def ensure_database(database_url: str) -> None:
    """Create the database named in ``database_url`` if the server does not have it yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = unquote(parts.path.lstrip("/"))
    with psycopg.connect(
        **_conninfo_from_url(database_url, dbname="postgres"), autocommit=True
    ) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}", file=sys.stderr)


def _conninfo_from_url(database_url: str, *, dbname: str | None = None) -> dict:
    parts = urlsplit(database_url)
    info = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "dbname": dbname or unquote(parts.path.lstrip("/")),
    }
    if parts.password:
        info["password"] = unquote(parts.password)
    return info


def psycopg_conninfo() -> dict:
    """Connection arguments for a raw psycopg connection to Django's database."""
    from django.db import connection

    s = connection.settings_dict
    info = {"host": s["HOST"] or "127.0.0.1", "port": s["PORT"] or 5432, "dbname": s["NAME"]}
    if s["USER"]:
        info["user"] = s["USER"]
    if s["PASSWORD"]:
        info["password"] = s["PASSWORD"]
    return info


def database_url() -> str:
    """Django's current database as a URL (under pytest: the test database)."""
    from django.db import connection

    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def require_postgresql() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        raise RuntimeError("the benchmarks run on PostgreSQL only")


# --- the machine --------------------------------------------------------------------------------


def loadavg() -> tuple[float, float, float]:
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on Linux
        return (0.0, 0.0, 0.0)


def cpus() -> int:
    """The CPUs this process may run on (what gunicorn's workers share)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def default_workers() -> int:
    """gunicorn's sync workers for an HTTP benchmark: cores × 2."""
    return 2 * cpus()


def machine() -> dict:
    """Where the numbers come from: date, CPUs, memory, PostgreSQL, load now."""
    from django.db import connection

    cpu = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        cpu = next(
            (line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line),
            cpu,
        )
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        sync_commit = cursor.fetchone()[0]
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": cpus(),
        "cpu_model": cpu,
        "memory_gb": mem_gb,
        "postgresql": pg,
        "shared_buffers": shared_buffers,
        "synchronous_commit": sync_commit,
        "python": platform.python_version(),
        "load_before": loadavg(),
    }


# --- output -------------------------------------------------------------------------------------


def format_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain-text table: numbers right-aligned, text left-aligned."""
    rows = [[(_cell(c), isinstance(c, int | float)) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i][0]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    out = [title, "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    for r in rows:
        out.append(
            "  ".join(
                text.rjust(w) if number else text.ljust(w)
                for (text, number), w in zip(r, widths, strict=True)
            ).rstrip()
        )
    return "\n".join(out)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def write_json(path: str | None, payload: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(payload, indent=2, default=str) + "\n")
        print(f"wrote {path}")


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of already sorted values; 0 for none."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


@contextmanager
def stopwatch(into: dict, name: str):
    """Record the seconds the block took as ``into[name]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        into[name] = round(time.perf_counter() - start, 3)


def scaled(full: int, scale: float, *, minimum: int = 1) -> int:
    return max(minimum, round(full * scale))


# --- rows built in SQL --------------------------------------------------------------------------


def table(model) -> str:
    from django.db import connection

    return connection.ops.quote_name(model._meta.db_table)


def insert_columns(model, values: dict[str, str]) -> tuple[str, str, dict]:
    """The column list, select list and parameters for an INSERT into ``model``'s table.

    ``values`` maps attnames (``shop_id``) to SQL expressions. Every other column gets what Django
    would give it: NULL where allowed, else the field's default (named parameters ``%(_d_<col>)s``),
    so a field another change adds with a default does not break the benchmark.
    """
    from django.db import connection
    from django.utils import timezone

    columns, exprs, params = [], [], {}
    for field in model._meta.concrete_fields:
        if field.primary_key and field.attname not in values:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.attname in values:
            exprs.append(values[field.attname])
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = timezone.now()
        elif field.null:
            exprs.append("NULL")
            continue
        elif field.has_default() or field.empty_strings_allowed:
            value = field.get_default()
        else:
            raise ValueError(f"{model.__name__}.{field.attname} needs a value")
        name = f"_d_{field.attname}"
        params[name] = field.get_db_prep_save(value, connection)
        exprs.append(f"%({name})s")
    return ", ".join(columns), ", ".join(exprs), params


@contextmanager
def bulk_load():
    """A transaction for loading or removing a bench shop's rows in bulk.

    Where the role may (a superuser, as on dev and CI machines), foreign-key triggers are skipped
    for it (``session_replication_role = replica``): the benchmarks write every row they remove and
    build every reference they insert themselves, and checking a million member rows against every
    table that refers to members would take minutes. Without the privilege the checks run.
    """
    from django.db import DatabaseError, connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute("SET LOCAL session_replication_role = replica")
        except DatabaseError:
            pass
        yield cursor


def vacuum_analyze(*models) -> None:
    """Bring the planner's statistics and the visibility map up to date after a bulk load, as
    autovacuum would have on a database in steady state."""
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"VACUUM (ANALYZE) {table(model)}")


# --- the bench shop -----------------------------------------------------------------------------


def create_shop(name: str, **fields):
    """A shop for one benchmark run; its slug marks it as bench data (see ``drop_leftovers``)."""
    from shops.models import Shop

    slug = f"{SHOP_SLUG_PREFIX}{name}-{secrets.token_hex(4)}"
    return Shop.objects.create(name=f"Bench {name}", slug=slug, **fields)


def drop_shop(shop_id: int) -> None:
    """Remove a bench shop and everything the benchmarks wrote for it, set-based."""
    from loyalty.models import IdempotencyRecord, OutboxMessage
    from members.ledger.models import (
        LedgerEntry,
        LotAllocation,
        PointLot,
        Product,
        Purchase,
        PurchaseItem,
    )
    from members.models import Member
    from shops.models import ApiKey, Shop, ShopLineChannel, Tier

    alloc, entry = table(LotAllocation), table(LedgerEntry)
    with bulk_load() as cursor:
        cursor.execute(
            f"DELETE FROM {alloc} a USING {entry} d WHERE a.debit_id = d.id AND d.shop_id = %s",
            [shop_id],
        )
        for model in (
            PointLot,
            LedgerEntry,
            PurchaseItem,
            Purchase,
            Product,
            IdempotencyRecord,
            OutboxMessage,
            Member,
            ApiKey,
            Tier,
            ShopLineChannel,
        ):
            cursor.execute(f"DELETE FROM {table(model)} WHERE shop_id = %s", [shop_id])
        # Not the ORM's cascade: it would visit every model of the tree, including ones whose
        # migration is not written yet; the benchmarks create nothing else for their shop.
        cursor.execute(f"DELETE FROM {table(Shop)} WHERE id = %s", [shop_id])


def drop_leftovers(name: str) -> None:
    """Remove bench shops an interrupted earlier run of benchmark ``name`` left behind (the expiry
    job works across shops, so old due lots would distort the next run)."""
    from shops.models import Shop

    for pk in Shop.objects.filter(slug__startswith=f"{SHOP_SLUG_PREFIX}{name}-").values_list(
        "pk", flat=True
    ):
        drop_shop(pk)


# --- invariants ---------------------------------------------------------------------------------


def check_invariants(shop_id: int) -> dict:
    """The ledger's invariants over a whole shop, set-based (DESIGN.md, "Points are a ledger of
    lots"): per member balance = Σ entries = Σ open lots − debt; per lot remaining = points − paid
    debt − what live debits took; per shop Σ entries = Σ balances. Returns the counts of rows that
    break them (all 0 when sound) and the totals."""
    from django.db import connection

    from members.ledger.models import LedgerEntry, LotAllocation, PointLot
    from members.models import Member

    entry, lot, alloc, member = (
        table(LedgerEntry),
        table(PointLot),
        table(LotAllocation),
        table(Member),
    )
    p = {"shop": shop_id}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH e AS (SELECT member_id, SUM(points) AS s FROM {entry}
                       WHERE shop_id = %(shop)s GROUP BY member_id),
                 l AS (SELECT member_id, SUM(remaining) AS s FROM {lot}
                       WHERE shop_id = %(shop)s GROUP BY member_id)
            SELECT count(*),
                   count(*) FILTER (WHERE m.balance <> COALESCE(e.s, 0)),
                   count(*) FILTER (WHERE m.balance <> COALESCE(l.s, 0) - m.debt),
                   COALESCE(SUM(m.balance), 0)
            FROM {member} m
            LEFT JOIN e ON e.member_id = m.id
            LEFT JOIN l ON l.member_id = m.id
            WHERE m.shop_id = %(shop)s
            """,
            p,
        )
        members, off_entries, off_lots, balances = cursor.fetchone()
        cursor.execute(
            f"""
            SELECT count(*) FROM {lot} l
            LEFT JOIN (
                SELECT a.lot_id, SUM(a.points) AS s
                FROM {alloc} a JOIN {entry} d ON d.id = a.debit_id
                WHERE d.shop_id = %(shop)s
                  AND NOT EXISTS (SELECT 1 FROM {entry} r WHERE r.reversal_of_id = d.id)
                GROUP BY a.lot_id
            ) x ON x.lot_id = l.id
            WHERE l.shop_id = %(shop)s
              AND l.remaining <> l.points - l.debt_paid - COALESCE(x.s, 0)
            """,
            p,
        )
        off_allocations = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT COALESCE(SUM(points), 0), count(*) FROM {entry} WHERE shop_id = %(shop)s", p
        )
        ledger_total, entries = cursor.fetchone()
    result = {
        "members": members,
        "entries": entries,
        "members_balance_not_sum_of_entries": off_entries,
        "members_balance_not_sum_of_lots": off_lots,
        "lots_remaining_not_points_minus_allocations": off_allocations,
        "ledger_total": int(ledger_total),
        "sum_of_balances": int(balances),
    }
    result["ok"] = (
        off_entries == 0 and off_lots == 0 and off_allocations == 0 and ledger_total == balances
    )
    return result


# --- the load benchmarks' command line ----------------------------------------------------------


def errors_text(phase: dict) -> str:
    """A phase's errors as 'Kind×n, …', or 0."""
    return ", ".join(f"{k}×{v}" for k, v in phase["errors"].items()) or "0"


def load_main(argv, *, doc: str, run, report, members: int = 10_000) -> dict:
    """The command line the HTTP load benchmarks share (earn, staff add-points, redeem): gunicorn
    workers, client threads, seconds with a warm-up, members; run, print the table, write the
    JSON."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--seconds", type=float, default=None, help="20 × scale (at least 1)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--members", type=int, default=members, help="at --scale 1")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (cores × 2)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds not measured (3)")
    args = parser.parse_args(argv)
    bootstrap(args.database_url)
    full = args.scale >= 1
    result = run(
        seconds=args.seconds or max(1.0, 20.0 * args.scale),
        clients=args.clients,
        members=scaled(args.members, args.scale, minimum=max(10, args.clients)),
        workers=args.workers,
        warmup=args.warmup if args.warmup is not None else (3.0 if full else 1.0),
    )
    print(report(result))
    write_json(args.json, result)
    return result
