"""The ledger's scheduled work, set-based: expiry of due lots and tier evaluation.

Both run as SQL over whole batches of members (no Python loop over lots or members), in member-id
order, each batch's writes in their own transaction that first locks the members it changes (lock
order: Member, in ascending id). Both are safe to run twice and catch up days the scheduler missed.

The statements are written so that PostgreSQL's estimates hold for rows the job itself has just
written: they are driven by indexed columns with statistics (the open lots of a date, a member-id
range) and reach freshly written rows only through unique indexes, never by filtering on a value
written a moment ago (see docs/benchmarks.md for what the other way cost).

The SQL is portable between PostgreSQL and SQLite ≥ 3.33 (UPDATE … FROM); what differs (how to
make a UUID, the cast in a key, turning PostgreSQL's JIT off) is chosen by vendor.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.dates import format_people_date, local_midnight
from members.ledger import rules
from members.ledger.core import expire_lots_now
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
from members.ledger.tiers import tier_announce
from members.models import Member
from shops.models import Shop, Tier

log = logging.getLogger(__name__)

# Sent after a shop's tier evaluation changed tiers with set-based SQL (no member saves, so no
# post_save): ``shop_id``, ``changed``. Rich menus of tier audiences re-link on it.
tiers_evaluated = Signal()

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


def _no_jit() -> None:
    """Turn PostgreSQL's JIT compilation off for the rest of the current transaction.

    A tier batch's statements read some 20,000 entries through an index and run in tens of
    milliseconds, but their cost estimates (random heap reads for entries scattered over the
    ledger) pass ``jit_above_cost``, and compiling them took longer than running them: 45–95 ms
    per statement, two statements per batch, on the 1,000,000-member benchmark.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


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
    """Expire the lots of ``day`` of the next ``batch_size`` members that have some.

    Every statement is driven by the batch's due lots (``remaining > 0``, ``expires_on = day``,
    member id between the batch's first and last), found through the partial index on open lots,
    and each reads what it needs from the locked member rows or the unique (shop, key) index. A
    member of that id range whose lots of ``day`` were expired by an earlier run has an
    ``expire:<day>:<id>`` entry already but no due lot, so no statement touches it again.
    """
    member_ids = list(
        PointLot.objects.filter(remaining__gt=0, expires_on=day)
        .order_by("member_id")
        .values_list("member_id", flat=True)
        .distinct()[:batch_size]
    )
    if not member_ids:
        return None
    lo, hi = member_ids[0], member_ids[-1]
    # Every member with a due lot of ``day`` in [lo, hi] is in ``member_ids`` (they are the
    # lowest ids that have one), so the statements below change only rows locked here.
    lock_members(member_ids)
    points = (
        PointLot.objects.filter(
            remaining__gt=0, expires_on=day, member_id__gte=lo, member_id__lte=hi
        ).aggregate(total=Sum("remaining"))["total"]
        or 0
    )
    entry, lot, alloc, member = _t(LedgerEntry), _t(PointLot), _t(LotAllocation), _t(Member)
    prefix = expire_key_prefix(day)
    now = _db_datetime(timezone.now())
    note = _("Points expired (last day %(day)s)") % {"day": format_people_date(day)}
    key_of_lot = _concat_key("%s", "l.member_id")
    due = "l.remaining > 0 AND l.expires_on = %s AND l.member_id BETWEEN %s AND %s"
    with connection.cursor() as cursor:
        # One entry per member; its balance_after from the locked row, before the balance moves.
        # A member who has this date's entry already (a lot given a last day in the past, after
        # that day's run) gets none here: see ``_expire_late_lots``.
        cursor.execute(
            f"""
            INSERT INTO {entry} (shop_id, public_id, member_id, kind, points, balance_after,
                idempotency_key, fingerprint, actor_kind, channel, note, reference, created_at)
            SELECT l.shop_id, {_uuid_sql()}, l.member_id, %s, -SUM(l.remaining),
                m.balance - SUM(l.remaining), {key_of_lot}, '', %s, %s, %s, '', %s
            FROM {lot} l
            JOIN {member} m ON m.id = l.member_id
            WHERE {due} AND m.id BETWEEN %s AND %s
            GROUP BY l.shop_id, l.member_id, m.balance
            ON CONFLICT (shop_id, idempotency_key) DO NOTHING
            RETURNING member_id
            """,  # noqa: S608 - table names from model metadata, values as parameters
            [
                EntryKind.EXPIRE,
                prefix,
                ActorKind.SYSTEM,
                Channel.SYSTEM,
                note,
                now,
                day,
                lo,
                hi,
                lo,
                hi,
            ],
        )
        late = set(member_ids) - {row[0] for row in cursor.fetchall()}
        entries = len(member_ids) - len(late)
        if late:
            # Their due lots are expired one member at a time, and the statements below leave
            # them out (their key would find the earlier entry).
            lots_late = _expire_late_lots(day, sorted(late), note=note)
            due += " AND l.member_id NOT IN (" + ", ".join(str(int(i)) for i in sorted(late)) + ")"
        # Each due lot finds its member's entry through the unique (shop, idempotency key) index:
        # the key is unique per shop, and the statement above has just written it for exactly
        # the members that have due lots (an earlier entry with the key would have failed it).
        cursor.execute(
            f"""
            INSERT INTO {alloc} (debit_id, lot_id, points)
            SELECT e.id, l.id, l.remaining
            FROM {lot} l
            JOIN {entry} e ON e.shop_id = l.shop_id AND e.idempotency_key = {key_of_lot}
            WHERE {due}
            """,  # noqa: S608
            [prefix, day, lo, hi],
        )
        lots = cursor.rowcount
        # The balances fall by the due lots' points, read before the lots are zeroed.
        cursor.execute(
            f"""
            UPDATE {member} SET balance = {member}.balance - s.total, updated_at = %s
            FROM (
                SELECT l.member_id, SUM(l.remaining) AS total
                FROM {lot} l
                WHERE {due}
                GROUP BY l.member_id
            ) s
            WHERE {member}.id = s.member_id AND {member}.id BETWEEN %s AND %s
            """,  # noqa: S608
            [now, day, lo, hi, lo, hi],
        )
        cursor.execute(
            f"UPDATE {lot} AS l SET remaining = 0 WHERE {due}",  # noqa: S608
            [day, lo, hi],
        )
    if late:
        entries += len(late)
        lots += lots_late
    return {"entries": entries, "lots": lots, "points": points}


