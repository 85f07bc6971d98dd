"""Writing the rows of a confirmed import (``services.import_commit`` calls these): all or nothing
(one transaction, rolled back if any row turns out wrong under the locks) or valid rows only (one
transaction per chunk, resumable after the last committed chunk). Lock order Shop → Member.
"""

from __future__ import annotations

import contextlib
import logging
from copy import copy as clone

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.bulk import insert_rows, update_rows
from members.imports import passes
from members.imports.models import ImportJob, ImportRowError
from members.imports.passes import Counts, Progress, each_chunk, rows_to_commit, save_errors
from members.imports.planning import (
    ERROR,
    NEW,
    UPDATE,
    ParsedRow,
    Planner,
    RowPlan,
)
from members.ledger.actors import Actor
from members.ledger.bulk import (
    Credit,
    OpeningCredit,
    members_create_with_credits,
    points_credit_many,
)
from members.ledger.models import ActorKind, Channel, EntryKind, LedgerEntry
from members.line.binding import members_bind_bulk
from members.line.models import BindingRecord
from members.models import Member
from shops.services import lock_shop

log = logging.getLogger(__name__)


class RowsHaveErrors(Exception):
    pass


def import_actor(job: ImportJob) -> Actor:
    if job.committed_by_id:
        return Actor(kind=ActorKind.STAFF, channel=Channel.IMPORT, user=job.committed_by)
    return Actor.system(channel=Channel.IMPORT)


def import_by(job: ImportJob) -> str:
    """How a binding record names who imported."""
    if job.committed_by_id:
        return f"import: {job.committed_by.get_username()}"
    return "import"


class PlannerStatistics:
    """Keeps PostgreSQL's statistics of the tables a commit fills in step with their growth.

    The planner's queries look members and ledger keys up by shop and phone, Customer ID or key.
    While the statistics still say the shop has next to no rows (a new shop, or one that has
    grown tenfold within the import, before autovacuum comes round), PostgreSQL reads them through
    the index on the shop alone and filters every row of the shop: a 100,000-row import then
    spent more of its time there than writing. So the tables are analysed after the first chunk
    and whenever the rows read have grown fourfold since (a handful of times, each a sample of
    the table). Without the right to analyse, nothing happens: the import is only slower.
    """

    def __init__(self) -> None:
        self.next = passes.CHUNK_ROWS

    def refresh(self, rows_read: int) -> None:
        if rows_read < self.next or connection.vendor != "postgresql":
            return
        self.next = rows_read * 4
        tables = ", ".join(
            connection.ops.quote_name(model._meta.db_table) for model in (Member, LedgerEntry)
        )
        with contextlib.suppress(DatabaseError), transaction.atomic(), connection.cursor() as c:
            # ANALYZE holds a lock on the table until the transaction ends (all or nothing: the
            # whole import), which another import's ANALYZE would wait for: give up instead.
            c.execute("SELECT current_setting('lock_timeout')")
            (previous,) = c.fetchone()
            c.execute("SELECT set_config('lock_timeout', '200ms', true)")
            c.execute(f"ANALYZE {tables}")
            c.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


def commit_all_or_nothing(job: ImportJob) -> Counts:
    counts = Counts()
    ImportRowError.objects.filter(job=job).delete()
    statistics = PlannerStatistics()
    with rows_to_commit(job) as rows, Progress(job) as progress, transaction.atomic():
        lock_shop(job.shop_id)
        for planner, chunk, read in each_chunk(job, rows):
            plans = planner.plan(chunk, lock=True)
            if any(p.action == ERROR for p in plans):
                raise RowsHaveErrors
            apply_plans(job, plans, actor=import_actor(job))
            for plan in plans:
                counts.add(plan)
            counts.rows = read
            statistics.refresh(read)
            progress.report(rows_done=read)
    return counts


def commit_valid_rows(job: ImportJob) -> Counts:
    resume_after = job.commit_row
    if resume_after:
        counts = Counts.of(job)  # what the committed chunks did
    else:
        # The preview's counts give way to what the commit does, chunk by chunk.
        counts = Counts(rows=job.rows_total)
        ImportJob.objects.filter(pk=job.pk).update(rows_done=0, **counts.as_fields())
    ImportRowError.objects.filter(job=job, row__gt=resume_after).delete()
    statistics = PlannerStatistics()
    with rows_to_commit(job) as rows:
        for planner, chunk, read in each_chunk(job, rows):
            todo = [p for p in chunk if p.row > resume_after]
            if not todo:
                continue
            plans = commit_chunk(job, planner, todo)
            for plan in plans:
                counts.add(plan)
            counts.rows = read
            statistics.refresh(read)
    return counts


