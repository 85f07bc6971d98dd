"""The pass over an import's file, shared by validation and commit: the local copy of the upload,
the header, the parsed rows (kept between validation and commit: ``parsed``), the rows in chunks
with their planner, the errors saved, the progress reported, and the counts."""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from members.imports.cells import is_blank
from members.imports.files import (
    HEADER_SEARCH_ROWS,
    FileRefused,
    Table,
    open_table,
)
from members.imports.headers import (
    ColumnMap,
    UnnamedColumns,
    choose_header,
    header_score,
)
from members.imports.models import ImportJob, ImportRowError
from members.imports.parsed import ParsedRowsWriter, kept_rows
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

log = logging.getLogger(__name__)

# Rows planned and written together (one transaction per chunk with valid rows only); progress is
# reported after each chunk. (5000 was tried: no less CPU in bench/imports.py at 20,000 rows,
# commit 2.89 s vs 2.60 s, and 25 MB more peak memory.)
CHUNK_ROWS = 1000


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


@contextlib.contextmanager
def local_copy(job: ImportJob) -> Iterator[Path]:
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


def open_job_file(job: ImportJob, path: Path) -> Table:
    """The member sheet of the job's file (``files.open_table``), chosen by its header."""
    return open_table(path, job.original_name, header_score=header_score)


def read_header(job: ImportJob, table: Table) -> tuple[ColumnMap, Iterator[tuple[int, tuple]]]:
    """The header of the table (on one of its first rows), read with the owner's column choices,
    and the rows after it."""
    found = choose_header(table.rows, job.column_mapping or {}, limit=HEADER_SEARCH_ROWS)
    if found is None:
        raise FileRefused("file_no_header")
    return found


def parse_file(
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
    table = open_job_file(job, path)
    try:
        columns, rows = read_header(job, table)
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
def rows_to_commit(job: ImportJob) -> Iterator[Iterator[ParsedRow]]:
    """The rows of a validated job: as validation kept them, else parsed from the file again."""
    with kept_rows(job) as kept:
        if kept is not None:
            yield kept
            return
        with local_copy(job) as path:
            yield parse_file(job, path)


def each_chunk(
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


def save_errors(job: ImportJob, plans: list[RowPlan]) -> None:
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


class Progress:
    """Progress the page can poll. Inside the one transaction of an all-or-nothing commit an
    update of the job row would show only at the end, so on PostgreSQL it goes through a second
    connection of its own; SQLite serialises writers, so there the bar moves during validation and
    between the chunks of a valid-rows-only commit, and jumps at the end of an all-or-nothing one."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.side = None

    def __enter__(self) -> Progress:
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
