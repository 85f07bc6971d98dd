"""The LINE outbox at volume: 100,000 recipients through multicast to the fake LINE server.

Enqueues ``--scale`` × 100,000 generated LINE user ids for one shop in one transaction (200
multicast rows of 500, and their django-q2 tasks after commit), then sends them with the outbox's
own sender (``outbox_drain``, in ``--workers`` threads as django-q2 workers would, each claiming
rows with ``SKIP LOCKED``) through line-bot-sdk to a fake LINE server on loopback. Target: the
sender is never the bottleneck, ≥ 2,000 recipients/s (LINE's push rate).

For comparison, the ceiling measured in the same run: the same batches posted straight at the same
fake server, in as many threads, with plain HTTP and no outbox (no database, no SDK). The check:
every recipient received the message exactly once, every row is sent.

    .venv/bin/python bench/outbox.py [--scale 1] [--workers 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import threading
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common

FULL_RECIPIENTS = 100_000
TARGET_PER_S = 2_000
CHANNEL_ID = "1659999999"
ACCESS_TOKEN = "bench-outbox-access-token"  # noqa: S105 (the fake server's)
MESSAGES = [{"type": "text", "text": "โปรโมชั่นเดือนนี้: รับแต้มสองเท่าทุกวันศุกร์"}]


def in_threads(workers: int, fn) -> None:
    """Run ``fn()`` in ``workers`` threads, each with its own database connection."""
    from django.db import connection

    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def raw_ceiling(base_url: str, batches: list[list[str]], workers: int) -> float:
    """Seconds to post ``batches`` as multicasts straight at the fake server (plain HTTP)."""
    import urllib3

    pool = urllib3.PoolManager(maxsize=workers)
    todo = list(batches)
    lock = threading.Lock()

    def post() -> None:
        while True:
            with lock:
                if not todo:
                    return
                batch = todo.pop()
            response = pool.request(
                "POST",
                f"{base_url}/v2/bot/message/multicast",
                body=json.dumps({"to": batch, "messages": MESSAGES}),
                headers={
                    "Authorization": f"Bearer {ACCESS_TOKEN}",
                    "Content-Type": "application/json",
                    "X-Line-Retry-Key": str(uuid.uuid4()),
                },
            )
            assert response.status == 200, response.data

    start = time.perf_counter()
    in_threads(workers, post)
    return time.perf_counter() - start


def run(*, recipients: int, workers: int) -> dict:
    """Enqueue, send, verify and clean up; then the raw ceiling. Returns the results."""
    from django.conf import settings
    from django.core.cache import cache
    from django.db import transaction
    from django.db.models import Count
    from django_q.models import OrmQ

    from loyalty.line.fake import FakeLineServer
    from loyalty.outbox.models import OutboxMessage
    from loyalty.outbox.services import outbox_enqueue
    from loyalty.outbox.tasks import outbox_drain
    from shops.models import ShopLineChannel

    common.require_postgresql()
    common.drop_leftovers("outbox")
    result = {
        "benchmark": "outbox",
        "machine": common.machine(),
        "params": {"recipients": recipients, "workers": workers},
    }
    timings: dict = {}
    ids = ["U" + secrets.token_hex(16) for _ in range(recipients)]
    server = FakeLineServer(seed_users=False)
    server.add_channel(CHANNEL_ID, "bench-outbox-secret", access_token=ACCESS_TOKEN)
    server.start()
    settings.LINE_API_BASE_URL = server.base_url
    cache.clear()
    queued_before = OrmQ.objects.order_by("-id").values_list("id", flat=True).first() or 0
    shop = common.create_shop("outbox")
    try:
        ShopLineChannel.objects.create(shop=shop, messaging_access_token=ACCESS_TOKEN)
        with common.stopwatch(timings, "enqueue_s"), transaction.atomic():
            rows = outbox_enqueue(shop_id=shop.pk, to=ids, messages=MESSAGES, source="bench:outbox")
        # The sender below stands in for the cluster: drop the tasks the commit queued for it.
        OrmQ.objects.filter(id__gt=queued_before).delete()
        with common.stopwatch(timings, "send_s"):
            in_threads(workers, lambda: outbox_drain(seconds=3600))
        states = dict(
            OutboxMessage.objects.filter(shop=shop).values_list("state").annotate(n=Count("pk"))
        )
        got = [user for entry in server.messages for user in entry["to"]]
        result["checks"] = {
            "rows": len(rows),
            "states": states,
            "deliveries": len(got),
            "ok": states == {"sent": len(rows)} and len(got) == len(set(got)) == len(ids),
        }
        server.reset()
        batches = [row.recipients for row in rows]
        timings["raw_s"] = round(raw_ceiling(server.base_url, batches, workers), 3)
    finally:
        server.stop()
        common.drop_shop(shop.pk)
    result["timings"] = timings
    sender_rate = recipients / timings["send_s"]
    raw_rate = recipients / timings["raw_s"]
    result["sender"] = {"recipients_per_s": round(sender_rate)}
    result["raw"] = {"recipients_per_s": round(raw_rate)}
    result["enqueue"] = {"recipients_per_s": round(recipients / timings["enqueue_s"])}
    result["ratio"] = round(sender_rate / raw_rate, 3)
    result["target"] = {"per_s_min": TARGET_PER_S, "met": sender_rate >= TARGET_PER_S}
    result["machine"]["load_after"] = common.loadavg()
    return result


def report(result: dict) -> str:
    t, p = result["timings"], result["params"]
    rows = [
        ("recipients", f"{p['recipients']:,} in {result['checks']['rows']} rows"),
        (
            "enqueue (one transaction)",
            f"{t['enqueue_s']:.2f} s ({result['enqueue']['recipients_per_s']:,} recipients/s)",
        ),
        (
            f"sender ({p['workers']} workers)",
            f"{t['send_s']:.2f} s: {result['sender']['recipients_per_s']:,} recipients/s "
            f"(target ≥ {TARGET_PER_S:,}: {'met' if result['target']['met'] else 'MISSED'})",
        ),
        (
            "ceiling (raw HTTP, same batches)",
            f"{t['raw_s']:.2f} s: {result['raw']['recipients_per_s']:,} recipients/s "
            f"(sender / ceiling = {result['ratio']:.2f})",
        ),
        ("checks", "ok" if result["checks"]["ok"] else str(result["checks"])),
        (
            "load average",
            f"before {result['machine']['load_before']}, after {result['machine']['load_after']}",
        ),
    ]
    return common.format_table("outbox: multicast to the fake LINE server", ["", "result"], rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--workers", type=int, default=2, help="sender threads (django-q2 workers)")
    args = parser.parse_args(argv)
    # The fake LINE server starts only in a test or debug process; this is one, on loopback.
    os.environ.setdefault("TESTING", "true")
    common.bootstrap(args.database_url)
    result = run(
        recipients=common.scaled(FULL_RECIPIENTS, args.scale, minimum=1000),
        workers=args.workers,
    )
    print(report(result))
    common.write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
