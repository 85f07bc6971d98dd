"""LINE webhook intake: signed follow and message events posted at the webhook, against the floor.

1. ``POST /line/webhook/<shop-slug>/`` on gunicorn (production settings, ``cores × 2`` sync
   workers) from ``--clients`` threads for ``--seconds``: each request one signed event (a follow
   or a text message, full payloads as LINE sends them, from ``--users`` LINE users), and one
   request in ten a redelivery of an event already sent (same ``webhookEventId``), as LINE
   redelivers. The product verifies the signature with line-bot-sdk's ``WebhookParser``, stores
   the event once (one insert-ignore) and enqueues one django-q2 task on commit.
2. The framework floor, on the same gunicorn with the same clients in the same run:
   ``POST /bench/floor/webhook/<shop-slug>/`` (``bench/floor_wsgi.py``), a minimal Django view
   (same middleware, URL resolver and connection handling) that checks the HMAC and inserts one
   row per request through Django's cursor, for a second bench shop.

Prints ops/s, p50 and p99 of both, the ratio webhook/floor (target ≥ 0.5) and the webhook's p99
(target < 200 ms), and checks that every event answered 200 is stored exactly once.

    .venv/bin/python bench/webhook.py [--seconds 20] [--clients 8] [--users 10000] [--json PATH]
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common
from bench.earn_api import (
    Phase,
    child_pids,
    database_backend_pids,
    start_gunicorn,
    stop_gunicorn,
)

TARGET_RATIO = 0.5
TARGET_P99_MS = 200.0
APP_NAME = "bench-earn-api"  # earn_api.start_gunicorn names gunicorn's sessions so
FLOOR_APP = "bench.floor_wsgi"
FLOOR_PREFIX = "/bench/floor/webhook/"
SECRET = "bench-messaging-secret-0123456789"  # noqa: S105 - a bench shop's made-up secret
CHANNEL_ID = "1659999999"
REDELIVERY_SHARE = 0.1


# --- the floor view (served by bench/floor_wsgi.py) ---------------------------------------------


def floor_view(request, shop_slug):
    """Verify ``X-Line-Signature`` under the bench secret and insert the request's one event as
    one row (insert-ignore on the same unique key), through Django's cursor; 200."""
    from django.db import connection
    from django.http import HttpResponse, HttpResponseBadRequest

    body = request.body
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    if not hmac.compare_digest(request.headers.get("X-Line-Signature", "").encode(), expected):
        return HttpResponseBadRequest()
    events = json.loads(body)["events"]
    if not events:  # the console's "Verify"
        return HttpResponse(status=200)
    event = events[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO members_webhookevent (shop_id, webhook_event_id, event_type, "
            "line_user_id, timestamp_ms, is_redelivery, payload, received_at, outcome, error) "
            "SELECT id, %s, %s, %s, %s, false, %s::jsonb, now(), 'pending', '' FROM shops_shop "
            "WHERE slug = %s ON CONFLICT (shop_id, webhook_event_id) DO NOTHING",
            [
                event["webhookEventId"],
                event["type"],
                event["source"]["userId"],
                event["timestamp"],
                json.dumps(event),
                shop_slug,
            ],
        )
    return HttpResponse(status=200)


# --- seed ---------------------------------------------------------------------------------------


def seed():
    """Two bench shops with the same Messaging API channel secret: the webhook's and the floor's."""
    from shops.models import ShopLineChannel

    shops = []
    for name in ("webhook", "webhook-floor"):
        shop = common.create_shop(name)
        ShopLineChannel.objects.create(
            shop=shop, messaging_channel_id=CHANNEL_ID, messaging_channel_secret=SECRET
        )
        shops.append(shop)
    return shops


def cleanup(shop_ids: list[int], ormq_after: int) -> None:
    """Remove what the run wrote: events, friends, channels, the tasks it queued, the shops."""
    from django.db import connection
    from django_q.models import OrmQ

    from members.line.models import LineFriend, WebhookEvent
    from shops.models import ShopLineChannel

    with connection.cursor() as cursor:
        for model in (WebhookEvent, LineFriend, ShopLineChannel):
            cursor.execute(
                f"DELETE FROM {common.table(model)} WHERE shop_id = ANY(%s)",
                [shop_ids],
            )
        cursor.execute(f"DELETE FROM {common.table(OrmQ)} WHERE id > %s", [ormq_after])
    for pk in shop_ids:
        common.drop_shop(pk)


def drop_leftovers() -> None:
    from shops.models import Shop

    for name in ("webhook-floor", "webhook"):
        ids = list(
            Shop.objects.filter(slug__startswith=f"{common.SHOP_SLUG_PREFIX}{name}-").values_list(
                "pk", flat=True
            )
        )
        if ids:
            cleanup(ids, ormq_after=2**62)


# --- load ---------------------------------------------------------------------------------------


def _event(rnd: random.Random, users: int, seq: int) -> dict:
    from loyalty.line.fake.webhooks import webhook_event_id

    at = int(time.time() * 1000)
    user = f"U{rnd.randrange(users):032x}"
    base = {
        "mode": "active",
        "timestamp": at,
        "source": {"type": "user", "userId": user},
        "webhookEventId": webhook_event_id(at),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": f"{rnd.getrandbits(128):032x}",
    }
    if seq % 2:
        return {**base, "type": "follow", "follow": {"isUnblocked": bool(seq % 3 == 0)}}
    return {
        **base,
        "type": "message",
        "message": {
            "id": str(rnd.getrandbits(60)),
            "type": "text",
            "quoteToken": f"{rnd.getrandbits(256):064x}",
            "text": "แต้มสะสมเหลือเท่าไหร่คะ",
        },
    }


def _signed(event: dict) -> tuple[bytes, str]:
    body = json.dumps(
        {"destination": "U" + "b" * 32, "events": [event]},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    return body, signature.decode()


def webhook_client(port: int, path: str, users: int, acknowledged: list[set]):
    """Signed one-event requests at ``path``; one in ten redelivers an earlier event. The ids of
    the events answered 200 go to ``acknowledged[i]``."""

    def client(i: int, phase: Phase) -> None:
        rnd = random.Random(7000 + i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors, sent = phase.latencies[i], phase.errors[i], acknowledged[i]
        earlier: list[dict] = []
        phase.barrier.wait()
        seq = 0
        while True:
            start = time.perf_counter()
            if start >= phase.stop:
                break
            seq += 1
            if earlier and rnd.random() < REDELIVERY_SHARE:
                event = {**rnd.choice(earlier), "deliveryContext": {"isRedelivery": True}}
            else:
                event = _event(rnd, users, seq)
                if len(earlier) < 1000:
                    earlier.append(event)
            body, signature = _signed(event)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "X-Line-Signature": signature,
                "User-Agent": "LineBotWebhook/2.0",
            }
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                errors[type(exc).__name__] += 1
                continue
            took = time.perf_counter() - start
            if response.status == 200:
                sent.add(event["webhookEventId"])
                if start >= phase.start_measuring:
                    latencies.append(took)
            elif start >= phase.start_measuring:
                errors[str(response.status)] += 1
        conn.close()

    return client


def wait_until_serving(proc, port: int, path: str, log_path: Path) -> None:
    """Until the workers answer the console's "Verify" (a signed empty event list) with 200."""
    body = b'{"destination":"U0","events":[]}'
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    deadline = time.monotonic() + 60
    answered = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", path, body, {"X-Line-Signature": signature.decode()})
            status = conn.getresponse().status
            conn.close()
            if status != 200:
                raise RuntimeError(f"Verify gave {status}:\n{log_path.read_text()[-3000:]}")
            answered += 1
            if answered >= 20:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer in 60 s:\n{log_path.read_text()[-3000:]}")


def stored_once(shop_id: int, acknowledged: set[str]) -> dict:
    """Every event answered 200 is stored, once; nothing else is."""
    from members.line.models import WebhookEvent

    rows = list(
        WebhookEvent.objects.filter(shop_id=shop_id).values_list("webhook_event_id", flat=True)
    )
    stored = set(rows)
    return {
        "acknowledged": len(acknowledged),
        "rows": len(rows),
        "missing": len(acknowledged - stored),
        "unexpected": len(stored - acknowledged),
        "duplicates": len(rows) - len(stored),
        "ok": stored == acknowledged and len(rows) == len(stored),
    }


# --- the benchmark ------------------------------------------------------------------------------


def run(
    *,
    seconds: float = 20.0,
    clients: int = 8,
    users: int = 10_000,
    workers: int | None = None,
    warmup: float = 3.0,
) -> dict:
    """Run both phases on Django's current database and return the results (see module doc)."""
    from django.db.models import Max
    from django_q.models import OrmQ

    from members.line.models import WebhookEvent

    common.require_postgresql()
    drop_leftovers()
    workers = workers or common.default_workers()
    result: dict = {
        "benchmark": "webhook",
        "machine": common.machine(),
        "params": {
            "seconds": seconds,
            "clients": clients,
            "users": users,
            "gunicorn_workers": workers,
            "warmup_seconds": warmup,
            "redelivery_share": REDELIVERY_SHARE,
        },
    }
    ormq_after = OrmQ.objects.aggregate(m=Max("id"))["m"] or 0
    shop, floor_shop = seed()
    common.vacuum_analyze(WebhookEvent)
    try:
        log_path = Path(tempfile.gettempdir()) / f"bench-webhook-gunicorn-{os.getpid()}.log"
        proc, port = start_gunicorn(workers, log_path, app=FLOOR_APP)
        cpu = {
            "app": lambda: child_pids(proc.pid),
            "db": lambda: database_backend_pids(APP_NAME),
        }
        product_path = f"/line/webhook/{shop.slug}/"
        floor_path = f"{FLOOR_PREFIX}{floor_shop.slug}/"
        try:
            wait_until_serving(proc, port, product_path, log_path)
            wait_until_serving(proc, port, floor_path, log_path)
            sent = [set() for _ in range(clients)]
            result["webhook"] = Phase(clients, warmup, seconds).run(
                webhook_client(port, product_path, users, sent), cpu=cpu
            )
            floor_sent = [set() for _ in range(clients)]
            result["floor"] = Phase(clients, warmup, seconds).run(
                webhook_client(port, floor_path, users, floor_sent), cpu=cpu
            )
        finally:
            stop_gunicorn(proc)
        result["stored_once"] = stored_once(shop.pk, set().union(*sent))
        result["floor_stored_once"] = stored_once(floor_shop.pk, set().union(*floor_sent))
        result["tasks_queued"] = OrmQ.objects.filter(id__gt=ormq_after).count()
    finally:
        cleanup([shop.pk, floor_shop.pk], ormq_after)
    hook, floor = result["webhook"], result["floor"]
    result["ratio"] = hook["ops_per_s"] / floor["ops_per_s"] if floor["ops_per_s"] else 0.0
    result["targets"] = {
        "ratio_min": TARGET_RATIO,
        "ratio_met": result["ratio"] >= TARGET_RATIO,
        "p99_ms_max": TARGET_P99_MS,
        "p99_met": hook["p99_ms"] < TARGET_P99_MS,
    }
    result["machine"]["load_after"] = common.loadavg()
    return result


def report(result: dict) -> str:
    hook, floor, t, p = result["webhook"], result["floor"], result["targets"], result["params"]
    rows = [("webhook (gunicorn)", *_row(hook)), ("framework floor (gunicorn)", *_row(floor))]
    table = common.format_table(
        f"webhook: {p['clients']} clients × {p['seconds']:g} s, {p['users']:,} LINE users, "
        f"{p['gunicorn_workers']} gunicorn workers",
        ["", "ops/s", "p50 ms", "p99 ms", "ops", "errors", "CPU ms/op: app", "db", "clients"],
        rows,
    )
    once = result["stored_once"]
    verdict = (
        f"ratio webhook/floor = {result['ratio']:.2f} (target ≥ {t['ratio_min']}: "
        f"{'met' if t['ratio_met'] else 'MISSED'}); webhook p99 = {hook['p99_ms']:.1f} ms "
        f"(target < {t['p99_ms_max']:g} ms: {'met' if t['p99_met'] else 'MISSED'})\n"
        f"stored once: {'ok' if once['ok'] else 'BROKEN'} ({once['rows']:,} events for "
        f"{once['acknowledged']:,} acknowledged ids; {result['tasks_queued']:,} tasks queued)\n"
        f"load average before {result['machine']['load_before']}, after "
        f"{result['machine']['load_after']}"
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
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--seconds", type=float, default=None, help="20 × scale (at least 1)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (cores × 2)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds not measured (3)")
    args = parser.parse_args(argv)
    common.bootstrap(args.database_url)
    full = args.scale >= 1
    result = run(
        seconds=args.seconds or max(1.0, 20.0 * args.scale),
        clients=args.clients,
        users=args.users,
        workers=args.workers,
        warmup=args.warmup if args.warmup is not None else (3.0 if full else 1.0),
    )
    print(report(result))
    common.write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
