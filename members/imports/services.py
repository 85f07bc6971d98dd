"""Every write of the member import: create a job from an upload, validate it (a django-q2 job),
confirm, commit (another job), cancel, and purge old uploads.

Rules kept here:
- Nothing is written to members or the ledger before the owner confirms a validated job.
- All or nothing: the commit is one transaction; if any row turns out wrong under the locks, it is
  rolled back and nothing is imported. Valid rows only: each chunk of rows is its own transaction,
  rows with errors are skipped and reported; a retried job resumes after the last committed chunk.
- Imported points are ``import`` credits under the shop's expiry policy, each with the ledger key
  ``import:<file sha-256>:<phone>``: the same file uploaded again never adds its points twice.
- Lock order Shop → Member: a commit chunk locks the shop (so nobody creates the same phone at the
  same moment), then the chunk's existing members in ascending id order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.utils import column_index_from_string, get_column_letter

from loyalty.bulk import insert_rows, update_rows
from loyalty.errors import ApplicationError, InvalidInput
from members.imports.cells import is_blank
from members.imports.files import (
    HEADER_SEARCH_ROWS,
    FileRefused,
    Table,
    open_table,
    sha256_of,
    sniff,
)
from members.imports.headers import (
    FIELDS,
    IGNORE,
    ColumnMap,
    UnnamedColumns,
    choose_header,
    header_score,
    is_column_letter,
    map_header,
)
from members.imports.messages import column_label
from members.imports.models import ImportJob, ImportRowError
from members.imports.parsed import ParsedRowsWriter, delete_parsed_rows, kept_rows
from members.imports.planning import (
    ERROR,
    NEW,
    UNCHANGED,
    UPDATE,
    ParsedRow,
    Planner,
    RowPlan,
    is_blank_row,
    parse_row,
)
from members.ledger.actors import Actor
from members.ledger.bulk import (
    Credit,
    OpeningCredit,
    members_create_with_credits,
    points_credit_many,
)
from members.ledger.errors import InvalidBranch
from members.ledger.models import ActorKind, Channel, EntryKind, LedgerEntry
from members.models import Member
from shops.models import Branch, Shop, User
from shops.services import lock_shop

log = logging.getLogger(__name__)

# Rows planned and written together (one transaction per chunk with valid rows only); progress is
# reported after each chunk.
CHUNK_ROWS = 1000


class ImportNotAllowed(ApplicationError):
    code = "import_not_allowed"


@dataclass
class Counts:
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    points: int = 0

    def add(self, plan: RowPlan) -> None:
        if plan.action == ERROR:
            self.errors += 1
            return
        self.new += plan.action == NEW
        self.updated += plan.action == UPDATE
        self.unchanged += plan.action == UNCHANGED
        self.points += plan.credit

    def as_fields(self) -> dict:
        return {
            "rows_total": self.rows,
            "new_count": self.new,
            "updated_count": self.updated,
            "unchanged_count": self.unchanged,
            "error_count": self.errors,
            "points_total": self.points,
        }

    @classmethod
    def of(cls, job: ImportJob) -> Counts:
        return cls(
            rows=job.rows_total,
            new=job.new_count,
            updated=job.updated_count,
            unchanged=job.unchanged_count,
            errors=job.error_count,
            points=job.points_total,
        )


def _enqueue(func: str, job: ImportJob) -> None:
    """Start a django-q2 job once the current transaction commits (``Q_CLUSTER["sync"]`` runs it
    at once, in this process: tests and single-process demos)."""
    from django_q.tasks import async_task

    sync = bool(settings.Q_CLUSTER.get("sync", False))
    transaction.on_commit(
        lambda: async_task(func, job.pk, sync=sync, task_name=f"{func.rsplit('.', 1)[-1]}-{job.pk}")
    )


# --- upload ---------------------------------------------------------------------------------------


@transaction.atomic
def import_job_create(
    *,
    shop: Shop,
    file: File,
    name: str,
    branch: Branch | None,
    policy: str = ImportJob.Policy.SKIP,
    mode: str = ImportJob.Mode.ALL_OR_NOTHING,
    created_by: User | None = None,
    start: bool = True,
) -> ImportJob:
    """Store an uploaded member list privately and queue its validation.

    Refuses (``FileRefused``) at once what cannot be imported: anything but xlsx and CSV, files over
    the size cap, zip bombs, password-protected, damaged and empty files. Refuses a branch of
    another shop or an inactive one. Writes nothing to members.
    """
    if branch is not None and (branch.shop_id != shop.pk or not branch.is_active):
        raise InvalidBranch(_("Choose an active branch of your shop."), field="branch")
    if policy not in ImportJob.Policy.values:
        raise InvalidInput(_("Choose what to do with members who already exist."), field="policy")
    if mode not in ImportJob.Mode.values:
        raise InvalidInput(_("Choose what to do with rows that have errors."), field="mode")
    size = getattr(file, "size", None)
    if size is not None and size > settings.LOYALTY_IMPORT_MAX_BYTES:
        raise FileRefused(
            "file_too_big",
            size=f"{size / 1048576:.1f}",
            limit=f"{settings.LOYALTY_IMPORT_MAX_BYTES / 1048576:.0f}",
        )
    job = ImportJob(
        shop=shop,
        branch=branch,
        policy=policy,
        mode=mode,
        original_name=Path(name).name[:255] or "members.xlsx",
        created_by=created_by,
    )
    job.file.save(job.original_name, file, save=False)
    try:
        with _local_copy(job) as path:
            sniff(path, job.original_name)
            job.file_size = path.stat().st_size
            job.file_sha256 = sha256_of(path)
    except FileRefused:
        job.file.delete(save=False)
        raise
    job.save()
    if start:
        _enqueue("members.imports.tasks.validate_import", job)
    return job


@contextlib.contextmanager
def _local_copy(job: ImportJob) -> Iterator[Path]:
    """A path on this machine to the job's file (a copy when the storage is remote)."""
    if not job.file:
        raise FileRefused("file_missing")
    try:
        path = Path(job.file.path)
    except NotImplementedError:
        path = None
    if path is not None:
        if not path.exists():
            raise FileRefused("file_missing")
        yield path
        return
    suffix = Path(job.original_name).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with job.file.open("rb") as source:
            shutil.copyfileobj(source, tmp)
        tmp.flush()
        yield Path(tmp.name)


