"""What may be opened, and the rows of what was.

Only Excel workbooks (.xlsx) and CSV are read. Everything else gets a message that says what the
file is and how to save it as .xlsx: old Excel (.xls), Apple Numbers, OpenDocument, macro or binary
workbooks, password-protected workbooks (an encrypted OOXML package inside an OLE2 container),
damaged and empty files.

An xlsx file is a zip: before anything parses it, the zip's directory is checked for the number of
parts and their declared unpacked size (Python's zipfile never inflates a member past its declared
size, so the declared sizes bound the work; calamine is never given a refused file). The sheet is
then read by python-calamine (``sheets``), which expands no XML entity. A CSV is decoded (UTF-8 or
Thai Windows) and read by Python's csv module. The row cap is checked as the rows are read
(``services``).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from loyalty.errors import InvalidInput
from members.imports.messages import describe

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# Stream names of an encrypted OOXML package (MS-OFFCRYPTO), as stored in the OLE2 directory.
ENCRYPTED_MARKERS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
MAX_ZIP_ENTRIES = 1000
# The header must be near the top; rows above it (a title, a date) are skipped.
HEADER_SEARCH_ROWS = 20
CSV_ENCODINGS = ("utf-8-sig", "cp874")  # UTF-8 (with or without BOM); Thai Windows Excel's CSV


class FileRefused(InvalidInput):
    """The file itself cannot be imported; ``problem`` is a code of ``messages.FILE_PROBLEMS``."""

    code = "file_refused"

    def __init__(self, problem: str, **params) -> None:
        super().__init__(describe(problem, params), code=problem)
        self.problem = problem
        self.params = params


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


def sniff(path: Path, name: str = "") -> str:
    """``"xlsx"`` or ``"csv"`` for a file that may be opened, else ``FileRefused`` saying why."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise FileRefused("file_empty")
    limit = settings.LOYALTY_IMPORT_MAX_BYTES
    if size > limit:
        raise FileRefused("file_too_big", size=_mb(size), limit=_mb(limit))
    ext = Path(name or path.name).suffix.lower()
    with path.open("rb") as f:
        head = f.read(8)
    if head == OLE2_MAGIC:
        data = path.read_bytes()
        if any(marker in data for marker in ENCRYPTED_MARKERS):
            raise FileRefused("file_password")
        raise FileRefused("file_xls")
    if head.startswith(ZIP_MAGIC):
        return _check_zip(path, ext)
    if ext == ".numbers":
        raise FileRefused("file_numbers")
    if ext in (".xlsx", ".xlsm", ".xlsb", ".ods"):
        raise FileRefused("file_corrupt")
    if ext == ".xls":
        # Many systems export an HTML table or tab-separated text named .xls.
        raise FileRefused("file_xls")
    if ext == ".csv":
        with path.open("rb") as f:
            sample = f.read(64 * 1024)
        if b"\x00" in sample:
            raise FileRefused("file_corrupt")
        return "csv"
    raise FileRefused("file_type")


def _check_zip(path: Path, ext: str) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                raise FileRefused(
                    "file_zip_bomb", limit=_mb(settings.LOYALTY_IMPORT_MAX_UNPACKED_BYTES)
                )
            unpacked = sum(info.file_size for info in infos)
            if unpacked > settings.LOYALTY_IMPORT_MAX_UNPACKED_BYTES:
                raise FileRefused(
                    "file_zip_bomb", limit=_mb(settings.LOYALTY_IMPORT_MAX_UNPACKED_BYTES)
                )
            names = {info.filename for info in infos}
            if any(info.flag_bits & 0x1 for info in infos):
                raise FileRefused("file_password")
            if ext == ".numbers" or any(n.startswith("Index/") for n in names):
                raise FileRefused("file_numbers")
            if "mimetype" in names and b"opendocument" in archive.read("mimetype")[:100]:
                raise FileRefused("file_ods")
            if ext in (".xlsm", ".xlsb") or "xl/workbook.bin" in names:
                raise FileRefused("file_macro")
            if "xl/vbaProject.bin" in names:
                raise FileRefused("file_macro")
            if "xl/workbook.xml" not in names:
                raise FileRefused("file_corrupt")
    except zipfile.BadZipFile:
        raise FileRefused("file_corrupt") from None
    if ext == ".csv":
        raise FileRefused("file_corrupt")
    return "xlsx"


# --- rows ------------------------------------------------------------------------------------------


@dataclass
class Table:
    """The rows of one sheet: ``rows`` yields ``(sheet row number, tuple of cell values)``;
    ``estimate`` is about how many rows there are (0 when unknown), for progress bars."""

    kind: str
    sheet_name: str
    estimate: int
    rows: Iterator[tuple[int, tuple]]
    _close: object = None

    def close(self) -> None:
        if callable(self._close):
            self._close()

    def estimate_after(self, rows_read: int) -> int:
        """About how many rows there are, once ``rows_read`` rows have been read (both readers
        know the count up front: calamine the sheet's last row, the CSV its lines)."""
        return max(self.estimate, rows_read) if self.estimate else 0


def open_table(path: Path, name: str = "", *, header_score=None) -> Table:
    """Open a checked file and return its member sheet's rows.

    In a workbook with several sheets, the member list is the visible sheet whose top rows hold
    the best header (``header_score(rows)``; ties go to the active sheet, then the first), so an
    instructions sheet is passed over wherever it is.
    """
    kind = sniff(path, name)
    if kind == "csv":
        return _open_csv(Path(path))
    return _open_xlsx(Path(path), header_score)


def _open_xlsx(path: Path, header_score) -> Table:
    from members.imports import sheets

    try:
        workbook = sheets.open_workbook(path)
    except Exception:  # any failure to parse is a damaged file to the user
        raise FileRefused("file_corrupt") from None
    try:
        names = sheets.visible_sheet_names(workbook)
        if not names:
            raise FileRefused("file_no_header")
        chosen = workbook.get_sheet_by_name(names[0])
        if header_score is not None and len(names) > 1:
            best = None
            for name in names:
                sheet = workbook.get_sheet_by_name(name)
                top = [row for _n, row in sheets.numbered_rows(sheet, limit=HEADER_SEARCH_ROWS)]
                score = header_score(top)
                if best is None or score > best:  # ties go to the first
                    best, chosen = score, sheet
        estimate = sheets.row_count(chosen)
    except FileRefused:
        workbook.close()
        raise
    except Exception:
        workbook.close()
        raise FileRefused("file_corrupt") from None

    def rows():
        try:
            yield from sheets.numbered_rows(chosen)
        except FileRefused:
            raise
        except Exception:  # a damaged part found half-way
            raise FileRefused("file_corrupt") from None

    return Table("xlsx", chosen.name, estimate, rows(), workbook.close)


def _decode_csv(path: Path) -> tuple[str, str]:
    raw = path.read_bytes()
    for encoding in CSV_ENCODINGS:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise FileRefused("file_encoding")


def _csv_delimiter(text: str) -> str:
    """The delimiter of the header line: comma, semicolon (Excel in some locales), tab or |."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _open_csv(path: Path) -> Table:
    # The whole file is decoded up front to choose the encoding (it is at most the size cap).
    text, _encoding = _decode_csv(path)
    delimiter = _csv_delimiter(text)
    estimate = text.count("\n") + (0 if text.endswith("\n") else 1)

    def rows():
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for number, values in enumerate(reader, start=1):
                yield number, tuple(values)
        except csv.Error:
            raise FileRefused("file_corrupt") from None

    return Table("csv", "", estimate, rows())


def sha256_of(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["FileRefused", "Table", "open_table", "sha256_of", "sniff"]
