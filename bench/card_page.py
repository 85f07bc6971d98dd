"""The member card page, against the framework floor on the same server in the same run.

1. ``GET /m/<shop>/card/`` on gunicorn (production settings, ``cores × 2`` sync workers) from
   ``--clients`` threads for ``--seconds``: each thread is a member's phone with a signed-in
   session, members drawn from ``--members`` registered members of a shop with 3 tiers, a seasonal
   card background and 12-month expiry, each with ``--history`` purchases. A member's first card
   view of a minute issues a one-time QR code (an INSERT); later views within the minute show the
   same code. Every view renders the code as an inline SVG.
2. The framework floor, in the same run on the same gunicorn with the same clients:
   ``GET /bench/floor/member/<public id>`` (``bench/floor_wsgi.py``), a minimal Django view that
   reads one member row through the same middleware and answers it as text.

Prints requests/s, p50 and p99 of both, their ratio (target ≥ 0.3) and the card's queries
(target ≤ 4; counted in this process with Django's test client, for a first view and a reload).

    .venv/bin/python bench/card_page.py [--seconds 20] [--clients 8] [--members 100] [--history 60]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common
from bench import earn_api
from bench.earn_api import Phase, stop_gunicorn

TARGET_RATIO = 0.3
TARGET_QUERIES = 4
AMOUNT = Decimal("250.00")


# --- seed ---------------------------------------------------------------------------------------


def seed(members: int, history: int):
    """The shop, its members with ``history`` purchases each (through the ledger service), and a
    signed-in session per member (what ``members.member_auth.sign_in`` stores)."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from members.ledger import services as ledger
    from members.ledger.actors import Actor
    from members.models import Member
    from shops.models import SeasonalBackground, Tier

    shop = common.create_shop(
        "card",
        thb_per_point=Decimal("25.00"),
        expiry_mode="months_after",
        expiry_months=12,
        tiers_enabled=True,
    )
    Tier.objects.bulk_create(
        [
            Tier(shop=shop, name="Member", threshold=0, colour="#9CA3AF"),
            Tier(shop=shop, name="Silver", threshold=1000, colour="#6B7280"),
            Tier(shop=shop, name="Gold", threshold=5000, colour="#D4A017"),
        ]
    )
    entry_tier = Tier.objects.get(shop=shop, threshold=0)
    today = timezone.localdate()
    SeasonalBackground.objects.create(
        shop=shop,
        name="Bench season",
        image="shops/bench/season.jpg",
        starts_on=today - dt.timedelta(days=10),
        ends_on=today + dt.timedelta(days=10),
    )
    now = timezone.now()
    Member.objects.bulk_create(
        Member(
            shop=shop,
            phone=f"+668{i:08d}",
            first_name=f"Member{i}",
            last_name="Bench",
            line_user_id=f"U{uuid.uuid4().hex}",
            status=Member.Status.REGISTERED,
            registered_at=now,
            tier=entry_tier,
        )
        for i in range(members)
    )
    seeded = list(Member.objects.filter(shop=shop))
    actor = Actor.system(channel="store")
    for member in seeded:
        for n in range(history):
            ledger.points_earn(
                shop=shop,
                member=member,
                amount=AMOUNT,
                idempotency_key=f"bench-card-{member.pk}-{n}",
                actor=actor,
            )
    sessions = []
    for member in seeded:
        store = SessionStore()
        store[f"member:{shop.slug}"] = {
            "shop": shop.pk,
            "line": member.line_user_id,
            "name": member.first_name,
            "picture": "",
            "at": time.time(),
        }
        store.create()
        sessions.append(store.session_key)
    common.vacuum_analyze(Member)
    return shop, sessions, [str(member.public_id) for member in seeded]


def cleanup(shop_id: int, sessions: list[str]) -> None:
    from django.contrib.sessions.models import Session

    from members.qr_models import MemberCode
    from shops.models import SeasonalBackground

    MemberCode.objects.filter(shop_id=shop_id).delete()
    SeasonalBackground.objects.filter(shop_id=shop_id).delete()
    Session.objects.filter(session_key__in=sessions).delete()
    common.drop_shop(shop_id)


# --- gunicorn -----------------------------------------------------------------------------------


def start_gunicorn(workers: int, log_path: Path) -> tuple[subprocess.Popen, int]:
    """The card and the framework floor (``bench.floor_wsgi``) on the earn benchmark's gunicorn."""
    from django.conf import settings

    return earn_api.start_gunicorn(
        workers,
        log_path,
        app=earn_api.FLOOR_APP,
        application_name="bench-card",
        env={
            # The sessions were signed with this process's key (the test settings' in pytest).
            "SECRET_KEY": settings.SECRET_KEY,
            "SECURE_COOKIES": "false",
            "STATIC_MANIFEST": "false",
        },
    )


def _get(port: int, path: str, session: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": f"sessionid={session}"} if session else {}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def wait_until_serving(
    proc, port: int, card: str, session: str, floor: str, log_path: Path
) -> None:
    """Until the workers answer both pages with 200 and the card shows a QR code."""
    deadline = time.monotonic() + 60
    answered = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            status, body = _get(port, card, session)
            if status != 200 or b"member-qr-svg" not in body:
                raise RuntimeError(f"the card answered {status}:\n{body[:2000]!r}")
            status, body = _get(port, floor)
            if status != 200:
                raise RuntimeError(f"the floor view answered {status}")
            answered += 1
            if answered >= 10:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer in 60 s:\n{log_path.read_text()[-3000:]}")