# --- the pass over the file (shared by validation and commit) -------------------------------------


def _read_header(job: ImportJob, table: Table) -> tuple[ColumnMap, Iterator[tuple[int, tuple]]]:
    """The header of the table (on one of its first rows), read with the owner's column choices,
    and the rows after it."""
    found = choose_header(table.rows, job.column_mapping or {}, limit=HEADER_SEARCH_ROWS)
    if found is None:
        raise FileRefused("file_no_header")
    return found


def _parse_file(
    job: ImportJob,
    path: Path,
    *,
    on_header: Callable[[ColumnMap, Table], None] | None = None,
    keep: ParsedRowsWriter | None = None,
    unnamed: list[UnnamedColumns] | None = None,
) -> Iterator[ParsedRow]:
    """Read the file and yield each non-blank row as ``parse_row`` reads it (no checks that need
    the whole file or the database). With ``keep``, each row is also kept for the commit; with
    ``unnamed`` (an empty list), the columns with data and no header are noted in it."""
    table = open_table(path, job.original_name, header_score=header_score)
    try:
        columns, rows = _read_header(job, table)
        if on_header is not None:
            on_header(columns, table)
        seen = None
        if unnamed is not None:
            seen = UnnamedColumns(columns)
            unnamed.append(seen)
        today = timezone.localdate()
        limit = settings.LOYALTY_IMPORT_MAX_ROWS
        count = 0
        for number, values in rows:
            if is_blank_row(values):
                continue
            count += 1
            if count > limit:
                raise FileRefused("file_too_many_rows", limit=f"{limit:,}")
            if seen is not None:
                seen.see(number, values, is_blank)
            parsed = parse_row(values, columns, row=number, today=today)
            if keep is not None:
                keep.add(parsed)
            yield parsed
        if count == 0:
            raise FileRefused("file_no_rows")
    finally:
        table.close()


