"""A broadcast to a large audience: enqueued by the sending job, then sent to the fake LINE server.

Builds, in PostgreSQL with INSERT … SELECT generate_series, a shop with ``--scale`` × 1,000,000
registered members bound to LINE, each a friend of the OA with marketing consent given, and a
segment "LINE friends". A broadcast of one text message to that segment is saved and confirmed
(``broadcast_confirm``, which counts the audience again) through the product's services, then:

- enqueue: ``broadcast_send`` (the job): one ``INSERT … SELECT`` of a recipient row per member,
  then batches of 500 handed to the outbox and marked queued. Target < 60 s at full size. The
  floor, measured first in the same run on a throwaway broadcast (rolled back): the same recipient
  rows and the same outbox rows written by two hand-written statements (no batches, no tasks);
- send: the outbox's own sender (``outbox_drain`` in ``--workers`` threads, as django-q2 workers
  would) through line-bot-sdk to a fake LINE server on loopback, multicasts of 500. Target ≥ 2,000
  recipients/s. The ceiling: the same batches posted straight at the same fake server with plain
  HTTP in as many threads.

Checks: every member got the message exactly once, every outbox row is sent, every recipient row is
queued with its outbox row. Everything is removed afterwards.

    .venv/bin/python bench/broadcast.py [--scale 1] [--workers 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common
from bench.outbox import ACCESS_TOKEN, CHANNEL_ID, in_threads, raw_ceiling
from bench.segments import drop

FULL_MEMBERS = 1_000_000
ENQUEUE_TARGET_S = 60.0
TARGET_PER_S = 2_000
TEXT = "โปรโมชั่นเดือนนี้: รับแต้มสองเท่าทุกวันศุกร์"


def seed(shop, *, members: int) -> None:
    """Bound, registered members, each a LINE friend with marketing consent given."""
    from django.utils import timezone

    from members.line.models import LineFriend
    from members.models import ConsentRecord, Member

    t = common.table
    p = {"shop": shop.pk, "now": timezone.now(), "members": members}
    with common.bulk_load() as cursor:
        cols, exprs, defaults = common.insert_columns(
            Member,
            {
                "shop_id": "%(shop)s",
                "public_id": "gen_random_uuid()",
                "status": "'registered'",
                "phone": "'+668' || lpad(g::text, 8, '0')",
                "first_name": "'Member ' || g",
                "line_user_id": "'U' || md5(%(shop)s || ':' || g)",
                "bound_at": "%(now)s",
                "registered_at": "%(now)s",
                "created_at": "%(now)s",
                "updated_at": "%(now)s",
            },
        )
        cursor.execute(
            f"INSERT INTO {t(Member)} ({cols}) SELECT {exprs} "
            "FROM generate_series(0, %(members)s - 1) AS g",
            {**p, **defaults},
        )
        cols, exprs, defaults = common.insert_columns(
            LineFriend,
            {
                "shop_id": "%(shop)s",
                "line_user_id": "m.line_user_id",
                "state": "'friend'",
                "followed_at": "%(now)s",
                "member_id": "m.id",
                "created_at": "%(now)s",
                "updated_at": "%(now)s",
            },
        )
        cursor.execute(
            f"INSERT INTO {t(LineFriend)} ({cols}) SELECT {exprs} FROM {t(Member)} m "
            "WHERE m.shop_id = %(shop)s",
            {**p, **defaults},
        )
        cols, exprs, defaults = common.insert_columns(
            ConsentRecord,
            {
                "shop_id": "%(shop)s",
                "member_id": "m.id",
                "kind": "'marketing'",
                "granted": "true",
                "method": "'signup'",
                "recorded_at": "%(now)s",
            },
        )
        cursor.execute(
            f"INSERT INTO {t(ConsentRecord)} ({cols}) SELECT {exprs} FROM {t(Member)} m "
            "WHERE m.shop_id = %(shop)s",
            {**p, **defaults},
        )


def enqueue_floor(shop, segment) -> tuple[float, int, int]:
    """The enqueue's writes by hand, on a throwaway broadcast, rolled back: the recipient rows
    (one INSERT … SELECT of the segment's friends with consent), then the outbox rows (one
    multicast per 500 members in member order) and the recipients marked queued with their row,
    in one statement. Returns seconds, recipients, outbox rows."""
    from django.db import connection, transaction
    from django.utils import timezone

    from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
    from loyalty.outbox.models import OutboxMessage
    from members.line.models import LineFriend
    from members.models import ConsentRecord, Member

    t = common.table
    with transaction.atomic():
        throwaway = Broadcast.objects.create(shop=shop, name="bench floor (rolled back)")
        throwaway.segments.set([segment])
        cols, exprs, defaults = common.insert_columns(
            OutboxMessage,
            {
                "shop_id": "%(shop)s",
                "kind": "'multicast'",
                "recipients": "g.recipients",
                "messages": "%(messages)s::jsonb",
                "retry_key": "gen_random_uuid()",
                "source": "%(source)s",
                "dedupe_key": "%(source)s",
                "batch": "g.grp",
                "next_attempt_at": "%(now)s",
                "created_at": "%(now)s",
            },
        )
        p = {
            "shop": shop.pk,
            "b": throwaway.pk,
            "now": timezone.now(),
            "source": f"bench-floor:{throwaway.pk}",
            "messages": json.dumps([{"type": "text", "text": TEXT}]),
            **defaults,
        }
        r = t(BroadcastRecipient)
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {r} (broadcast_id, member_id, channel, state, reason, line_user_id,
                                 phone)
                SELECT %(b)s, m.id, 'line', 'pending', '', m.line_user_id, COALESCE(m.phone, '')
                FROM {t(Member)} m
                JOIN {t(LineFriend)} f ON f.shop_id = m.shop_id
                     AND f.line_user_id = m.line_user_id AND f.state = 'friend'
                WHERE m.shop_id = %(shop)s AND m.status IN ('registered', 'pending')
                  AND m.bound_at IS NOT NULL
                  AND (SELECT c.granted FROM {t(ConsentRecord)} c
                       WHERE c.member_id = m.id AND c.kind = 'marketing'
                       ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1)
                """,
                p,
            )
            recipients = cursor.rowcount
            cursor.execute(
                f"""
                WITH x AS (
                    SELECT id, line_user_id,
                           (row_number() OVER (ORDER BY member_id) - 1) / 500 AS grp
                    FROM {r} WHERE broadcast_id = %(b)s AND state = 'pending'
                ), g AS (
                    SELECT grp, jsonb_agg(line_user_id ORDER BY id) AS recipients
                    FROM x GROUP BY grp
                ), o AS (
                    INSERT INTO {t(OutboxMessage)} ({cols}) SELECT {exprs} FROM g
                    RETURNING id, batch
                )
                UPDATE {r} rr SET state = 'queued', outbox_message_id = o.id
                FROM x JOIN o ON o.batch = x.grp WHERE rr.id = x.id
                """,
                p,
            )
            cursor.execute(
                f"SELECT count(*) FROM {t(OutboxMessage)} WHERE shop_id = %(shop)s "
                "AND dedupe_key = %(source)s",
                p,
            )
            rows = cursor.fetchone()[0]
        took = time.perf_counter() - start
        transaction.set_rollback(True)
    return took, recipients, rows