def commit_chunk(job: ImportJob, planner: Planner, rows: list[ParsedRow]) -> list[RowPlan]:
    """One chunk in one transaction, with the job's counts and resume point in the same one. A
    member created meanwhile by someone else (a unique phone or Customer ID clash) makes the
    chunk plan again once."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                lock_shop(job.shop_id)
                plans = planner.plan([fresh(p) for p in rows], lock=True)
                apply_plans(job, plans, actor=import_actor(job))
                save_errors(job, [p for p in plans if p.errors])
                counts = Counts()
                for plan in plans:
                    counts.add(plan)
                ImportJob.objects.filter(pk=job.pk).update(
                    commit_row=rows[-1].row,
                    rows_done=F("rows_done") + len(rows),
                    new_count=F("new_count") + counts.new,
                    updated_count=F("updated_count") + counts.updated,
                    unchanged_count=F("unchanged_count") + counts.unchanged,
                    error_count=F("error_count") + counts.errors,
                    points_total=F("points_total") + counts.points,
                    updated_at=timezone.now(),
                )
                return plans
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def fresh(parsed: ParsedRow) -> ParsedRow:
    """A copy whose database-found errors are dropped, so that planning again starts clean
    (the in-file errors found while reading stay)."""
    copy = clone(parsed)  # a shallow copy, as ParsedRow(**fields) but without a dict per row
    copy.errors = [e for e in parsed.errors if e.code not in _DB_CODES]
    copy.present = set(parsed.present)
    return copy


_DB_CODES = frozenset(
    {
        "customer_id_taken",
        "customer_id_bound",
        "line_user_id_taken",
        "line_user_id_bound",
        "member_blocked",
        "points_conflict",
    }
)


def apply_plans(job: ImportJob, plans: list[RowPlan], *, actor: Actor) -> None:
    """Write one planned chunk (inside the caller's transaction, which holds the shop's lock)."""
    shop = job.shop
    now = timezone.now()
    new_plans = [p for p in plans if p.action == NEW]
    note = _("Opening balance imported from %(file)s") % {"file": job.original_name}
    # Every credit of an import, to new members and to those already there, is entered so.
    credited_as = {
        "kind": EntryKind.IMPORT,
        "actor": actor,
        "note": note,
        "branch": job.branch,
        "expires_on": True,
    }
    if new_plans:
        # New members are written with their opening points, balance and tier in one go.
        names = list(new_plans[0].changes)  # the same fields for every new member
        ids, result = members_create_with_credits(
            shop=shop,
            fields=["phone", *names],
            rows=[(p.parsed.phone, *(p.changes[name] for name in names)) for p in new_plans],
            same={
                "shop_id": shop.pk,
                "status": Member.Status.PENDING,
                "signup_branch_id": job.branch_id,
                "created_at": now,
            },
            credits=[opening_credit(job, p) if p.credit > 0 else None for p in new_plans],
            **credited_as,
        )
        raise_refused(result)
        for plan, member_id in zip(new_plans, ids, strict=True):
            plan.member_id = member_id

    through = Member.tags.through
    insert_rows(
        through,
        ["member_id", "tag_id"],
        [(p.member_id, tag_id) for p in plans if p.action in (NEW, UPDATE) for tag_id in p.tag_ids],
        ignore_conflicts=True,
    )

    # Profile updates, grouped by the fields that change (usually one group).
    groups: dict[tuple[str, ...], list[tuple]] = {}
    for plan in plans:
        if plan.action != UPDATE or not plan.changes:
            continue
        names = tuple(sorted(plan.changes))
        groups.setdefault(names, []).append(
            (plan.member_id, *(plan.changes[name] for name in names))
        )
    for names, rows in groups.items():
        update_rows(Member, names, rows, same={"updated_at": now})
    # Rows that bound a LINE id: recorded (via import), friends kept in step, signals on commit.
    bound = [
        (p.member_id, p.changes["line_user_id"])
        for p in plans
        if p.action in (NEW, UPDATE) and p.changes.get("line_user_id")
    ]
    if bound:
        members_bind_bulk(
            shop_id=shop.pk, bindings=bound, via=BindingRecord.Via.IMPORT, actor=import_by(job)
        )

    # Points for members who were there already (add-points), as any credit.
    credits = [
        Credit(member_id=p.member_id, **vars(opening_credit(job, p)))
        for p in plans
        if p.action == UPDATE and p.credit > 0
    ]
    if not credits:
        return
    result = points_credit_many(
        shop=shop,
        credits=credits,
        **credited_as,
    )
    raise_refused(result)


def opening_credit(job: ImportJob, plan: RowPlan) -> OpeningCredit:
    return OpeningCredit(
        points=plan.credit,
        idempotency_key=f"{job.idempotency_prefix}{plan.parsed.phone}",
        reference=f"import {job.public_id}",
    )


def raise_refused(result) -> None:
    if result.refused:
        # Planned under the same locks, so this is a bug or a clash the plan could not see.
        key, error = next(iter(result.refused.items()))
        raise IntegrityError(f"credit {key} refused: {error}")
