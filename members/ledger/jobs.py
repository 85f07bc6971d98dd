"""The ledger's scheduled work, set-based: expiry of due lots and tier evaluation.

Both run as SQL over whole batches of members (no Python loop over lots or members), in member-id
order, each batch in its own transaction that first locks its members (lock order: Member, in
ascending id). Both are safe to run twice and catch up days the scheduler missed.

The SQL is portable between PostgreSQL and SQLite ≥ 3.33 (UPDATE … FROM); the one difference, how
to make a UUID, is chosen by vendor.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from members.ledger import rules
from members.ledger.locks import lock_members
from members.ledger.models import (
    TIER_QUALIFYING_KINDS,
    ActorKind,
    Channel,
    EntryKind,
    JobRun,
    LedgerEntry,
    LotAllocation,
    PointLot,
)
from members.models import Member
from shops.models import Shop, Tier

log = logging.getLogger(__name__)

EXPIRY_BATCH = 5000
TIER_BATCH = 10000


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _uuid_sql() -> str:
    if connection.vendor == "postgresql":
        return "gen_random_uuid()"
    # Django stores UUIDField on SQLite as 32 hex characters.
    return "lower(hex(randomblob(16)))"


def _concat_key(prefix_param: str, column: str) -> str:
    if connection.vendor == "postgresql":
        return f"({prefix_param} || {column}::text)"
    return f"({prefix_param} || {column})"


def expire_key_prefix(day: dt.date) -> str:
    return f"expire:{day.isoformat()}:"


def points_expire_due(*, today: dt.date | None = None, batch_size: int = EXPIRY_BATCH) -> dict:
    """Expire every lot whose last day (inclusive) is before ``today``.

    Writes one ``expire`` entry per member and expiry date (key ``expire:<date>:<member id>``),
    allocations for each lot, sets the lots' ``remaining`` to 0 and lowers the cached balances.
    Running it again finds nothing left to do; a day the scheduler missed is caught up because all
    lots due before ``today`` are taken, whatever their date.
    """
    today = today or timezone.localdate()
    due_dates = list(
        PointLot.objects.filter(remaining__gt=0, expires_on__lt=today)
        .order_by("expires_on")
        .values_list("expires_on", flat=True)
        .distinct()
    )
    totals = {"entries": 0, "lots": 0, "points": 0, "dates": [d.isoformat() for d in due_dates]}
    for day in due_dates:
        while True:
            done = _expire_batch(day, batch_size)
            if done is None:
                break
            for k in ("entries", "lots", "points"):
                totals[k] += done[k]
    _record_run("expire", today, totals)
    log.info("expiry for %s: %s", today, totals)
    return totals


@transaction.atomic
def _expire_batch(day: dt.date, batch_size: int) -> dict | None:
    member_ids = list(
        PointLot.objects.filter(remaining__gt=0, expires_on=day)
        .order_by("member_id")
        .values_list("member_id", flat=True)
        .distinct()[:batch_size]
    )
    if not member_ids:
        return None
    lo, hi = member_ids[0], member_ids[-1]
    lock_members(member_ids)
    points = (
        PointLot.objects.filter(
            remaining__gt=0, expires_on=day, member_id__gte=lo, member_id__lte=hi
        ).aggregate(total=Sum("remaining"))["total"]
        or 0
    )
    entry, lot, alloc, member = _t(LedgerEntry), _t(PointLot), _t(LotAllocation), _t(Member)
    prefix = expire_key_prefix(day)
    # Marks this batch's entries, so the statements below never pick up an earlier run's entry
    # with the same key (a second run for the same date finds nothing left to expire).
    batch = f"batch:{uuid.uuid4().hex}"
    now = timezone.now()
    note = _("Points expired (last day %(day)s)") % {"day": day.isoformat()}
    key_of_lot = _concat_key("%s", "l.member_id")
    due = "l.remaining > 0 AND l.expires_on = %s AND l.member_id BETWEEN %s AND %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {entry} (shop_id, public_id, member_id, kind, points, balance_after,
                idempotency_key, fingerprint, actor_kind, channel, note, reference, created_at)
            SELECT l.shop_id, {_uuid_sql()}, l.member_id, %s, -SUM(l.remaining), 0,
                {key_of_lot}, %s, %s, %s, %s, '', %s
            FROM {lot} l
            WHERE {due}
            GROUP BY l.shop_id, l.member_id
            """,  # noqa: S608 - table names from model metadata, values as parameters
            [
                EntryKind.EXPIRE,
                prefix,
                batch,
                ActorKind.SYSTEM,
                Channel.SYSTEM,
                note,
                now,
                day,
                lo,
                hi,
            ],
        )
        entries = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO {alloc} (debit_id, lot_id, points)
            SELECT e.id, l.id, l.remaining
            FROM {lot} l
            JOIN {entry} e ON e.shop_id = l.shop_id AND e.idempotency_key = {key_of_lot}
                AND e.fingerprint = %s
            WHERE {due}
            """,  # noqa: S608
            [prefix, batch, day, lo, hi],
        )
        lots = cursor.rowcount
        cursor.execute(
            f"UPDATE {lot} SET remaining = 0 WHERE remaining > 0 AND expires_on = %s "  # noqa: S608
            "AND member_id BETWEEN %s AND %s",
            [day, lo, hi],
        )
        key_of_member = _concat_key("%s", f"{member}.id")
        cursor.execute(
            f"""
            UPDATE {member} SET balance = {member}.balance + e.points, updated_at = %s
            FROM {entry} e
            WHERE e.member_id = {member}.id AND e.shop_id = {member}.shop_id
              AND e.idempotency_key = {key_of_member} AND e.fingerprint = %s
              AND {member}.id BETWEEN %s AND %s
            """,  # noqa: S608
            [now, prefix, batch, lo, hi],
        )
        key_of_entry = _concat_key("%s", f"{entry}.member_id")
        cursor.execute(
            f"""
            UPDATE {entry} SET balance_after = m.balance
            FROM {member} m
            WHERE m.id = {entry}.member_id AND {entry}.kind = %s
              AND {entry}.member_id BETWEEN %s AND %s
              AND {entry}.idempotency_key = {key_of_entry} AND {entry}.fingerprint = %s
            """,  # noqa: S608
            [EntryKind.EXPIRE, lo, hi, prefix, batch],
        )
    return {"entries": entries, "lots": lots, "points": points}


def _record_run(name: str, day: dt.date, result: dict) -> None:
    """Remember a finished run; a concurrent twin may have recorded it first, which is fine."""
    try:
        with transaction.atomic():
            JobRun.objects.update_or_create(
                name=name, run_for=day, defaults={"finished_at": timezone.now(), "result": result}
            )
    except IntegrityError:
        pass


# --- tiers ----------------------------------------------------------------------------------------


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def tiers_evaluate_due(*, today: dt.date | None = None) -> dict:
    """Evaluate tiers for every shop whose evaluation date (month, quarter or year end) has passed
    since its last evaluation. Only the latest missed date is evaluated: an earlier one would be
    overwritten by it. A shop evaluated for a date is not evaluated for it again."""
    today = today or timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    results = {}
    for shop in Shop.objects.filter(tiers_enabled=True, is_active=True).order_by("pk"):
        end = _latest_cycle_end(yesterday, cycle=shop.tier_cycle)
        name = f"tiers:{shop.pk}"
        if JobRun.objects.filter(name=name, run_for__gte=end).exists():
            continue
        changed = tiers_evaluate_shop(shop=shop, evaluation_date=end)
        _record_run(name, end, {"changed": changed})
        results[shop.slug] = {"date": end.isoformat(), "changed": changed}
    log.info("tier evaluation on %s: %s", today, results)
    return results


def _latest_cycle_end(day: dt.date, *, cycle: str) -> dt.date:
    """The last evaluation date on or before ``day``."""
    year, month = day.year, day.month
    while True:
        end = rules.month_end(year, month)
        if end <= day and rules.is_cycle_end(end, cycle=cycle):
            return end
        year, month = rules.add_months(year, month, -1)


def tiers_evaluate_shop(
    *, shop: Shop, evaluation_date: dt.date, batch_size: int = TIER_BATCH
) -> int:
    """Set every member's tier from the points earned in the shop's tier window(s) ending on
    ``evaluation_date``, never below the member's manual tier. Returns how many tiers changed."""
    if not Tier.objects.filter(shop=shop).exists():
        return 0
    until = evaluation_date + dt.timedelta(days=1)
    windows = rules.qualifying_windows(until, window=shop.tier_window)
    changed = 0
    last_id = 0
    while True:
        with transaction.atomic():
            ids = list(
                Member.objects.filter(shop=shop, pk__gt=last_id)
                .exclude(status=Member.Status.ERASED)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            lock_members(ids)
            changed += _evaluate_batch(shop, windows, ids[0], ids[-1])
            last_id = ids[-1]
    return changed


def _evaluate_batch(shop: Shop, windows, lo: int, hi: int) -> int:
    entry, member, tier = _t(LedgerEntry), _t(Member), _t(Tier)
    kinds = list(TIER_QUALIFYING_KINDS)
    kind_params = ", ".join(["%s"] * len(kinds))
    sums, params = [], []
    for i, (start, end) in enumerate(windows):
        cond = "e.created_at < %s"
        p = [_local_midnight(end)]
        if start is not None:
            cond = "e.created_at >= %s AND " + cond
            p = [_local_midnight(start), *p]
        sums.append(f"SUM(CASE WHEN {cond} THEN e.points ELSE 0 END) AS w{i}")
        params += p
    greatest = "COALESCE(q.w0, 0)"
    for i in range(1, len(windows)):
        greatest = f"CASE WHEN COALESCE(q.w{i}, 0) > {greatest} THEN COALESCE(q.w{i}, 0) ELSE {greatest} END"
    earliest = [s for s, _e in windows if s is not None]
    range_cond, range_params = "", []
    if len(earliest) == len(windows):
        range_cond = "AND e.created_at >= %s"
        range_params = [_local_midnight(min(earliest))]
    now = timezone.now()
    sql = f"""
        UPDATE {member} SET tier_id = target.new_tier, tier_changed_at = %s, updated_at = %s
        FROM (
            SELECT m.id AS member_id,
                (SELECT t.id FROM {tier} t
                 WHERE t.shop_id = m.shop_id
                   AND (t.threshold <= {greatest} OR t.id = m.manual_tier_id)
                 ORDER BY t.threshold DESC LIMIT 1) AS new_tier
            FROM {member} m
            LEFT JOIN (
                SELECT e.member_id, {", ".join(sums)}
                FROM {entry} e
                LEFT JOIN {entry} r ON r.id = e.reversal_of_id
                WHERE e.shop_id = %s AND e.member_id BETWEEN %s AND %s {range_cond}
                  AND (e.kind IN ({kind_params})
                       OR (e.kind = %s AND r.kind IN ({kind_params})))
                GROUP BY e.member_id
            ) q ON q.member_id = m.id
            WHERE m.shop_id = %s AND m.id BETWEEN %s AND %s AND m.status <> %s
        ) AS target
        WHERE {member}.id = target.member_id
          AND COALESCE({member}.tier_id, -1) <> COALESCE(target.new_tier, -1)
    """  # noqa: S608 - table names from model metadata, values as parameters
    all_params = [
        now,
        now,
        *params,
        shop.pk,
        lo,
        hi,
        *range_params,
        *kinds,
        EntryKind.REVERSAL,
        *kinds,
        shop.pk,
        lo,
        hi,
        Member.Status.ERASED,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, all_params)
        return cursor.rowcount