@contextlib.contextmanager
def _rows_to_commit(job: ImportJob) -> Iterator[Iterator[ParsedRow]]:
    """The rows of a validated job: as validation kept them, else parsed from the file again."""
    with kept_rows(job) as kept:
        if kept is not None:
            yield kept
            return
        with _local_copy(job) as path:
            yield _parse_file(job, path)


def _each_chunk(
    job: ImportJob, rows: Iterator[ParsedRow]
) -> Iterator[tuple[Planner, list[ParsedRow], int]]:
    """Yield (planner, chunk of parsed rows, rows read so far). In-file checks (the same phone or
    Customer ID twice, unknown tags and tiers) are done on every row, against the shop's tags and
    tiers as they are now."""
    planner = Planner(shop=job.shop, policy=job.policy, key_prefix=job.idempotency_prefix)
    chunk: list[ParsedRow] = []
    count = 0
    for parsed in rows:
        count += 1
        planner.check_in_file(parsed)
        chunk.append(parsed)
        if len(chunk) >= CHUNK_ROWS:
            yield planner, chunk, count
            chunk = []
    if chunk:
        yield planner, chunk, count


def _save_errors(job: ImportJob, plans: list[RowPlan]) -> None:
    ImportRowError.objects.bulk_create(
        [
            ImportRowError(
                shop_id=job.shop_id,
                job=job,
                row=e.row,
                column=e.column,
                value=e.value,
                code=e.code,
                params=e.params,
            )
            for plan in plans
            for e in plan.errors
        ],
        batch_size=2000,
    )


