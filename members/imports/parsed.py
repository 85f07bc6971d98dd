"""The rows as validation parsed them, kept for the commit so that it does not read the file again.

Validation reads every cell of the upload (openpyxl, then ``planning.parse_row``); that is most of
its time, and the commit used to do all of it a second time. Instead validation writes each parsed
row (its clean values and its cell errors, before any check that needs the whole file or the
database) as one JSON line into a file next to the upload, in the same private storage, and the
commit reads that. The commit still does every check that can change between validation and
commit: the in-file checks against the shop's tags and tiers as they are then, and everything the
planner asks the database under the locks. The ledger keys still come from the upload's
fingerprint, so the same file uploaded again still never adds its points twice.

The file is written whole before the job is marked validated, begins with the format and the
upload's fingerprint and ends with the number of rows; a file that does not match the upload, or is
cut short, is not used (the commit then parses the upload, as before). It is deleted with the
upload (``services._delete_file``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import tempfile
from collections.abc import Iterator
from pathlib import PurePosixPath

from django.core.files import File

from members.imports.models import ImportJob
from members.imports.planning import ParsedRow, RowError

log = logging.getLogger(__name__)

FORMAT = "member-import-rows"
VERSION = 1


def parsed_rows_name(job: ImportJob) -> str | None:
    """Where the parsed rows of ``job`` are kept (next to its upload), or None without an upload."""
    if not job.file:
        return None
    return str(PurePosixPath(job.file.name).with_suffix(".rows.jsonl"))


def _encode(parsed: ParsedRow) -> list:
    return [
        parsed.row,
        parsed.phone,
        parsed.first_name,
        parsed.last_name,
        parsed.points,
        parsed.gender,
        parsed.birthday.isoformat() if parsed.birthday else None,
        parsed.email,
        parsed.tags,
        parsed.tier,
        parsed.customer_id,
        parsed.note,
        sorted(parsed.present),
        [[e.column, e.value, e.code, e.params] for e in parsed.errors],
        parsed.line_user_id,
    ]


def _decode(values: list) -> ParsedRow:
    (row, phone, first, last, points, gender, birthday, email, tags, tier, customer_id, note) = (
        values[:12]
    )
    present, errors = values[12], values[13]
    # Rows kept before the LINE user ID column existed have 14 values: no LINE id was read.
    line_user_id = values[14] if len(values) > 14 else None
    return ParsedRow(
        row=row,
        phone=phone,
        first_name=first,
        last_name=last,
        points=points,
        gender=gender,
        birthday=dt.date.fromisoformat(birthday) if birthday else None,
        email=email,
        tags=tags,
        tier=tier,
        customer_id=customer_id,
        line_user_id=line_user_id,
        note=note,
        present=set(present),
        errors=[
            RowError(row, column, value, code, params) for column, value, code, params in errors
        ],
    )


def _dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


class ParsedRowsWriter:
    """Collects the parsed rows of one validation in a temporary file; ``save`` puts them next to
    the upload (replacing what an earlier validation of the job kept)."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.count = 0
        self.tmp = tempfile.TemporaryFile()  # noqa: SIM115 - closed in save() or discard()
        self.tmp.write(_dumps({"format": FORMAT, "version": VERSION, "sha256": job.file_sha256}))
        self.tmp.write(b"\n")

    def __enter__(self) -> ParsedRowsWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.tmp.close()

    def add(self, parsed: ParsedRow) -> None:
        self.tmp.write(_dumps(_encode(parsed)))
        self.tmp.write(b"\n")
        self.count += 1

    def save(self) -> bool:
        """Store the rows next to the upload. False (and nothing kept) when that fails: the commit
        then reads the upload."""
        name = parsed_rows_name(self.job)
        if name is None:
            return False
        self.tmp.write(_dumps({"rows": self.count}))
        self.tmp.write(b"\n")
        self.tmp.flush()
        self.tmp.seek(0)
        storage = self.job.file.storage
        try:
            storage.delete(name)
            saved = storage.save(name, File(self.tmp, name=PurePosixPath(name).name))
        except OSError:
            log.warning("import %s: could not keep the parsed rows", self.job.public_id)
            return False
        if saved != name:  # the storage chose another name: nobody would find it
            storage.delete(saved)
            return False
        return True


def delete_parsed_rows(job: ImportJob) -> None:
    name = parsed_rows_name(job)
    if name is not None:
        with contextlib.suppress(OSError):
            job.file.storage.delete(name)


def _lines(f) -> Iterator[bytes]:
    # Not ``for line in f``: Django's File starts again from the top when iterated.
    return iter(f.readline, b"")


def _complete(job: ImportJob, name: str) -> bool:
    """The kept file belongs to this upload and format, and was written to its end."""
    storage = job.file.storage
    try:
        if not storage.exists(name):
            return False
        with storage.open(name, "rb") as f:
            header = json.loads(f.readline() or b"null")
            if not isinstance(header, dict) or header != {
                "format": FORMAT,
                "version": VERSION,
                "sha256": job.file_sha256,
            }:
                return False
            rows, last = 0, b""
            for line in _lines(f):
                rows += 1
                last = line
    except (OSError, ValueError):
        return False
    try:
        trailer = json.loads(last)
    except ValueError:
        return False
    return isinstance(trailer, dict) and trailer.get("rows") == rows - 1


@contextlib.contextmanager
def kept_rows(job: ImportJob) -> Iterator[Iterator[ParsedRow] | None]:
    """The rows validation kept for ``job``, in file order, or None when there are none to use."""
    name = parsed_rows_name(job)
    if name is None or not _complete(job, name):
        yield None
        return
    with job.file.storage.open(name, "rb") as f:
        f.readline()  # the header, checked above

        def rows() -> Iterator[ParsedRow]:
            for line in _lines(f):
                values = json.loads(line)
                if isinstance(values, dict):  # the trailer
                    return
                yield _decode(values)

        yield rows()