def _setting(name: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def run(*, members: int, workers: int) -> dict:
    """Build, confirm, time the enqueue (and its floor), send, verify, clean up."""
    from django.conf import settings
    from django.core.cache import cache
    from django.db.models import Count
    from django_q.models import OrmQ

    from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
    from campaigns.broadcasts.services import broadcast_confirm, broadcast_save, broadcast_send
    from campaigns.segments.models import Segment
    from loyalty.line.fake import FakeLineServer
    from loyalty.outbox.models import OutboxMessage
    from loyalty.outbox.tasks import outbox_drain
    from members.line.models import LineFriend
    from members.models import ConsentRecord, Member
    from shops.models import Shop, ShopLineChannel

    common.require_postgresql()
    for pk in Shop.objects.filter(
        slug__startswith=f"{common.SHOP_SLUG_PREFIX}broadcast-"
    ).values_list("pk", flat=True):
        drop(pk)
    result = {
        "benchmark": "broadcast",
        "machine": common.machine(),
        "params": {"members": members, "workers": workers},
    }
    timings: dict = {}
    result["machine"]["jit"] = _setting("jit")
    server = FakeLineServer(seed_users=False)
    server.add_channel(CHANNEL_ID, "bench-broadcast-secret", access_token=ACCESS_TOKEN)
    server.start()
    settings.LINE_API_BASE_URL = server.base_url
    cache.clear()
    queued_before = OrmQ.objects.order_by("-id").values_list("id", flat=True).first() or 0
    shop = common.create_shop("broadcast")
    try:
        ShopLineChannel.objects.create(shop=shop, messaging_access_token=ACCESS_TOKEN)
        with common.stopwatch(timings, "seed_s"):
            seed(shop, members=members)
        with common.stopwatch(timings, "vacuum_analyze_s"):
            common.vacuum_analyze(Member, LineFriend, ConsentRecord)
        segment = Segment.objects.create(
            shop=shop, name="LINE friends", conditions=[{"kind": "line_friend", "friend": True}]
        )
        broadcast = broadcast_save(
            shop=shop,
            name="Bench promotion",
            segment_ids=[segment.pk],
            messages=[{"type": "text", "text": TEXT}],
        )
        floor_s, floor_recipients, floor_rows = enqueue_floor(shop, segment)
        timings["enqueue_floor_s"] = round(floor_s, 3)
        common.vacuum_analyze(BroadcastRecipient, OutboxMessage)
        with common.stopwatch(timings, "confirm_s"):
            broadcast_confirm(broadcast=broadcast, recipients=members)
        with common.stopwatch(timings, "enqueue_s"):
            queued = broadcast_send(broadcast.pk)["queued"]
        # The sender below stands in for the cluster: drop the tasks the commits queued for it.
        OrmQ.objects.filter(id__gt=queued_before).delete()
        with common.stopwatch(timings, "send_s"):
            in_threads(workers, lambda: outbox_drain(seconds=3600))
        states = dict(
            OutboxMessage.objects.filter(shop=shop).values_list("state").annotate(n=Count("pk"))
        )
        recipient_states = dict(
            BroadcastRecipient.objects.filter(broadcast=broadcast)
            .values_list("state")
            .annotate(n=Count("pk"))
        )
        without_row = BroadcastRecipient.objects.filter(
            broadcast=broadcast, outbox_message__isnull=True
        ).count()
        got = [user for entry in server.messages for user in entry["to"]]
        rows = list(OutboxMessage.objects.filter(shop=shop).order_by("pk"))
        result["checks"] = {
            "queued": queued,
            "rows": len(rows),
            "states": states,
            "recipient_states": recipient_states,
            "recipients_without_row": without_row,
            "deliveries": len(got),
            "floor": {"recipients": floor_recipients, "rows": floor_rows},
            "state": Broadcast.objects.get(pk=broadcast.pk).state,
        }
        result["checks"]["ok"] = (
            queued == members
            and states == {"sent": len(rows)}
            and recipient_states == {"queued": members}
            and without_row == 0
            and len(got) == len(set(got)) == members
            and floor_recipients == members
            and floor_rows == len(rows)
        )
        server.reset()
        batches = [row.recipients for row in rows]
        timings["raw_s"] = round(raw_ceiling(server.base_url, batches, workers), 3)
    finally:
        server.stop()
        OrmQ.objects.filter(id__gt=queued_before).delete()
        with common.stopwatch(timings, "cleanup_s"):
            drop(shop.pk)
    result["timings"] = timings
    limit = ENQUEUE_TARGET_S * max(members / FULL_MEMBERS, 0.01)
    sender_rate = members / timings["send_s"]
    raw_rate = members / timings["raw_s"]
    result["enqueue"] = {
        "recipients_per_s": round(members / timings["enqueue_s"]),
        "floor_ratio": round(timings["enqueue_floor_s"] / timings["enqueue_s"], 3),
    }
    result["sender"] = {"recipients_per_s": round(sender_rate)}
    result["raw"] = {"recipients_per_s": round(raw_rate)}
    result["ratio"] = round(sender_rate / raw_rate, 3)
    result["target"] = {
        "enqueue_s_max": limit,
        "enqueue_met": timings["enqueue_s"] < limit,
        "per_s_min": TARGET_PER_S,
        "send_met": sender_rate >= TARGET_PER_S,
    }
    result["machine"]["load_after"] = common.loadavg()
    return result


def report(result: dict) -> str:
    t, p, g = result["timings"], result["params"], result["target"]
    rows = [
        ("audience", f"{p['members']:,} LINE friends; built in {t['seed_s']:.1f} s"),
        ("confirm (counts the audience)", f"{t['confirm_s']:.2f} s"),
        (
            "enqueue (broadcast_send)",
            f"{t['enqueue_s']:.2f} s, {result['enqueue']['recipients_per_s']:,} recipients/s, "
            f"{result['checks']['rows']:,} outbox rows (target < {g['enqueue_s_max']:g} s: "
            f"{'met' if g['enqueue_met'] else 'MISSED'})",
        ),
        (
            "floor (2 hand-written statements)",
            f"{t['enqueue_floor_s']:.2f} s (floor / job = {result['enqueue']['floor_ratio']:.2f})",
        ),
        (
            f"sender ({p['workers']} workers)",
            f"{t['send_s']:.2f} s: {result['sender']['recipients_per_s']:,} recipients/s "
            f"(target ≥ {TARGET_PER_S:,}: {'met' if g['send_met'] else 'MISSED'})",
        ),
        (
            "ceiling (raw HTTP, same batches)",
            f"{t['raw_s']:.2f} s: {result['raw']['recipients_per_s']:,} recipients/s "
            f"(sender / ceiling = {result['ratio']:.2f})",
        ),
        ("checks", "ok" if result["checks"]["ok"] else str(result["checks"])),
        (
            "load average",
            f"before {result['machine']['load_before']}, after {result['machine']['load_after']}; "
            f"PostgreSQL jit {result['machine']['jit']}",
        ),
    ]
    return common.format_table("broadcast: enqueue and send to the fake LINE", ["", "result"], rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--workers", type=int, default=2, help="sender threads (django-q2 workers)")
    parser.add_argument(
        "--no-jit",
        action="store_true",
        help="turn PostgreSQL's JIT off for this process's connections (PGOPTIONS)",
    )
    args = parser.parse_args(argv)
    if args.no_jit:
        os.environ["PGOPTIONS"] = (os.environ.get("PGOPTIONS", "") + " -c jit=off").strip()
    # The fake LINE server starts only in a test or debug process; this is one, on loopback.
    os.environ.setdefault("TESTING", "true")
    common.bootstrap(args.database_url)
    result = run(
        members=common.scaled(FULL_MEMBERS, args.scale, minimum=1000), workers=args.workers
    )
    print(report(result))
    common.write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