class _Progress:
    """Progress the page can poll. Inside the one transaction of an all-or-nothing commit an
    update of the job row would show only at the end, so on PostgreSQL it goes through a second
    connection of its own; SQLite serialises writers, so there the bar moves during validation and
    between the chunks of a valid-rows-only commit, and jumps at the end of an all-or-nothing one."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.side = None

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.side is not None:
            self.side.close()

    def report(self, **values) -> None:
        if not connection.in_atomic_block:
            ImportJob.objects.filter(pk=self.job.pk).update(updated_at=timezone.now(), **values)
            return
        if connection.vendor != "postgresql":
            return
        if self.side is None:
            self.side = connections.create_connection("default")
        quote = connection.ops.quote_name
        sets = ", ".join(f"{quote(name)} = %s" for name in values)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(ImportJob._meta.db_table)} SET {sets}, updated_at = %s "  # noqa: S608 - names from model metadata
                "WHERE id = %s",
                [*values.values(), timezone.now(), self.job.pk],
            )


# --- validation (the preview) ---------------------------------------------------------------------


def import_validate(*, job_id: int) -> ImportJob:
    """Check every row of the file and record the counts (new, updated, unchanged, errors) and
    every error, without writing to members or the ledger. Safe to run twice."""
    claimed = ImportJob.objects.filter(
        pk=job_id, state__in=[ImportJob.State.QUEUED, ImportJob.State.VALIDATING]
    ).update(state=ImportJob.State.VALIDATING, rows_done=0, updated_at=timezone.now())
    job = ImportJob.objects.select_related("shop", "branch").get(pk=job_id)
    if not claimed:
        return job
    ImportRowError.objects.filter(job=job).delete()
    try:
        counts = _validate_pass(job)
    except FileRefused as exc:
        return _refuse(job, exc)
    ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.VALIDATING).update(
        state=ImportJob.State.VALIDATED,
        validated_at=timezone.now(),
        rows_done=counts.rows,
        updated_at=timezone.now(),
        **counts.as_fields(),
    )
    job.refresh_from_db()
    return job


def _validate_pass(job: ImportJob) -> Counts:
    """Read and check the whole file, record its errors, and keep the parsed rows for the commit."""
    counts = Counts()
    header_row = 0
    tables: list[Table] = []

    header: list[ColumnMap] = []

    def on_header(columns: ColumnMap, table: Table) -> None:
        nonlocal header_row
        header_row = columns.header_row
        tables.append(table)
        header.append(columns)
        ImportJob.objects.filter(pk=job.pk).update(
            columns=columns.as_json(),
            header_row=columns.header_row,
            sheet_name=table.sheet_name[:100],
            rows_estimate=max(table.estimate - columns.header_row, 0),
        )

    with (
        _local_copy(job) as path,
        _Progress(job) as progress,
        ParsedRowsWriter(job) as keep,
    ):
        delete_parsed_rows(job)  # what an earlier run kept no longer counts
        unnamed: list[UnnamedColumns] = []
        rows = _parse_file(job, path, on_header=on_header, keep=keep, unnamed=unnamed)
        for planner, chunk, read in _each_chunk(job, rows):
            plans = planner.plan(chunk)
            for plan in plans:
                counts.add(plan)
            counts.rows = read
            _save_errors(job, [p for p in plans if p.errors])
            # A sheet that does not give its size: estimated from how much of it has been read.
            estimate = tables[0].estimate_after(read + header_row) - header_row if tables else 0
            progress.report(rows_done=read, rows_estimate=max(estimate, read))
        keep.save()
    if unnamed and unnamed[0].first_row:
        header[0].problems += unnamed[0].problems()
        ImportJob.objects.filter(pk=job.pk).update(columns=header[0].as_json())
    return counts


def _refuse(job: ImportJob, exc: FileRefused) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.REFUSED,
        failure={"code": exc.problem, "params": exc.params},
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    job.refresh_from_db()
    _delete_file(job)
    return job


# --- confirm, commit, cancel ----------------------------------------------------------------------


@transaction.atomic
def import_confirm(
    *, job: ImportJob, user: User | None, mode: str | None = None, start: bool = True
) -> ImportJob:
    """The owner's go-ahead for a validated import: queue the commit (``start=False``: the caller
    runs ``import_commit`` itself, as the command line does, and no worker must run it as well).
    All or nothing is refused while rows have errors; a job with nothing to import is refused."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state != ImportJob.State.VALIDATED:
        raise ImportNotAllowed(
            _("This import cannot be confirmed now (%(state)s).")
            % {"state": job.get_state_display()}
        )
    if mode is not None:
        if mode not in ImportJob.Mode.values:
            raise InvalidInput(_("Choose what to do with rows that have errors."), field="mode")
        job.mode = mode
    if job.mode == ImportJob.Mode.ALL_OR_NOTHING and job.error_count:
        raise ImportNotAllowed(
            _(
                "%(count)s rows have errors. Fix them and upload the file again, or choose to "
                "import the valid rows only."
            )
            % {"count": job.error_count}
        )
    if job.column_errors:
        raise ImportNotAllowed(
            _(
                "Nothing is imported until you choose what these columns hold, or ignore them: "
                "%(columns)s."
            )
            % {"columns": ", ".join(f"{p['letter']} “{p['label']}”" for p in job.column_errors)}
        )
    if job.new_count + job.updated_count == 0:
        raise ImportNotAllowed(_("There is nothing to import: no new or changed members."))
    job.state = ImportJob.State.COMMIT_QUEUED
    job.committed_by = user
    job.committed_at = timezone.now()
    job.rows_done = 0
    job.commit_row = 0
    job.rows_estimate = job.rows_total
    job.save(
        update_fields=[
            "state",
            "mode",
            "committed_by",
            "committed_at",
            "rows_done",
            "commit_row",
            "rows_estimate",
            "updated_at",
        ]
    )
    if start:
        _enqueue("members.imports.tasks.commit_import", job)
    return job


