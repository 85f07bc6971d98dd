"""Redeeming one hot reward through the Open API, against the raw writes it has to make.

1. ``POST /api/v1/redemptions`` on gunicorn (production settings, ``cores × 2`` sync workers) from
   ``--clients`` threads for ``--seconds``, each request with its own ``Idempotency-Key``, all for
   ONE reward (a code used in the store) whose stock is larger than the run can take. Client ``i``
   redeems for members drawn at random from its own share of ``--members`` seeded members (each
   with three lots of 20,000 points, 12-month expiry), so no two clients ever hold the same member:
   the one row they all write is the reward's.
2. The physical limit, in the same run: the same writes as one raw psycopg transaction per
   redemption (lock the member row, read its open lots, insert the ``redeem`` entry and its
   allocation, update the lot and the balance, take one from stock with a conditional UPDATE of the
   reward row, insert the redemption and the coupon), same tables and indexes, same number of
   threads and seconds.
3. The same raw transaction with the reward row locked right after the member, where
   ``rewards.services.reward_redeem`` locks it (lock order Member → Reward): what the place of the
   hot row's lock costs at the physical level.

During each phase the PostgreSQL sessions of that side are sampled: how many wait for a lock (the
hot row: members are never shared). Afterwards: the stock fell by exactly the number of successful
redemptions of all phases (warm-up included), one coupon and one ``redeem`` entry per redemption,
and the ledger's invariants hold.

Prints redemptions/s, p50 and p99 of each, CPU per redemption, the ratio API / raw.

    .venv/bin/python bench/redeem.py [--seconds 20] [--clients 8] [--members 10000] [--json PATH]
"""

from __future__ import annotations

import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common
from bench import earn_api
from bench.earn_api import (
    Phase,
    child_pids,
    database_backend_pids,
    start_gunicorn,
    stop_gunicorn,
    wait_until_serving,
)

COST = 100
LOT_POINTS = 20_000
LOTS_PER_MEMBER = 3
# Far more than any run takes (the raw transaction does a few thousand a second), so the stock
# never runs out and every request is a redemption.
STOCK = 10_000_000
REWARD_NAME = "Bench hot reward"
REWARD_TERMS = "One per visit. Not exchangeable for cash."
# gunicorn's sessions carry earn_api's name (its ``start_gunicorn`` sets it).
API_APP_NAME = earn_api.APP_NAME
RAW_APP_NAME = "bench-redeem-raw"
RAW_LOCK_FIRST_APP_NAME = "bench-redeem-raw-lock-first"
SAMPLER_APP_NAME = "bench-redeem-sampler"


class OutOfStockError(Exception):
    """The raw transaction's conditional UPDATE took nothing: roll back (never expected here)."""


class NotEnoughPointsError(Exception):
    """The raw transaction found too few spendable points: roll back (never expected here)."""


# --- seed ---------------------------------------------------------------------------------------