def _expire_late_lots(day: dt.date, member_ids: list[int], *, note: str) -> int:
    """Expire the due lots of ``day`` of members (locked by the caller) who have that date's
    ``expire`` entry already: a lot given a last day in the past after that day's run. Each gets a
    second entry for the date, keyed by its first due lot; returns the lots expired."""

    members = Member.objects.select_related("shop").in_bulk(member_ids)
    lots_by_member: dict[int, list[PointLot]] = {}
    for lot in PointLot.objects.filter(
        member_id__in=member_ids, remaining__gt=0, expires_on=day
    ).order_by("id"):
        lots_by_member.setdefault(lot.member_id, []).append(lot)
    for member_id, lots in lots_by_member.items():
        expire_lots_now(
            members[member_id],
            lots,
            key=f"{expire_key_prefix(day)}{member_id}:lot:{lots[0].pk}",
            note=note,
        )
    return sum(len(lots) for lots in lots_by_member.values())


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
        if changed:
            tiers_evaluated.send(sender=Shop, shop_id=shop.pk, changed=changed)
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
    ``evaluation_date``, never below the member's manual tier. Returns how many tiers changed.

    Per batch of members (ascending id), the new tiers are computed first without locks; only the
    members whose tier changes are then locked (ascending id) and written, by a statement that
    computes their tier again under the lock, so a change committed in between (an upgrade, a new
    manual tier) is taken into account and a member whose tier no longer changes is left alone.
    """
    if not Tier.objects.filter(shop=shop).exists():
        return 0
    until = evaluation_date + dt.timedelta(days=1)
    targets = _TierTargets(shop, rules.qualifying_windows(until, window=shop.tier_window))
    changed = 0
    last_id = 0
    while True:
        ids = list(
            Member.objects.filter(shop=shop, pk__gt=last_id)
            .exclude(status=Member.Status.ERASED)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        last_id = ids[-1]
        with transaction.atomic():
            _no_jit()
            changing = targets.changing(ids[0], ids[-1])
            if changing:
                locked = lock_members(list(changing))
                if locked:
                    changed += targets.write(locked)
                    _announce_upgrades(shop, {pk: changing[pk] for pk in locked})
    return changed


def _announce_upgrades(shop: Shop, tier_before: dict[int, int | None]) -> None:
    """The "new tier" notice for members the evaluation moved up (a manual floor, say), in the
    batch's transaction; members moved down are not told."""
    rank = dict(Tier.objects.filter(shop=shop).values_list("pk", "threshold"))
    members = Member.objects.select_related("shop", "tier").filter(
        pk__in=list(tier_before), line_user_id__isnull=False
    )
    for member in members:
        if rank.get(member.tier_id, -1) > rank.get(tier_before[member.pk], -1):
            tier_announce(member)


def _db_datetime(value: dt.datetime):
    """An aware datetime as the database stores it, for raw SQL: on SQLite the UTC text Django
    writes (Python's own adapter would send local time with an offset, which compares wrongly as
    text against stored UTC values); on PostgreSQL the aware value itself."""
    return connection.ops.adapt_datetimefield_value(value)