def import_header(*, job: ImportJob) -> ColumnMap:
    """The header of a job's file as the check reads it, with the job's column choices (reads only
    the top of the file). ``FileRefused`` when the file has no header."""
    with _local_copy(job) as path:
        table = open_table(path, job.original_name, header_score=header_score)
        try:
            columns, _rows = _read_header(job, table)
        finally:
            table.close()
    return columns


def _header_of(job: ImportJob) -> ColumnMap:
    """The job's header as its check found it (or, before the check, as the file has it)."""
    headers = (job.columns or {}).get("headers")
    if not headers:
        return import_header(job=job)
    values: list = [None] * (max(h["index"] for h in headers) + 1)
    for h in headers:
        values[h["index"]] = h["label"]
    return map_header(tuple(values), job.header_row, need_phone=False)


@transaction.atomic
def import_columns_map(*, job: ImportJob, mapping: dict[str, str], start: bool = True) -> ImportJob:
    """The owner says what columns hold: ``mapping`` is column letter → field (a key of
    ``headers.ALIASES``) or ``"ignore"``; the other columns are read by their names. The choices
    are kept on the job, the file is checked again with them (``start=False``: the caller runs
    ``import_validate`` itself, as the command line does), and the commit uses them.

    Refuses a letter that is not a named column of the header, a field chosen for two columns, and
    choices that leave no phone column. Allowed before the check and on a checked import that was
    not confirmed."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state not in (ImportJob.State.QUEUED, ImportJob.State.VALIDATED):
        raise ImportNotAllowed(
            _("The columns of this import cannot be changed now (%(state)s).")
            % {"state": job.get_state_display()}
        )
    header = _header_of(job)
    named = {get_column_letter(i + 1) for i, _label in header.headers}
    clean: dict[str, str] = {}
    for letter, choice in mapping.items():
        letter = str(letter).strip().upper()
        if not is_column_letter(letter) or letter not in named:
            raise InvalidInput(
                _("The header row has no column %(letter)s.") % {"letter": letter[:10]}
            )
        if choice not in (*FIELDS, IGNORE):
            raise InvalidInput(_("Choose what column %(letter)s holds.") % {"letter": letter})
        clean[letter] = choice
    taken: dict[str, str] = {}
    for letter in sorted(clean, key=column_index_from_string):
        choice = clean[letter]
        if choice != IGNORE and choice in taken:
            raise InvalidInput(
                _("Columns %(first)s and %(second)s are both %(field)s: choose one of them.")
                % {"first": taken[choice], "second": letter, "field": column_label(choice)}
            )
        taken[choice] = letter
    values: list = [None] * (max((i for i, _label in header.headers), default=-1) + 1)
    for i, label in header.headers:
        values[i] = label
    if "phone" not in map_header(tuple(values), header.header_row, clean, need_phone=False).index:
        raise InvalidInput(
            _("Choose the column that holds the phone numbers: every member needs one.")
        )
    job.column_mapping = clean
    if job.state == ImportJob.State.VALIDATED:
        # Checked again from the start: the old counts and errors no longer hold.
        job.state = ImportJob.State.QUEUED
        job.validated_at = None
        job.rows_done = 0
        for name, value in Counts().as_fields().items():
            setattr(job, name, value)
    job.save()
    if start:
        _enqueue("members.imports.tasks.validate_import", job)
    return job


@transaction.atomic
def import_cancel(*, job: ImportJob) -> ImportJob:
    """Drop an import that was not confirmed; its file is deleted. Nothing was written."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state not in (
        ImportJob.State.QUEUED,
        ImportJob.State.VALIDATING,
        ImportJob.State.VALIDATED,
        ImportJob.State.REFUSED,
    ):
        raise ImportNotAllowed(_("This import has been confirmed and cannot be cancelled."))
    job.state = ImportJob.State.CANCELLED
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "finished_at", "updated_at"])
    transaction.on_commit(lambda: _delete_file(job))
    return job


