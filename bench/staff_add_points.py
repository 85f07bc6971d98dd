"""The staff app's add-points request, against the raw writes it has to make.

1. ``POST /staff/add/confirm/`` on gunicorn (production settings, ``cores × 2`` sync workers) from
   ``--clients`` threads for ``--seconds``: each thread is a cashier's phone, signed in once (session
   cookie, CSRF token), sending the confirm form with a fresh hidden key each time, for members drawn
   at random from ``--members`` seeded members (shop with 3 tiers, 12-month expiry). The answer is
   the 302 to the "done" page; the redirect is not followed.
2. The physical limit, in the same run: the same writes as one raw psycopg transaction per add
   (lock the member row, insert the purchase, the ledger entry, the lot and the staff audit row,
   update the balance), same tables and indexes, same number of threads and seconds.

Prints ops/s, p50 and p99 of both and their ratio.

    .venv/bin/python bench/staff_add_points.py [--seconds 20] [--clients 8] [--members 10000]
"""

from __future__ import annotations

import http.client
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common
from bench.earn_api import Phase, start_gunicorn, stop_gunicorn

AMOUNT = Decimal("250.00")
THB_PER_POINT = Decimal("25.00")
PASSWORD = "bench-" + secrets.token_urlsafe(12)
USER_AGENT = "bench/staff_add_points (phone)"


# --- seed ---------------------------------------------------------------------------------------


def seed(members: int, cashiers: int):
    """A shop with tiers and 12-month expiry, one branch, ``cashiers`` cashiers at it, and
    ``members`` registered members."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.utils import timezone

    from members.models import Member
    from shops.models import Branch, Tier, User

    shop = common.create_shop(
        "staff",
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
    branch = Branch.objects.create(shop=shop, name="Bench branch", code="BENCH")
    hasher = PBKDF2PasswordHasher()
    users = []
    for i in range(cashiers):
        user = User(username=f"{shop.slug}-c{i}", shop=shop, role=User.Role.CASHIER)
        # Hashed for the server's default hasher, whatever this process's settings say (the smoke
        # test runs under pytest's fast hasher; gunicorn has production settings).
        user.password = hasher.encode(PASSWORD, hasher.salt())
        user.save()
        user.branches.add(branch)
        users.append(user)
    now = timezone.now()
    Member.objects.bulk_create(
        (
            Member(
                shop=shop,
                phone=f"+669{i:08d}",
                status=Member.Status.REGISTERED,
                registered_at=now,
                tier=entry_tier,
            )
            for i in range(members)
        ),
        batch_size=5000,
    )
    ids = list(Member.objects.filter(shop=shop).values_list("pk", "public_id"))
    return shop, branch, users, [(pk, str(public_id)) for pk, public_id in ids]


def drop(shop_id: int) -> None:
    """Remove the bench shop with its staff, branch and audit rows (one transaction: the ledger's
    rows point at the cashiers and the branch)."""
    from django.db import connection, transaction

    from shops.models import Branch, User
    from shops.staffing.models import StaffAction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {common.table(StaffAction)} WHERE shop_id = %s", [shop_id])
        common.drop_shop(shop_id)
        through = common.table(User.branches.through)
        cursor.execute(
            f"DELETE FROM {through} WHERE user_id IN "
            f"(SELECT id FROM {common.table(User)} WHERE shop_id = %s)",
            [shop_id],
        )
        cursor.execute(f"DELETE FROM {common.table(User)} WHERE shop_id = %s", [shop_id])
        cursor.execute(f"DELETE FROM {common.table(Branch)} WHERE shop_id = %s", [shop_id])


def drop_leftovers() -> None:
    from shops.models import Shop

    for pk in Shop.objects.filter(slug__startswith=f"{common.SHOP_SLUG_PREFIX}staff-").values_list(
        "pk", flat=True
    ):
        drop(pk)


# --- the staff app over HTTP --------------------------------------------------------------------


class Phone:
    """A cashier's phone: one keep-alive connection, the session and CSRF cookies."""

    def __init__(self, port: int, username: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.csrf = secrets.token_hex(16)  # a CSRF secret of our own (double-submit cookie)
        self.cookies = {"csrftoken": self.csrf}
        status = self.post("/staff/login/", {"username": username, "password": PASSWORD})
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in as {username} gave {status}")

    def post(self, path: str, data: dict) -> int:
        body = urlencode({**data, "csrfmiddlewaretoken": self.csrf})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "User-Agent": USER_AGENT,
        }
        self.conn.request("POST", path, body, headers)
        response = self.conn.getresponse()
        response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        # Signing in rotates the CSRF secret; the form sends the current one.
        self.csrf = self.cookies["csrftoken"]
        return response.status