def page_client(port: int, paths_and_sessions: list[tuple[str, str | None]], check: bytes):
    """A phone: GETs of a page with its session cookie, one connection per request (gunicorn's
    sync workers close it after each answer, as behind a proxy)."""

    def client(i: int, phase: Phase) -> None:
        rnd = random.Random(i)
        latencies, errors = phase.latencies[i], phase.errors[i]
        phase.barrier.wait()
        while True:
            start = time.perf_counter()
            if start >= phase.stop:
                break
            path, session = rnd.choice(paths_and_sessions)
            try:
                status, body = _get(port, path, session)
            except (OSError, http.client.HTTPException) as exc:
                errors[type(exc).__name__] += 1
                continue
            took = time.perf_counter() - start
            if start < phase.start_measuring:
                continue
            if status == 200 and check in body:
                latencies.append(took)
            else:
                errors[str(status)] += 1

    return client


def card_queries(shop, session_key: str) -> list[int]:
    """The queries of a member's first card view (with the new QR code's INSERT) and of a reload
    within the minute, counted in this process with Django's test client."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    counts = []
    for _view in ("first", "reload"):
        with CaptureQueriesContext(connection) as captured:
            # As HTTPS: whatever this process's settings say about redirecting plain HTTP, the
            # card itself is rendered (not a 301).
            response = client.get(f"/m/{shop.slug}/card/", secure=True)
        assert response.status_code == 200, response.status_code
        counts.append(len(captured))
    return counts


# --- the benchmark ------------------------------------------------------------------------------


def run(
    *,
    seconds: float = 20.0,
    clients: int = 8,
    members: int = 100,
    history: int = 60,
    workers: int | None = None,
    warmup: float = 3.0,
) -> dict:
    common.require_postgresql()
    common.drop_leftovers("card")
    workers = workers or common.default_workers()
    result = {
        "benchmark": "card_page",
        "machine": common.machine(),
        "params": {
            "seconds": seconds,
            "clients": clients,
            "members": members,
            "history_per_member": history,
            "gunicorn_workers": workers,
            "warmup_seconds": warmup,
        },
    }
    timings: dict = {}
    with common.stopwatch(timings, "seed_s"):
        shop, sessions, public_ids = seed(members, history)
    try:
        card = f"/m/{shop.slug}/card/"
        floors = [f"/bench/floor/member/{public_id}" for public_id in public_ids]
        first, reload = card_queries(shop, sessions[0])
        result["card_queries"] = max(first, reload)
        result["card_queries_first_view"], result["card_queries_reload"] = first, reload
        log_path = Path(tempfile.gettempdir()) / f"bench-card-gunicorn-{os.getpid()}.log"
        proc, port = start_gunicorn(workers, log_path)
        try:
            wait_until_serving(proc, port, card, sessions[0], floors[0], log_path)
            result["floor"] = Phase(clients, warmup, seconds).run(
                page_client(port, [(f, None) for f in floors], b"Member")
            )
            result["card"] = Phase(clients, warmup, seconds).run(
                page_client(port, [(card, s) for s in sessions], b"member-qr-svg")
            )
        finally:
            stop_gunicorn(proc)
    finally:
        with common.stopwatch(timings, "cleanup_s"):
            cleanup(shop.pk, sessions)
    card_r, floor = result["card"], result["floor"]
    result["ratio"] = card_r["ops_per_s"] / floor["ops_per_s"] if floor["ops_per_s"] else 0.0
    result["targets"] = {
        "ratio_min": TARGET_RATIO,
        "ratio_met": result["ratio"] >= TARGET_RATIO,
        "queries_max": TARGET_QUERIES,
        "queries_met": result["card_queries"] <= TARGET_QUERIES,
    }
    result["timings"] = timings
    result["machine"]["load_after"] = common.loadavg()
    return result


def report(result: dict) -> str:
    card, floor, t = result["card"], result["floor"], result["targets"]
    rows = [
        [
            "floor: Django view, one member row",
            floor["ops_per_s"],
            floor["p50_ms"],
            floor["p99_ms"],
        ],
        ["member card", card["ops_per_s"], card["p50_ms"], card["p99_ms"]],
    ]
    table = common.format_table(
        "Member card vs the framework floor (same gunicorn, same clients, same run)",
        ["page", "req/s", "p50 ms", "p99 ms"],
        rows,
    )
    p = result["params"]
    return (
        f"{table}\n"
        f"ratio card/floor: {result['ratio']:.2f} (target ≥ {TARGET_RATIO}: "
        f"{'met' if t['ratio_met'] else 'NOT met'})\n"
        f"card queries: {result['card_queries_first_view']} on a first view (new QR code), "
        f"{result['card_queries_reload']} on a reload (target ≤ {TARGET_QUERIES}: "
        f"{'met' if t['queries_met'] else 'NOT met'}) · errors: card {card['errors']}, "
        f"floor {floor['errors']}\n"
        f"{p['members']} members × {p['history_per_member']} purchases, {p['clients']} clients, "
        f"{p['gunicorn_workers']} sync workers, {p['seconds']} s per phase · "
        f"{result['machine']['cpus']} CPUs {result['machine']['cpu_model']}, "
        f"PostgreSQL {result['machine']['postgresql']} · load {result['machine']['load_before']} "
        f"→ {result['machine']['load_after']}"
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--history", type=int, default=60)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    # This process renders one card too (to count its queries): plain HTTP, no static manifest.
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("STATIC_MANIFEST", "false")
    common.bootstrap(args.database_url)
    result = run(
        seconds=args.seconds * max(args.scale, 0.05) if args.scale != 1.0 else args.seconds,
        clients=args.clients,
        members=common.scaled(args.members, args.scale),
        history=common.scaled(args.history, args.scale),
        workers=args.workers,
    )
    print(report(result))
    common.write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
