"""Earning points through the Open API, against the framework floor and the raw writes.

1. ``POST /api/v1/points/earn`` on gunicorn (production settings, ``cores × 2`` sync workers) from
   ``--clients`` threads for ``--seconds``, each request with its own ``Idempotency-Key``, members
   drawn at random from ``--members`` seeded members (shop with 3 tiers, 12-month expiry).
2. The framework floor, on the same gunicorn with the same clients in the same run:
   ``POST /bench/floor/earn`` (``bench/floor_wsgi.py``), a minimal Django view (same middleware,
   URL resolver and database connection handling) that runs the raw transaction of 3 through
   Django's cursor and answers 201. What Django costs for these writes before the product does
   anything of its own (authentication, validation, idempotency, tiers, the answer's JSON).
3. The physical limit: the same writes as one raw psycopg transaction per earn (lock the member
   row, insert the purchase, the ledger entry and the lot, update the balance), same tables and
   indexes, same number of threads and seconds, no HTTP and no framework.

Prints ops/s, p50 and p99 of the three, the ratio API/floor (target ≥ 0.5), the API's p99 (target
< 100 ms) and, for scale, API/raw and floor/raw.

    .venv/bin/python bench/earn_api.py [--seconds 20] [--clients 8] [--members 10000] [--json PATH]
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common

TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0
AMOUNT = Decimal("250.00")
APP_NAME = "bench-earn-api"
RAW_APP_NAME = "bench-earn-raw"
THB_PER_POINT = Decimal("25.00")
FLOOR_APP = "bench.floor_wsgi"  # the product plus the framework floors' views
FLOOR_PATH = "/bench/floor/earn"


# --- seed ---------------------------------------------------------------------------------------


def seed(members: int) -> tuple[object, str, list[tuple[int, str]]]:
    """A shop with tiers and 12-month expiry, an API key, and ``members`` registered members."""
    from django.utils import timezone

    from members.models import Member
    from shops.apikeys import api_key_create
    from shops.models import Tier

    shop = common.create_shop(
        "earn",
        thb_per_point=THB_PER_POINT,
        expiry_mode="months_after",
        expiry_months=12,
        tiers_enabled=True,
    )
    Tier.objects.bulk_create(
        [
            Tier(shop=shop, name="Member", threshold=0, earn_multiplier=Decimal("1.00")),
            Tier(shop=shop, name="Silver", threshold=1000, earn_multiplier=Decimal("1.25")),
            Tier(shop=shop, name="Gold", threshold=5000, earn_multiplier=Decimal("1.50")),
        ]
    )
    entry_tier = Tier.objects.get(shop=shop, threshold=0)
    _key, raw = api_key_create(shop=shop, name="bench")
    now = timezone.now()
    Member.objects.bulk_create(
        (
            Member(
                shop=shop,
                phone=f"+668{i:08d}",
                status=Member.Status.REGISTERED,
                registered_at=now,
                tier=entry_tier,
            )
            for i in range(members)
        ),
        batch_size=5000,
    )
    ids = list(Member.objects.filter(shop=shop).values_list("pk", "public_id"))
    return shop, raw, [(pk, str(public_id)) for pk, public_id in ids]


# --- gunicorn -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _field_encryption_key() -> str:
    from django.conf import settings

    return settings.FIELD_ENCRYPTION_KEY


def start_gunicorn(
    workers: int,
    log_path: Path,
    *,
    app: str = "loyalty.wsgi",
    application_name: str = APP_NAME,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen, int]:
    """gunicorn serving ``app`` with production settings on a free loopback port; ``env`` adds to
    or overrides the environment it is given."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        # Named, so that the CPU of exactly these database sessions can be read.
        "DATABASE_URL": common.database_url() + f"?application_name={application_name}",
        "DEBUG": "false",
        "TESTING": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-" + uuid.uuid4().hex * 2,
        # The seeding process's key, so that the server reads the secrets it stored.
        "FIELD_ENCRYPTION_KEY": _field_encryption_key(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    cmd = [str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]
    cmd += [
        app,
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--chdir",
        str(common.ROOT),
    ]
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=common.ROOT)
    return proc, port