def wait_until_serving(proc, port: int, username: str, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            Phone(port, username).conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer in 60 s:\n{log_path.read_text()[-3000:]}")


def staff_client(phones: list[Phone], member_uuids: list[str]):
    def client(i: int, phase: Phase) -> None:
        rnd = random.Random(i)
        phone = phones[i]
        latencies, errors = phase.latencies[i], phase.errors[i]
        phase.barrier.wait()
        while True:
            start = time.perf_counter()
            if start >= phase.stop:
                break
            data = {
                "member": rnd.choice(member_uuids),
                "phone": "",
                "amount": str(AMOUNT),
                "receipt_no": "",
                "key": str(uuid.uuid4()),
            }
            try:
                status = phone.post("/staff/add/confirm/", data)
            except (OSError, http.client.HTTPException) as exc:
                phone.conn.close()
                errors[type(exc).__name__] += 1
                continue
            took = time.perf_counter() - start
            if start < phase.start_measuring:
                continue
            if status == 302:
                latencies.append(took)
            else:
                errors[str(status)] += 1
        phone.conn.close()

    return client


# --- the raw limit ------------------------------------------------------------------------------


def raw_client(conninfo: dict, shop, branch, users, member_ids: list[int]):
    """One add as the minimal transaction: the writes of ``staff_points_add`` and nothing else."""
    import psycopg
    from django.utils import timezone

    from members.ledger import rules
    from members.ledger.models import LedgerEntry, PointLot, Purchase
    from members.models import Member
    from shops.staffing.models import StaffAction

    points = rules.points_for_spend(AMOUNT, thb_per_point=THB_PER_POINT)
    purchase_cols, purchase_vals, purchase_defaults = common.insert_columns(
        Purchase,
        {
            "shop_id": "%(shop)s",
            "public_id": "%(uuid1)s",
            "member_id": "%(member)s",
            "branch_id": "%(branch)s",
            "channel": "'store'",
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
            "actor_kind": "'staff'",
            "created_by_id": "%(user)s",
            "branch_id": "%(branch)s",
            "channel": "'store'",
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
    audit_cols, audit_vals, audit_defaults = common.insert_columns(
        StaffAction,
        {
            "shop_id": "%(shop)s",
            "user_id": "%(user)s",
            "username": "%(username)s",
            "branch_id": "%(branch)s",
            "kind": "'points_add'",
            "object_type": "'ledgerentry'",
            "object_id": "%(uuid2)s",
            "object_repr": "'bench'",
            "detail": "%(detail)s",
            "ip_address": "'127.0.0.1'",
            "user_agent": "%(ua)s",
            "created_at": "%(now)s",
        },
    )
    member = common.table(Member)
    lock_sql = f"SELECT balance, debt FROM {member} WHERE id = %(member)s FOR NO KEY UPDATE"
    purchase_sql = (
        f"INSERT INTO {common.table(Purchase)} ({purchase_cols}) VALUES ({purchase_vals}) "
        "RETURNING id"
    )
    entry_sql = (
        f"INSERT INTO {common.table(LedgerEntry)} ({entry_cols}) VALUES ({entry_vals}) RETURNING id"
    )
    lot_sql = f"INSERT INTO {common.table(PointLot)} ({lot_cols}) VALUES ({lot_vals})"
    update_sql = (
        f"UPDATE {member} SET balance = balance + %(points)s, updated_at = %(now)s "
        "WHERE id = %(member)s"
    )
    audit_sql = f"INSERT INTO {common.table(StaffAction)} ({audit_cols}) VALUES ({audit_vals})"
    defaults = {**purchase_defaults, **entry_defaults, **lot_defaults, **audit_defaults}
    today = timezone.localdate()
    expires = rules.expiry_date_for(today, mode=shop.expiry_mode, months=shop.expiry_months)
    detail = f'{{"amount": "{AMOUNT}", "points": {points}}}'

    def client(i: int, phase: Phase) -> None:
        rnd = random.Random(1000 + i)
        user = users[i]
        latencies, errors = phase.latencies[i], phase.errors[i]
        with psycopg.connect(**conninfo, autocommit=True) as conn, conn.cursor() as cur:
            phase.barrier.wait()
            while True:
                start = time.perf_counter()
                if start >= phase.stop:
                    break
                p = {
                    **defaults,
                    "shop": shop.pk,
                    "branch": branch.pk,
                    "user": user.pk,
                    "username": user.username,
                    "member": rnd.choice(member_ids),
                    "amount": AMOUNT,
                    "points": points,
                    "now": timezone.now(),
                    "uuid1": uuid.uuid4(),
                    "uuid2": uuid.uuid4(),
                    "key": f"staff:{uuid.uuid4()}",
                    "fingerprint": uuid.uuid4().hex,
                    "today": today,
                    "expires": expires,
                    "detail": detail,
                    "ua": USER_AGENT,
                }
                try:
                    with conn.transaction():
                        balance, _debt = cur.execute(lock_sql, p).fetchone()
                        p["purchase"] = cur.execute(purchase_sql, p).fetchone()[0]
                        p["balance_after"] = balance + points
                        p["entry"] = cur.execute(entry_sql, p).fetchone()[0]
                        cur.execute(lot_sql, p)
                        cur.execute(update_sql, p)
                        cur.execute(audit_sql, p)
                except psycopg.Error as exc:
                    errors[type(exc).__name__] += 1
                    continue
                took = time.perf_counter() - start
                if start >= phase.start_measuring:
                    latencies.append(took)

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
    common.require_postgresql()
    drop_leftovers()
    workers = workers or common.default_workers()
    result = {
        "benchmark": "staff_add_points",
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
        shop, branch, users, seeded = seed(members, clients)
    try:
        log_path = Path(tempfile.gettempdir()) / f"bench-gunicorn-staff-{os.getpid()}.log"
        # Templates name static files; without a collectstatic manifest, plain storage will do.
        before = os.environ.get("STATIC_MANIFEST")
        os.environ.setdefault("STATIC_MANIFEST", "false")
        try:
            proc, port = start_gunicorn(workers, log_path)
        finally:
            if before is None:
                os.environ.pop("STATIC_MANIFEST", None)
        try:
            wait_until_serving(proc, port, users[0].username, log_path)
            # Signing in (a slow password hash by design) happens before the clock starts.
            phones = [Phone(port, u.username) for u in users]
            result["staff_app"] = Phase(clients, warmup, seconds).run(
                staff_client(phones, [u for _pk, u in seeded])
            )
        finally:
            stop_gunicorn(proc)
        result["raw"] = Phase(clients, warmup, seconds).run(
            raw_client(common.psycopg_conninfo(), shop, branch, users, [pk for pk, _u in seeded])
        )
        result["invariants"] = common.check_invariants(shop.pk)
    finally:
        with common.stopwatch(timings, "cleanup_s"):
            drop(shop.pk)
    app, raw = result["staff_app"], result["raw"]
    result["ratio"] = app["ops_per_s"] / raw["ops_per_s"] if raw["ops_per_s"] else 0.0
    result["p99_ratio"] = app["p99_ms"] / raw["p99_ms"] if raw["p99_ms"] else 0.0
    result["timings"] = timings
    result["machine"]["load_after"] = common.loadavg()
    return result


def report(result: dict) -> str:
    app, raw, p = result["staff_app"], result["raw"], result["params"]
    rows = [
        (
            "staff app (gunicorn)",
            app["ops_per_s"],
            app["p50_ms"],
            app["p99_ms"],
            app["ops"],
            common.errors_text(app),
        ),
        (
            "raw psycopg txn",
            raw["ops_per_s"],
            raw["p50_ms"],
            raw["p99_ms"],
            raw["ops"],
            common.errors_text(raw),
        ),
    ]
    table = common.format_table(
        f"staff add points: {p['clients']} phones × {p['seconds']:g} s, {p['members']:,} members, "
        f"{p['gunicorn_workers']} gunicorn workers",
        ["", "ops/s", "p50 ms", "p99 ms", "ops", "errors"],
        rows,
    )
    m = result["machine"]
    return (
        f"{table}\n"
        f"throughput staff app / raw = {result['ratio']:.2f}; "
        f"p99 staff app / raw = {result['p99_ratio']:.1f}×\n"
        f"invariants: {'ok' if result['invariants']['ok'] else result['invariants']}\n"
        f"load average before {m['load_before']}, after {m['load_after']}"
    )


def main(argv: list[str] | None = None) -> dict:
    return common.load_main(argv, doc=__doc__, run=run, report=report)


if __name__ == "__main__":
    main()
