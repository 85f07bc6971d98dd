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
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.utils import column_index_from_string, get_column_letter

from loyalty.errors import ApplicationError, InvalidInput
from members.imports.committing import RowsHaveErrors, commit_all_or_nothing, commit_valid_rows
from members.imports.files import (
    FileRefused,
    Table,
    sha256_of,
    sniff,
)
from members.imports.headers import (
    ColumnMap,
    UnnamedColumns,
    is_column_letter,
    map_header,
)
from members.imports.messages import column_label
from members.imports.models import ImportJob, ImportRowError
from members.imports.names import FIELDS, IGNORE
from members.imports.parsed import ParsedRowsWriter, delete_parsed_rows
from members.imports.passes import (
    Counts,
    Progress,
    each_chunk,
    local_copy,
    open_job_file,
    parse_file,
    read_header,
    save_errors,
)
from members.ledger.errors import InvalidBranch
from shops.models import Branch, Shop, User

log = logging.getLogger(__name__)


class ImportNotAllowed(ApplicationError):
    code = "import_not_allowed"


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
        with local_copy(job) as path:
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
        local_copy(job) as path,
        Progress(job) as progress,
        ParsedRowsWriter(job) as keep,
    ):
        delete_parsed_rows(job)  # what an earlier run kept no longer counts
        unnamed: list[UnnamedColumns] = []
        rows = parse_file(job, path, on_header=on_header, keep=keep, unnamed=unnamed)
        for planner, chunk, read in each_chunk(job, rows):
            plans = planner.plan(chunk)
            for plan in plans:
                counts.add(plan)
            counts.rows = read
            save_errors(job, [p for p in plans if p.errors])
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
    with local_copy(job) as path:
        table = open_job_file(job, path)
        try:
            columns, _rows = read_header(job, table)
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
            counts = commit_all_or_nothing(job)
        else:
            counts = commit_valid_rows(job)
    except FileRefused as exc:
        return _fail(job, exc.problem, exc.params)
    except RowsHaveErrors:
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