def wait_until_serving(proc: subprocess.Popen, port: int, token: str, log_path: Path) -> None:
    """Until every worker answers (a few authenticated GETs), or fail with gunicorn's log."""
    deadline = time.monotonic() + 60
    answered = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(
                "GET",
                "/api/v1/members?phone=0800000000",
                headers={"Authorization": f"Bearer {token}"},
            )
            status = conn.getresponse().status
            conn.close()
            if status != 200:
                raise RuntimeError(f"GET /api/v1/members gave {status}:\n{log_path.read_text()}")
            answered += 1
            if answered >= 20:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer in 60 s:\n{log_path.read_text()[-3000:]}")


def stop_gunicorn(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- load ---------------------------------------------------------------------------------------


class Phase:
    """Timing of one phase: each thread records requests that started inside the measured window.

    Optionally also the CPU time spent in the measured window by groups of processes (``cpu``:
    label → function returning their pids; Linux ``/proc``) and by this process (the clients), per
    operation: what the machine pays for one operation on each side.
    """

    def __init__(self, clients: int, warmup: float, seconds: float):
        self.clients = clients
        self.start_measuring = time.perf_counter() + warmup
        self.stop = self.start_measuring + seconds
        self.seconds = seconds
        self.latencies: list[list[float]] = [[] for _ in range(clients)]
        self.errors: list[Counter] = [Counter() for _ in range(clients)]
        self.barrier = threading.Barrier(clients)
        # Set once the window's CPU has been read: clients that hold a database connection keep it
        # open until then, so its backend is still there to be read.
        self.ended = threading.Event()

    def run(self, target, *, cpu: dict | None = None) -> dict:
        cpu = cpu or {}
        threads = [threading.Thread(target=target, args=(i, self)) for i in range(self.clients)]
        for t in threads:
            t.start()
        try:
            time.sleep(max(0.0, self.start_measuring - time.perf_counter()))
            before = {label: cpu_seconds(pids()) for label, pids in cpu.items()}
            own_before = time.process_time()
            time.sleep(max(0.0, self.stop - time.perf_counter()))
            after = {label: cpu_seconds(pids()) for label, pids in cpu.items()}
            own = time.process_time() - own_before
        finally:
            self.ended.set()
            for t in threads:
                t.join()
        latencies = sorted(x for per in self.latencies for x in per)
        errors = sum(self.errors, Counter())
        result = {
            "ops": len(latencies),
            "ops_per_s": len(latencies) / self.seconds,
            "p50_ms": common.percentile(latencies, 50) * 1000,
            "p99_ms": common.percentile(latencies, 99) * 1000,
            "max_ms": (latencies[-1] * 1000) if latencies else 0.0,
            "errors": dict(errors),
        }
        if cpu and latencies:
            per_op = {
                label: sum(t - before[label].get(pid, 0.0) for pid, t in after[label].items())
                for label in cpu
            }
            per_op["clients"] = own
            result["cpu_ms_per_op"] = {k: v * 1000 / len(latencies) for k, v in per_op.items()}
        return result


def cpu_seconds(pids) -> dict[int, float]:
    """User + system CPU seconds of each process so far (Linux); processes not found are left out."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (gunicorn's workers)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return pids


def database_backend_pids(application_name: str) -> list[int]:
    """The PostgreSQL backends of the sessions named ``application_name``, when the server runs on
    this machine (their pids mean nothing otherwise)."""
    from django.db import connection

    if (connection.settings_dict["HOST"] or "127.0.0.1") not in ("127.0.0.1", "localhost", "::1"):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name]
        )
        return [row[0] for row in cursor.fetchall()]


def api_client(port: int, token: str, member_uuids: list[str]):
    body_of = {u: json.dumps({"member_id": u, "amount": str(AMOUNT)}) for u in member_uuids}

    def client(i: int, phase: Phase) -> None:
        rnd = random.Random(i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors = phase.latencies[i], phase.errors[i]
        phase.barrier.wait()
        while True:
            start = time.perf_counter()
            if start >= phase.stop:
                break
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            try:
                conn.request(
                    "POST", "/api/v1/points/earn", body_of[rnd.choice(member_uuids)], headers
                )
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                errors[type(exc).__name__] += 1
                continue
            took = time.perf_counter() - start
            if start < phase.start_measuring:
                continue
            if response.status == 201:
                latencies.append(took)
            else:
                errors[str(response.status)] += 1
        conn.close()

    return client


@dataclass(frozen=True)
class RawEarn:
    """The raw earn transaction's statements and the parameters that do not change per earn."""

    lock: str
    purchase: str
    entry: str
    lot: str
    update: str
    params: dict


def raw_earn_statements(shop) -> RawEarn:
    """The writes of ``points_earn`` and nothing else, as SQL on the models' own tables: lock the
    member row, insert the purchase, the ledger entry and the lot, update the balance."""
    from django.utils import timezone

    from members.ledger import rules
    from members.ledger.models import LedgerEntry, PointLot, Purchase
    from members.models import Member
    from shops.models import ApiKey

    points = rules.points_for_spend(AMOUNT, thb_per_point=THB_PER_POINT)
    purchase_cols, purchase_vals, purchase_defaults = common.insert_columns(
        Purchase,
        {
            "shop_id": "%(shop)s",
            "public_id": "%(uuid1)s",
            "member_id": "%(member)s",
            "channel": "'api'",
            "amount": "%(amount)s",
            "points": "%(points)s",
            "status": "'completed'",
            "created_at": "%(now)s",
        },
    )
    entry_cols, entry_vals, entry_defaults = common.insert_columns(
        LedgerEntry,
        {
            "shop_id": "%(shop)s",
            "public_id": "%(uuid2)s",
            "member_id": "%(member)s",
            "kind": "'earn'",
            "points": "%(points)s",
            "balance_after": "%(balance_after)s",
            "idempotency_key": "%(key)s",
            "fingerprint": "%(fingerprint)s",
            "actor_kind": "'api'",
            "api_key_id": "%(api_key)s",
            "channel": "'api'",
            "purchase_id": "%(purchase)s",
            "created_at": "%(now)s",
        },
    )
    lot_cols, lot_vals, lot_defaults = common.insert_columns(
        PointLot,
        {
            "shop_id": "%(shop)s",
            "member_id": "%(member)s",
            "entry_id": "%(entry)s",
            "points": "%(points)s",
            "remaining": "%(points)s",
            "debt_paid": "0",
            "earned_on": "%(today)s",
            "available_on": "%(today)s",
            "expires_on": "%(expires)s",
        },
    )
    member = common.table(Member)
    today = timezone.localdate()
    return RawEarn(
        lock=f"SELECT balance, debt FROM {member} WHERE id = %(member)s FOR NO KEY UPDATE",
        purchase=(
            f"INSERT INTO {common.table(Purchase)} ({purchase_cols}) VALUES ({purchase_vals}) "
            "RETURNING id"
        ),
        entry=(
            f"INSERT INTO {common.table(LedgerEntry)} ({entry_cols}) VALUES ({entry_vals}) "
            "RETURNING id"
        ),
        lot=f"INSERT INTO {common.table(PointLot)} ({lot_cols}) VALUES ({lot_vals})",
        update=(
            f"UPDATE {member} SET balance = balance + %(points)s, updated_at = %(now)s "
            "WHERE id = %(member)s"
        ),
        params={
            **purchase_defaults,
            **entry_defaults,
            **lot_defaults,
            "shop": shop.pk,
            "amount": AMOUNT,
            "points": points,
            "api_key": ApiKey.objects.filter(shop=shop).values_list("pk", flat=True).first(),
            "today": today,
            "expires": rules.expiry_date_for(
                today, mode=shop.expiry_mode, months=shop.expiry_months
            ),
        },
    )


def raw_earn(cur, raw: RawEarn, *, member_id: int, key: str) -> int:
    """One earn's statements on ``cur`` (a psycopg cursor, or Django's cursor in the framework
    floor's view), inside the caller's transaction. Returns the new balance."""
    from django.utils import timezone

    p = {
        **raw.params,
        "member": member_id,
        "now": timezone.now(),
        "uuid1": uuid.uuid4(),
        "uuid2": uuid.uuid4(),
        "key": key,
        "fingerprint": uuid.uuid4().hex,
    }
    cur.execute(raw.lock, p)
    balance, _debt = cur.fetchone()
    cur.execute(raw.purchase, p)
    p["purchase"] = cur.fetchone()[0]
    p["balance_after"] = balance + p["points"]
    cur.execute(raw.entry, p)
    p["entry"] = cur.fetchone()[0]
    cur.execute(raw.lot, p)
    cur.execute(raw.update, p)
    return p["balance_after"]


def raw_client(conninfo: dict, shop, member_ids: list[int]):
    """The physical limit: ``raw_earn`` as one psycopg transaction per earn, no framework."""
    import psycopg

    raw = raw_earn_statements(shop)

    def client(i: int, phase: Phase) -> None:
        rnd = random.Random(1000 + i)
        latencies, errors = phase.latencies[i], phase.errors[i]
        with (
            psycopg.connect(**conninfo, autocommit=True, application_name=RAW_APP_NAME) as conn,
            conn.cursor() as cur,
        ):
            phase.barrier.wait()
            while True:
                start = time.perf_counter()
                if start >= phase.stop:
                    break
                try:
                    with conn.transaction():
                        raw_earn(
                            cur,
                            raw,
                            member_id=rnd.choice(member_ids),
                            key=f"raw:{uuid.uuid4().hex}",
                        )
                except psycopg.Error as exc:
                    errors[type(exc).__name__] += 1
                    continue
                took = time.perf_counter() - start
                if start >= phase.start_measuring:
                    latencies.append(took)
            phase.ended.wait(timeout=60)

    return client


def floor_client(port: int, member_ids: list[int]):
    """The framework floor: ``raw_earn`` behind a minimal Django view (``bench/floor_wsgi.py``)
    on the API's gunicorn, over HTTP the way ``api_client`` does it."""
    body_of = {pk: json.dumps({"member": pk}) for pk in member_ids}

    def client(i: int, phase: Phase) -> None:
        rnd = random.Random(2000 + i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors = phase.latencies[i], phase.errors[i]
        phase.barrier.wait()
        while True:
            start = time.perf_counter()
            if start >= phase.stop:
                break
            headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
            try:
                conn.request("POST", FLOOR_PATH, body_of[rnd.choice(member_ids)], headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                errors[type(exc).__name__] += 1
                continue
            took = time.perf_counter() - start
            if start < phase.start_measuring:
                continue
            if response.status == 201:
                latencies.append(took)
            else:
                errors[str(response.status)] += 1
        conn.close()

    return client


# --- the benchmark ------------------------------------------------------------------------------


def run(
    *,
    seconds: float = 20.0,
    clients: int = 8,
    members: int = 10_000,
    workers: int | None = None,
    warmup: float = 3.0,
) -> dict:
    """Run both phases on Django's current database and return the results (see module doc)."""
    from loyalty.models import IdempotencyRecord
    from members.ledger.models import LedgerEntry, PointLot, Purchase
    from members.models import Member

    common.require_postgresql()
    common.drop_leftovers("earn")
    workers = workers or common.default_workers()
    result = {
        "benchmark": "earn_api",
        "machine": common.machine(),
        "params": {
            "seconds": seconds,
            "clients": clients,
            "members": members,
            "gunicorn_workers": workers,
            "warmup_seconds": warmup,
            "amount": str(AMOUNT),
        },
    }
    timings: dict = {}
    with common.stopwatch(timings, "seed_s"):
        shop, token, seeded = seed(members)
        # Statistics as on a database in steady state, whatever an earlier benchmark left behind.
        common.vacuum_analyze(Member, LedgerEntry, PointLot, Purchase, IdempotencyRecord)
    try:
        log_path = Path(tempfile.gettempdir()) / f"bench-gunicorn-{os.getpid()}.log"
        proc, port = start_gunicorn(
            workers, log_path, app=FLOOR_APP, env={"BENCH_EARN_SHOP": str(shop.pk)}
        )
        cpu = {
            "app": lambda: child_pids(proc.pid),
            "db": lambda: database_backend_pids(APP_NAME),
        }
        try:
            wait_until_serving(proc, port, token, log_path)
            result["api"] = Phase(clients, warmup, seconds).run(
                api_client(port, token, [u for _pk, u in seeded]), cpu=cpu
            )
            result["floor"] = Phase(clients, warmup, seconds).run(
                floor_client(port, [pk for pk, _u in seeded]), cpu=cpu
            )
        finally:
            stop_gunicorn(proc)
        result["raw"] = Phase(clients, warmup, seconds).run(
            raw_client(common.psycopg_conninfo(), shop, [pk for pk, _u in seeded]),
            cpu={"app": list, "db": lambda: database_backend_pids(RAW_APP_NAME)},
        )
        result["invariants"] = common.check_invariants(shop.pk)
    finally:
        with common.stopwatch(timings, "cleanup_s"):
            common.drop_shop(shop.pk)
    api, floor, raw = result["api"], result["floor"], result["raw"]
    # The target is against the framework floor: what Django on this gunicorn costs for the same
    # writes. The raw transaction is the physical limit, shown for scale.
    result["ratio"] = api["ops_per_s"] / floor["ops_per_s"] if floor["ops_per_s"] else 0.0
    result["ratio_raw"] = api["ops_per_s"] / raw["ops_per_s"] if raw["ops_per_s"] else 0.0
    result["floor_ratio_raw"] = floor["ops_per_s"] / raw["ops_per_s"] if raw["ops_per_s"] else 0.0
    result["targets"] = {
        "ratio_min": TARGET_RATIO,
        "ratio_met": result["ratio"] >= TARGET_RATIO,
        "p99_ms_max": TARGET_P99_MS,
        "p99_met": api["p99_ms"] < TARGET_P99_MS,
    }
    result["timings"] = timings
    result["machine"]["load_after"] = common.loadavg()
    return result


def report(result: dict) -> str:
    api, floor, raw, t = result["api"], result["floor"], result["raw"], result["targets"]
    p = result["params"]
    rows = [
        ("API (gunicorn)", *_row(api)),
        ("framework floor (gunicorn)", *_row(floor)),
        ("raw psycopg txn", *_row(raw)),
    ]
    table = common.format_table(
        f"earn: {p['clients']} clients × {p['seconds']:g} s, {p['members']:,} members, "
        f"{p['gunicorn_workers']} gunicorn workers",
        ["", "ops/s", "p50 ms", "p99 ms", "ops", "errors", "CPU ms/op: app", "db", "clients"],
        rows,
    )
    m = result["machine"]
    verdict = (
        f"ratio API/floor = {result['ratio']:.2f} (target ≥ {t['ratio_min']}: "
        f"{'met' if t['ratio_met'] else 'MISSED'}); API p99 = {api['p99_ms']:.1f} ms "
        f"(target < {t['p99_ms_max']:g} ms: {'met' if t['p99_met'] else 'MISSED'})\n"
        f"for scale: API/raw = {result['ratio_raw']:.2f}, floor/raw = "
        f"{result['floor_ratio_raw']:.2f}\n"
        f"invariants: {'ok' if result['invariants']['ok'] else result['invariants']}\n"
        f"load average before {m['load_before']}, after {m['load_after']}"
    )
    return f"{table}\n{verdict}"


def _row(phase: dict) -> tuple:
    cpu = phase.get("cpu_ms_per_op", {})
    return (
        phase["ops_per_s"],
        phase["p50_ms"],
        phase["p99_ms"],
        phase["ops"],
        common.errors_text(phase),
        *(cpu.get(k, "-") for k in ("app", "db", "clients")),
    )


def main(argv: list[str] | None = None) -> dict:
    return common.load_main(argv, doc=__doc__, run=run, report=report)


if __name__ == "__main__":
    main()