def seed(members: int):
    """A shop with 12-month expiry, an API key, one reward with a large stock, and ``members``
    registered members, each with ``LOTS_PER_MEMBER`` ``import`` credits (entry and lot) earned 3,
    2 and 1 months ago; balances = sums."""
    from django.db import connection
    from django.utils import timezone

    from members.ledger.models import LedgerEntry, PointLot
    from members.models import Member
    from rewards.models import Reward
    from shops.apikeys import api_key_create

    shop = common.create_shop(
        "redeem", expiry_mode="months_after", expiry_months=12, tiers_enabled=False
    )
    api_key, token = api_key_create(shop=shop, name="bench")
    reward = Reward.objects.create(
        shop=shop,
        kind=Reward.Kind.AUTO_CODE,
        name=REWARD_NAME,
        points_cost=COST,
        stock=STOCK,
        terms=REWARD_TERMS,
    )
    now = timezone.now()
    member, entry, lot = common.table(Member), common.table(LedgerEntry), common.table(PointLot)
    p = {
        "shop": shop.pk,
        "now": now,
        "today": timezone.localdate(),
        "members": members,
        "lots": LOTS_PER_MEMBER,
        "lot_points": LOT_POINTS,
    }
    with connection.cursor() as cursor:
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
                "points": "%(lot_points)s",
                "balance_after": "src.k * %(lot_points)s",
                "idempotency_key": "'seed:' || src.member_id || ':' || src.k",
                "actor_kind": "'system'",
                "channel": "'import'",
                "note": "'bench seed'",
                "created_at": "(src.earned_on + time '12:00') AT TIME ZONE 'Asia/Bangkok'",
            },
        )
        # Credit k (1 = oldest) earned 30 × (lots + 1 − k) days ago: oldest first in time, so each
        # entry's balance_after is the running sum.
        cursor.execute(
            f"""
            INSERT INTO {entry} ({cols})
            SELECT {exprs} FROM (
                SELECT m.id AS member_id, k,
                       %(today)s::date - 30 * (%(lots)s + 1 - k) AS earned_on
                FROM {member} m CROSS JOIN generate_series(1, %(lots)s) AS k
                WHERE m.shop_id = %(shop)s
            ) src
            ORDER BY src.earned_on, src.member_id
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
    ids = list(Member.objects.filter(shop=shop).order_by("pk").values_list("pk", "public_id"))
    return shop, api_key, token, reward, [(pk, str(public_id)) for pk, public_id in ids]


def shares(items: list, clients: int) -> list[list]:
    """Client ``i``'s own members: every ``clients``-th, so no two clients hold the same one."""
    return [items[i::clients] for i in range(clients)]


def drop(shop_id: int) -> None:
    """Remove the bench shop with its reward, redemptions and coupons (one transaction: the
    redemptions point at the ledger's entries)."""
    from django.db import connection, transaction

    from rewards.models import Coupon, Delivery, Redemption, Reward, RewardCode, SpotCode

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (Coupon, Delivery, SpotCode, RewardCode, Redemption):
            cursor.execute(f"DELETE FROM {common.table(model)} WHERE shop_id = %s", [shop_id])
        cursor.execute(
            f"DELETE FROM {common.table(Reward.allowed_tiers.through)} WHERE reward_id IN "
            f"(SELECT id FROM {common.table(Reward)} WHERE shop_id = %s)",
            [shop_id],
        )
        cursor.execute(f"DELETE FROM {common.table(Reward)} WHERE shop_id = %s", [shop_id])
        common.drop_shop(shop_id)


def drop_leftovers() -> None:
    from shops.models import Shop

    for pk in Shop.objects.filter(slug__startswith=f"{common.SHOP_SLUG_PREFIX}redeem-").values_list(
        "pk", flat=True
    ):
        drop(pk)


# --- what the database sessions do --------------------------------------------------------------


class LockSampler:
    """Samples, every ``interval`` seconds inside a phase's measured window, the PostgreSQL
    sessions named ``application_name``: how many exist, how many are inside a transaction, how
    many wait for a heavyweight lock (here: the hot reward row; members are never shared).

    The share of samples with a waiter is a lower bound of the time the hot row is held: while one
    session waits for it, another holds it."""

    def __init__(self, conninfo: dict, application_name: str, phase: Phase, interval: float = 0.05):
        self.conninfo, self.name, self.phase, self.interval = (
            conninfo,
            application_name,
            phase,
            interval,
        )
        self.samples: list[tuple[int, int, int]] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.thread.join()

    def _run(self) -> None:
        import psycopg

        query = """
            SELECT count(*),
                   count(*) FILTER (WHERE xact_start IS NOT NULL),
                   count(*) FILTER (WHERE wait_event_type = 'Lock')
            FROM pg_stat_activity
            WHERE application_name = %s AND datname = current_database()
        """
        with psycopg.connect(
            **self.conninfo, autocommit=True, application_name=SAMPLER_APP_NAME
        ) as conn:
            while True:
                now = time.perf_counter()
                if now >= self.phase.stop or self.phase.ended.is_set():
                    break
                if now >= self.phase.start_measuring:
                    self.samples.append(conn.execute(query, [self.name]).fetchone())
                time.sleep(self.interval)

    def result(self) -> dict:
        n = len(self.samples)
        if not n:
            return {
                "samples": 0,
                "sessions": 0.0,
                "in_transaction": 0.0,
                "waiting_for_lock": 0.0,
                "share_with_waiter": 0.0,
            }
        return {
            "samples": n,
            "sessions": sum(s[0] for s in self.samples) / n,
            "in_transaction": sum(s[1] for s in self.samples) / n,
            "waiting_for_lock": sum(s[2] for s in self.samples) / n,
            "share_with_waiter": sum(1 for s in self.samples if s[2]) / n,
        }


def run_phase(phase: Phase, target, *, cpu: dict, application_name: str) -> dict:
    with LockSampler(common.psycopg_conninfo(), application_name, phase) as sampler:
        result = phase.run(target, cpu=cpu)
    result["sessions"] = sampler.result()
    return result


# --- load ---------------------------------------------------------------------------------------


def api_client(port: int, token: str, reward_uuid: str, member_shares: list[list[str]], done):
    """POST /api/v1/redemptions for the client's own members; ``done[i]`` counts every 201,
    warm-up included (for the stock check)."""

    def client(i: int, phase: Phase) -> None:
        rnd = random.Random(i)
        bodies = [json.dumps({"member_id": u, "reward_id": reward_uuid}) for u in member_shares[i]]
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
                conn.request("POST", "/api/v1/redemptions", rnd.choice(bodies), headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                errors[type(exc).__name__] += 1
                continue
            took = time.perf_counter() - start
            if response.status == 201:
                done[i] += 1
            if start < phase.start_measuring:
                continue
            if response.status == 201:
                latencies.append(took)
            else:
                errors[str(response.status)] += 1
        conn.close()

    return client


def raw_client(
    conninfo: dict,
    shop,
    reward,
    api_key_id: int,
    member_shares: list[list[int]],
    done,
    *,
    lock_reward_first: bool,
    application_name: str,
):
    """One redemption as the minimal transaction: the writes of ``reward_redeem`` (with
    ``points_spend``'s debit) and nothing else. The reward's name, kind, terms and cost are the
    seeded constants (the service reads them from the locked row to check its rules and take the
    snapshot)."""
    import datetime as dt

    import psycopg
    from django.utils import timezone

    from members.ledger.models import LedgerEntry, LotAllocation, PointLot
    from members.models import Member
    from rewards.models import Coupon, Redemption, Reward
    from rewards.rules import new_code

    entry_cols, entry_vals, entry_defaults = common.insert_columns(
        LedgerEntry,
        {
            "shop_id": "%(shop)s",
            "public_id": "%(uuid1)s",
            "member_id": "%(member)s",
            "kind": "'redeem'",
            "points": "%(debit)s",
            "balance_after": "%(balance_after)s",
            "idempotency_key": "%(entry_key)s",
            "fingerprint": "%(fingerprint)s",
            "actor_kind": "'api'",
            "api_key_id": "%(api_key)s",
            "channel": "'api'",
            "note": "%(name)s",
            "reference": "%(name)s",
            "created_at": "%(now)s",
        },
    )
    alloc_cols, alloc_vals, alloc_defaults = common.insert_columns(
        LotAllocation,
        {"debit_id": "%(entry)s", "lot_id": "%(lot)s", "points": "%(take)s"},
    )
    redemption_cols, redemption_vals, redemption_defaults = common.insert_columns(
        Redemption,
        {
            "shop_id": "%(shop)s",
            "public_id": "%(uuid2)s",
            "member_id": "%(member)s",
            "reward_id": "%(reward)s",
            "points": "%(cost)s",
            "entry_id": "%(entry)s",
            "status": "'completed'",
            "idempotency_key": "%(key)s",
            "fingerprint": "%(fingerprint)s",
            "reward_name": "%(name)s",
            "reward_kind": "%(kind)s",
            "reward_image": "''",
            "reward_terms": "%(terms)s",
            "created_at": "%(now)s",
        },
    )
    coupon_cols, coupon_vals, coupon_defaults = common.insert_columns(
        Coupon,
        {
            "shop_id": "%(shop)s",
            "redemption_id": "%(redemption)s",
            "member_id": "%(member)s",
            "code": "%(code)s",
            "external_code": "''",
            "status": "'issued'",
            "expires_on": "%(coupon_expires)s",
            "created_at": "%(now)s",
        },
    )
    member, lot, reward_table = common.table(Member), common.table(PointLot), common.table(Reward)
    lock_member_sql = f"SELECT balance, debt FROM {member} WHERE id = %(member)s FOR NO KEY UPDATE"
    lock_reward_sql = f"SELECT id FROM {reward_table} WHERE id = %(reward)s FOR NO KEY UPDATE"
    # The open, spendable lots in spending order (nearest expiry first, never-expiring last).
    lots_sql = (
        f"SELECT id, remaining FROM {lot} WHERE member_id = %(member)s AND remaining > 0 "
        "AND (expires_on IS NULL OR expires_on >= %(today)s) AND available_on <= %(today)s "
        "ORDER BY expires_on ASC NULLS LAST, id"
    )
    entry_sql = (
        f"INSERT INTO {common.table(LedgerEntry)} ({entry_cols}) VALUES ({entry_vals}) RETURNING id"
    )
    alloc_sql = f"INSERT INTO {common.table(LotAllocation)} ({alloc_cols}) VALUES ({alloc_vals})"
    lot_sql = f"UPDATE {lot} SET remaining = remaining - %(take)s WHERE id = %(lot)s"
    balance_sql = (
        f"UPDATE {member} SET balance = balance - %(cost)s, updated_at = %(now)s "
        "WHERE id = %(member)s"
    )
    stock_sql = f"UPDATE {reward_table} SET stock = stock - 1 WHERE id = %(reward)s AND stock > 0"
    redemption_sql = (
        f"INSERT INTO {common.table(Redemption)} ({redemption_cols}) VALUES ({redemption_vals}) "
        "RETURNING id"
    )
    coupon_sql = f"INSERT INTO {common.table(Coupon)} ({coupon_cols}) VALUES ({coupon_vals})"
    defaults = {**entry_defaults, **alloc_defaults, **redemption_defaults, **coupon_defaults}
    today = timezone.localdate()
    days = reward.coupon_validity_days or shop.coupon_validity_days
    constants = {
        **defaults,
        "shop": shop.pk,
        "reward": reward.pk,
        "api_key": api_key_id,
        "cost": COST,
        "debit": -COST,
        "name": reward.name,
        "kind": reward.kind,
        "terms": reward.terms,
        "today": today,
        "coupon_expires": today + dt.timedelta(days=days - 1),
    }

    def client(i: int, phase: Phase) -> None:
        rnd = random.Random(1000 + i)
        mine = member_shares[i]
        latencies, errors = phase.latencies[i], phase.errors[i]
        with (
            psycopg.connect(**conninfo, autocommit=True, application_name=application_name) as conn,
            conn.cursor() as cur,
        ):
            phase.barrier.wait()
            while True:
                start = time.perf_counter()
                if start >= phase.stop:
                    break
                key = f"raw:{uuid.uuid4().hex}"
                p = {
                    **constants,
                    "member": rnd.choice(mine),
                    "now": timezone.now(),
                    "uuid1": uuid.uuid4(),
                    "uuid2": uuid.uuid4(),
                    "key": key,
                    "entry_key": f"redeem:{key}",
                    "fingerprint": uuid.uuid4().hex,
                    "code": new_code(),
                }
                try:
                    with conn.transaction():
                        balance, debt = cur.execute(lock_member_sql, p).fetchone()
                        if lock_reward_first:
                            cur.execute(lock_reward_sql, p)
                        lots = cur.execute(lots_sql, p).fetchall()
                        if sum(r for _id, r in lots) - debt < COST or debt:
                            raise NotEnoughPointsError
                        p["balance_after"] = balance - COST
                        p["entry"] = cur.execute(entry_sql, p).fetchone()[0]
                        left = COST
                        for lot_id, remaining in lots:
                            if left == 0:
                                break
                            p["lot"], p["take"] = lot_id, min(left, remaining)
                            left -= p["take"]
                            cur.execute(alloc_sql, p)
                            cur.execute(lot_sql, p)
                        cur.execute(balance_sql, p)
                        if cur.execute(stock_sql, p).rowcount != 1:
                            raise OutOfStockError
                        p["redemption"] = cur.execute(redemption_sql, p).fetchone()[0]
                        cur.execute(coupon_sql, p)
                except (psycopg.Error, OutOfStockError, NotEnoughPointsError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                took = time.perf_counter() - start
                done[i] += 1
                if start >= phase.start_measuring:
                    latencies.append(took)
            phase.ended.wait(timeout=60)

    return client


# --- checks -------------------------------------------------------------------------------------


def check(shop_id: int, reward_id: int, successes: int) -> dict:
    """Stock, redemptions, coupons and entries agree with the successful requests, and the
    ledger's invariants hold."""
    from django.db import connection

    from members.ledger.models import LedgerEntry, LotAllocation
    from rewards.models import Coupon, Redemption, Reward

    p = {"shop": shop_id, "reward": reward_id}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT stock FROM {common.table(Reward)} WHERE id = %(reward)s", p)
        stock = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT count(*), COALESCE(SUM(points), 0) FROM {common.table(Redemption)} "
            "WHERE shop_id = %(shop)s AND status = 'completed'",
            p,
        )
        redemptions, redeemed_points = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM {common.table(Coupon)} WHERE shop_id = %(shop)s", p)
        coupons = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT count(*), COALESCE(SUM(points), 0) FROM {common.table(LedgerEntry)} "
            "WHERE shop_id = %(shop)s AND kind = 'redeem'",
            p,
        )
        entries, entry_points = cursor.fetchone()
        cursor.execute(
            f"SELECT COALESCE(SUM(a.points), 0) FROM {common.table(LotAllocation)} a "
            f"JOIN {common.table(LedgerEntry)} d ON d.id = a.debit_id "
            "WHERE d.shop_id = %(shop)s AND d.kind = 'redeem'",
            p,
        )
        allocated = cursor.fetchone()[0]
    taken = STOCK - stock
    result = {
        "successful_requests": successes,
        "stock_taken": taken,
        "stock_left": stock,
        "redemptions": redemptions,
        "coupons": coupons,
        "redeem_entries": entries,
        "invariants": common.check_invariants(shop_id),
    }
    result["ok"] = (
        taken == successes == redemptions == coupons == entries
        and stock > 0
        and int(redeemed_points) == COST * redemptions
        and int(entry_points) == -COST * redemptions
        and int(allocated) == COST * redemptions
        and result["invariants"]["ok"]
    )
    return result


# --- the benchmark ------------------------------------------------------------------------------


def run(
    *,
    seconds: float = 20.0,
    clients: int = 8,
    members: int = 10_000,
    workers: int | None = None,
    warmup: float = 3.0,
) -> dict:
    """Run the three phases on Django's current database and return the results (module doc)."""
    from loyalty.models import IdempotencyRecord
    from members.ledger.models import LedgerEntry, LotAllocation, PointLot
    from members.models import Member
    from rewards.models import Coupon, Redemption, Reward

    common.require_postgresql()
    if members < clients:
        raise ValueError("each client needs members of its own: members ≥ clients")
    drop_leftovers()
    workers = workers or common.default_workers()
    result = {
        "benchmark": "redeem",
        "machine": common.machine(),
        "params": {
            "seconds": seconds,
            "clients": clients,
            "members": members,
            "gunicorn_workers": workers,
            "warmup_seconds": warmup,
            "points_cost": COST,
            "lots_per_member": LOTS_PER_MEMBER,
            "stock": STOCK,
        },
    }
    timings: dict = {}
    with common.stopwatch(timings, "seed_s"):
        shop, api_key, token, reward, seeded = seed(members)
        # Statistics as on a database in steady state, whatever an earlier benchmark left behind.
        common.vacuum_analyze(
            Member,
            LedgerEntry,
            PointLot,
            LotAllocation,
            Reward,
            Redemption,
            Coupon,
            IdempotencyRecord,
        )
    api_done, raw_done, first_done = [0] * clients, [0] * clients, [0] * clients
    try:
        log_path = Path(tempfile.gettempdir()) / f"bench-gunicorn-redeem-{os.getpid()}.log"
        proc, port = start_gunicorn(workers, log_path)
        try:
            wait_until_serving(proc, port, token, log_path)
            result["api"] = run_phase(
                Phase(clients, warmup, seconds),
                api_client(
                    port,
                    token,
                    str(reward.public_id),
                    shares([u for _pk, u in seeded], clients),
                    api_done,
                ),
                cpu={
                    "app": lambda: child_pids(proc.pid),
                    "db": lambda: database_backend_pids(API_APP_NAME),
                },
                application_name=API_APP_NAME,
            )
        finally:
            stop_gunicorn(proc)
        member_pks = shares([pk for pk, _u in seeded], clients)
        for key, done, lock_first, name in (
            ("raw", raw_done, False, RAW_APP_NAME),
            ("raw_lock_first", first_done, True, RAW_LOCK_FIRST_APP_NAME),
        ):
            result[key] = run_phase(
                Phase(clients, warmup, seconds),
                raw_client(
                    common.psycopg_conninfo(),
                    shop,
                    reward,
                    api_key.pk,
                    member_pks,
                    done,
                    lock_reward_first=lock_first,
                    application_name=name,
                ),
                cpu={"app": list, "db": lambda name=name: database_backend_pids(name)},
                application_name=name,
            )
        result["checks"] = check(shop.pk, reward.pk, sum(api_done + raw_done + first_done))
    finally:
        with common.stopwatch(timings, "cleanup_s"):
            drop(shop.pk)
    api, raw, first = result["api"], result["raw"], result["raw_lock_first"]
    result["ratio"] = api["ops_per_s"] / raw["ops_per_s"] if raw["ops_per_s"] else 0.0
    result["lock_first_ratio"] = first["ops_per_s"] / raw["ops_per_s"] if raw["ops_per_s"] else 0.0
    result["timings"] = timings
    result["machine"]["load_after"] = common.loadavg()
    return result


def report(result: dict) -> str:
    p = result["params"]
    rows = [
        ("API (gunicorn)", *_row(result["api"])),
        ("raw psycopg txn", *_row(result["raw"])),
        ("raw, reward locked first", *_row(result["raw_lock_first"])),
    ]
    table = common.format_table(
        f"redeem one hot reward: {p['clients']} clients × {p['seconds']:g} s, "
        f"{p['members']:,} members ({p['members'] // p['clients']:,}+ per client), "
        f"{p['gunicorn_workers']} gunicorn workers",
        [
            "",
            "redemptions/s",
            "p50 ms",
            "p99 ms",
            "ops",
            "errors",
            "sessions",
            "waiting for lock",
            "% time with a waiter",
            "CPU ms/op: app",
            "db",
            "clients",
        ],
        rows,
    )
    m, c = result["machine"], result["checks"]
    checks = (
        "ok"
        if c["ok"]
        else json.dumps({k: v for k, v in c.items() if k != "ok"}, default=str, indent=None)
    )
    return (
        f"{table}\n"
        f"ratio API / raw = {result['ratio']:.2f}; "
        f"raw with the reward locked first / raw = {result['lock_first_ratio']:.2f}\n"
        f"checks: {checks} ({c['stock_taken']:,} taken from stock = {c['redemptions']:,} "
        f"redemptions = {c['coupons']:,} coupons, warm-up included)\n"
        f"load average before {m['load_before']}, after {m['load_after']}"
    )


def _row(phase: dict) -> tuple:
    cpu = phase.get("cpu_ms_per_op", {})
    s = phase["sessions"]
    return (
        phase["ops_per_s"],
        phase["p50_ms"],
        phase["p99_ms"],
        phase["ops"],
        common.errors_text(phase),
        s["sessions"],
        s["waiting_for_lock"],
        100 * s["share_with_waiter"],
        *(cpu.get(k, "-") for k in ("app", "db", "clients")),
    )


def main(argv: list[str] | None = None) -> dict:
    return common.load_main(argv, doc=__doc__, run=run, report=report)


if __name__ == "__main__":
    main()