class _RowsHaveErrors(Exception):
    pass


def import_commit(*, job_id: int) -> ImportJob:
    """Write a confirmed import: new members, profile updates, and points. Safe to run twice: a
    finished job is left alone, a job interrupted half-way resumes (valid rows only) or starts
    again (all or nothing, whose transaction was rolled back)."""
    claimed = ImportJob.objects.filter(
        pk=job_id, state__in=[ImportJob.State.COMMIT_QUEUED, ImportJob.State.COMMITTING]
    ).update(state=ImportJob.State.COMMITTING, updated_at=timezone.now())
    job = ImportJob.objects.select_related("shop", "branch", "committed_by").get(pk=job_id)
    if not claimed:
        return job
    try:
        if job.mode == ImportJob.Mode.ALL_OR_NOTHING:
            counts = _commit_all_or_nothing(job)
        else:
            counts = _commit_valid_rows(job)
    except FileRefused as exc:
        return _fail(job, exc.problem, exc.params)
    except _RowsHaveErrors:
        # Rolled back. Record every error of the file as it stands now, for the owner to fix.
        ImportRowError.objects.filter(job=job).delete()
        with contextlib.suppress(FileRefused):
            counts = _validate_pass(job)
            ImportJob.objects.filter(pk=job.pk).update(**counts.as_fields())
        job.refresh_from_db()
        return _fail(job, "commit_has_errors", {"count": job.error_count})
    except Exception as exc:
        log.exception("import %s failed", job.public_id)
        return _fail(job, "commit_crashed", {"detail": type(exc).__name__})
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.DONE,
        finished_at=timezone.now(),
        rows_done=counts.rows,
        updated_at=timezone.now(),
        **counts.as_fields(),
    )
    job.refresh_from_db()
    _delete_file(job)
    return job


def _fail(job: ImportJob, code: str, params: dict) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.FAILED,
        failure={"code": code, "params": params},
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def _actor(job: ImportJob) -> Actor:
    if job.committed_by_id:
        return Actor(kind=ActorKind.STAFF, channel=Channel.IMPORT, user=job.committed_by)
    return Actor.system(channel=Channel.IMPORT)


class _PlannerStatistics:
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
        self.next = CHUNK_ROWS

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


def _commit_all_or_nothing(job: ImportJob) -> Counts:
    counts = Counts()
    ImportRowError.objects.filter(job=job).delete()
    statistics = _PlannerStatistics()
    with _rows_to_commit(job) as rows, _Progress(job) as progress, transaction.atomic():
        lock_shop(job.shop_id)
        for planner, chunk, read in _each_chunk(job, rows):
            plans = planner.plan(chunk, lock=True)
            if any(p.action == ERROR for p in plans):
                raise _RowsHaveErrors
            _apply(job, plans, actor=_actor(job))
            for plan in plans:
                counts.add(plan)
            counts.rows = read
            statistics.refresh(read)
            progress.report(rows_done=read)
    return counts


def _commit_valid_rows(job: ImportJob) -> Counts:
    resume_after = job.commit_row
    if resume_after:
        counts = Counts.of(job)  # what the committed chunks did
    else:
        # The preview's counts give way to what the commit does, chunk by chunk.
        counts = Counts(rows=job.rows_total)
        ImportJob.objects.filter(pk=job.pk).update(rows_done=0, **counts.as_fields())
    ImportRowError.objects.filter(job=job, row__gt=resume_after).delete()
    statistics = _PlannerStatistics()
    with _rows_to_commit(job) as rows:
        for planner, chunk, read in _each_chunk(job, rows):
            todo = [p for p in chunk if p.row > resume_after]
            if not todo:
                continue
            plans = _commit_chunk(job, planner, todo)
            for plan in plans:
                counts.add(plan)
            counts.rows = read
            statistics.refresh(read)
    return counts