class _TierTargets:
    """The SQL for members' new tiers in one shop: the highest tier whose threshold the points
    earned in any of the windows reach, or the manual tier if that is higher.

    That is ``rules.tier_with_floor`` (the one tier-floor rule) written in SQL, so that a whole
    shop is evaluated in a few statements: ``new_tier`` is the highest-threshold tier among those
    with ``threshold <= greatest(window sums)`` and the member's ``manual_tier_id`` (thresholds are
    unique per shop). tests/members/test_tier_floor_rule.py checks that the two agree.

    Earned points are the qualifying credits (``TIER_QUALIFYING_KINDS``) minus the reversals of
    such credits, summed per window from one scan of the batch's entries.
    """

    def __init__(self, shop: Shop, windows) -> None:
        self.shop = shop
        entry, member, tier = _t(LedgerEntry), _t(Member), _t(Tier)
        kinds = list(TIER_QUALIFYING_KINDS)
        kind_params = ", ".join(["%s"] * len(kinds))
        sums, sum_params = [], []
        for i, (start, end) in enumerate(windows):
            cond = "e.created_at < %s"
            p = [_db_datetime(local_midnight(end))]
            if start is not None:
                cond = "e.created_at >= %s AND " + cond
                p = [_db_datetime(local_midnight(start)), *p]
            sums.append(f"SUM(CASE WHEN {cond} THEN e.points ELSE 0 END) AS w{i}")
            sum_params += p
        greatest = "COALESCE(q.w0, 0)"
        for i in range(1, len(windows)):
            w = f"COALESCE(q.w{i}, 0)"
            greatest = f"CASE WHEN {w} > {greatest} THEN {w} ELSE {greatest} END"
        earliest = [s for s, _e in windows if s is not None]
        range_cond, range_params = "", []
        if len(earliest) == len(windows):
            range_cond = "AND e.created_at >= %s"
            range_params = [_db_datetime(local_midnight(min(earliest)))]
        # Members of one id range with their tier now and their new tier. The entries are found
        # by member id alone, through the (member, created_at) index: an entry's shop is always
        # its member's, and the join to the shop's members drops any other. (With the shop in
        # the condition PostgreSQL combined the member range with a bitmap of the whole shop's
        # entries from the (shop, kind, created_at) index, which cost more than the rest.) A
        # reversal counts when the entry it reverses is a qualifying credit: found by EXISTS on
        # the primary key and bounded to the batch's members (a reversal is always written on
        # the reversed entry's member), so that neither a hash join nor a hashed subplan reads
        # the whole ledger per batch, as the join this replaced did.
        self.sql = f"""
            SELECT m.id AS member_id, m.tier_id AS tier_id,
                -- rules.tier_with_floor(greatest, the shop's tiers, m.manual_tier_id)
                (SELECT t.id FROM {tier} t
                 WHERE t.shop_id = m.shop_id
                   AND (t.threshold <= {greatest} OR t.id = m.manual_tier_id)
                 ORDER BY t.threshold DESC LIMIT 1) AS new_tier
            FROM {member} m
            LEFT JOIN (
                SELECT e.member_id, {", ".join(sums)}
                FROM {entry} e
                WHERE e.member_id BETWEEN %s AND %s {range_cond}
                  AND (e.kind IN ({kind_params})
                       OR (e.kind = %s AND EXISTS (
                           SELECT 1 FROM {entry} r
                           WHERE r.id = e.reversal_of_id AND r.kind IN ({kind_params})
                             AND r.member_id BETWEEN %s AND %s)))
                GROUP BY e.member_id
            ) q ON q.member_id = m.id
            WHERE m.shop_id = %s AND m.id BETWEEN %s AND %s AND m.status <> %s
        """  # noqa: S608 - table names from model metadata, values as parameters
        self._parts = (sum_params, range_params, kinds)

    def params(self, lo: int, hi: int) -> list:
        sum_params, range_params, kinds = self._parts
        return [
            *sum_params,
            lo,
            hi,
            *range_params,
            *kinds,
            EntryKind.REVERSAL,
            *kinds,
            lo,
            hi,
            self.shop.pk,
            lo,
            hi,
            Member.Status.ERASED,
        ]

    def changing(self, lo: int, hi: int) -> dict[int, int | None]:
        """The members in [lo, hi] whose tier the evaluation changes, by id, with their tier now
        (read-only), in ascending id."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT x.member_id, x.tier_id FROM ({self.sql}) x "  # noqa: S608
                "WHERE COALESCE(x.tier_id, -1) <> COALESCE(x.new_tier, -1) ORDER BY x.member_id",
                self.params(lo, hi),
            )
            return dict(cursor.fetchall())

    def write(self, member_ids: list[int]) -> int:
        """Set the new tier of these members, which the caller has locked; their targets are
        computed again here, under the locks. Returns how many changed."""
        member = _t(Member)
        lo, hi = member_ids[0], member_ids[-1]
        now = _db_datetime(timezone.now())
        id_params = ", ".join(["%s"] * len(member_ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {member} SET tier_id = target.new_tier, tier_changed_at = %s,
                    updated_at = %s
                FROM ({self.sql}) AS target
                WHERE {member}.id = target.member_id
                  AND {member}.id BETWEEN %s AND %s AND {member}.id IN ({id_params})
                  AND COALESCE({member}.tier_id, -1) <> COALESCE(target.new_tier, -1)
                """,  # noqa: S608
                [now, now, *self.params(lo, hi), lo, hi, *member_ids],
            )
            return cursor.rowcount