def _commit_chunk(job: ImportJob, planner: Planner, rows: list[ParsedRow]) -> list[RowPlan]:
    """One chunk in one transaction, with the job's counts and resume point in the same one. A
    member created meanwhile by someone else (a unique phone or Customer ID clash) makes the
    chunk plan again once."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                lock_shop(job.shop_id)
                plans = planner.plan([_fresh(p) for p in rows], lock=True)
                _apply(job, plans, actor=_actor(job))
                _save_errors(job, [p for p in plans if p.errors])
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


def _fresh(parsed: ParsedRow) -> ParsedRow:
    """A copy whose database-found errors are dropped, so that planning again starts clean
    (the in-file errors found while reading stay)."""
    db_codes = {"customer_id_taken", "customer_id_bound", "member_blocked", "points_conflict"}
    copy = ParsedRow(**{f.name: getattr(parsed, f.name) for f in fields(ParsedRow)})
    copy.errors = [e for e in parsed.errors if e.code not in db_codes]
    copy.present = set(parsed.present)
    return copy


def _apply(job: ImportJob, plans: list[RowPlan], *, actor: Actor) -> None:
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
            credits=[_credit(job, p) if p.credit > 0 else None for p in new_plans],
            **credited_as,
        )
        _refused(result)
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

    # Points for members who were there already (add-points), as any credit.
    credits = [
        Credit(member_id=p.member_id, **vars(_credit(job, p)))
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
    _refused(result)


def _credit(job: ImportJob, plan: RowPlan) -> OpeningCredit:
    return OpeningCredit(
        points=plan.credit,
        idempotency_key=f"{job.idempotency_prefix}{plan.parsed.phone}",
        reference=f"import {job.public_id}",
    )


def _refused(result) -> None:
    if result.refused:
        # Planned under the same locks, so this is a bug or a clash the plan could not see.
        key, error = next(iter(result.refused.items()))
        raise IntegrityError(f"credit {key} refused: {error}")


# --- housekeeping ---------------------------------------------------------------------------------


def _delete_file(job: ImportJob) -> None:
    if job.file:
        delete_parsed_rows(job)
        with contextlib.suppress(OSError):
            job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")


FINISHED_STATES = (
    ImportJob.State.DONE,
    ImportJob.State.FAILED,
    ImportJob.State.REFUSED,
    ImportJob.State.CANCELLED,
)


def import_errors_purge(*, days: int = 30) -> int:
    """Delete the row errors of imports finished more than ``days`` ago: each holds a cell's value
    (a wrong phone, a name), and a finished job needs only its counts. Safe to run twice; returns
    how many rows were deleted."""
    cutoff = timezone.now() - dt.timedelta(days=days)
    finished = Q(job__finished_at__lt=cutoff) | Q(
        job__finished_at__isnull=True, job__created_at__lt=cutoff
    )
    deleted, _detail = ImportRowError.objects.filter(
        finished, job__state__in=FINISHED_STATES
    ).delete()
    return deleted


def imports_purge_stale(*, days: int = 7) -> int:
    """Delete the uploaded files of imports not confirmed within ``days`` (personal data is not
    kept longer than it is needed) and mark those jobs cancelled. Safe to run twice."""
    cutoff = timezone.now() - dt.timedelta(days=days)
    stale = ImportJob.objects.filter(
        created_at__lt=cutoff,
        state__in=[
            ImportJob.State.QUEUED,
            ImportJob.State.VALIDATED,
            ImportJob.State.REFUSED,
            ImportJob.State.FAILED,
            ImportJob.State.CANCELLED,
        ],
    ).exclude(file="")
    count = 0
    for job in stale:
        _delete_file(job)
        if job.state in (ImportJob.State.QUEUED, ImportJob.State.VALIDATED):
            ImportJob.objects.filter(pk=job.pk, state=job.state).update(
                state=ImportJob.State.CANCELLED, finished_at=timezone.now()
            )
        count += 1
    return count
