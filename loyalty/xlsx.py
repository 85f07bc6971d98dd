"""Writing spreadsheets people open in Excel or LibreOffice: streamed, and safe to open.

Workbooks are written by XlsxWriter in its constant-memory mode: each row goes to the sheet's file
as soon as the next one starts, so a 100,000-row export holds one row in memory, whatever its size.

A cell that starts with = + - − @ tab or CR (or their full-width forms) would be run as a formula by
a spreadsheet (CSV/formula injection: a member named "=HYPERLINK(...)"); such text is written as
text with Excel's "quote prefix", never as a formula. All text is written as text, with
``write_string`` (``#N/A`` stays words, a number-like code keeps its zeros), never through
XlsxWriter's guessing ``write``. Characters XML 1.0 cannot hold (control characters,
U+FFFE/U+FFFF, surrogates: ``loyalty.text``) are left out, whatever is stored, so a file is always
readable. Dates and times are real dates in the given number formats, aware times in local time
(Excel has no time zones).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone
from xlsxwriter import Workbook

from loyalty.text import XML_REFUSED

FORMULA_STARTS = ("=", "+", "-", "\u2212", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)  # each is one character
MAX_TEXT = 32767  # Excel's limit
# What a date or a time looks like when the caller gives no format (openpyxl's defaults).
DEFAULT_DATE_FORMAT = "yyyy-mm-dd"
DEFAULT_DATETIME_FORMAT = "yyyy-mm-dd h:mm:ss"
HEADER_FILL = "#E7F8EE"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# Text that needs more than writing as it is: a character XML cannot hold, or a carriage return
# (XlsxWriter would write it as "_x000D_", which only Excel reads back; as a line feed it reads
# back the same everywhere, which is also what an XML reader makes of a bare CR).
_illegal = re.compile(XML_REFUSED.pattern + "|\r").search


def safe_value(value):
    """The value to write: numbers and dates as they are (aware times in local time, as Excel
    has no time zones), anything else as text."""
    if value is None or isinstance(value, bool | int | float | Decimal | dt.date | dt.time):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return timezone.localtime(value).replace(tzinfo=None)
        return value
    return str(value)


def sheet_title(title: Any, taken: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique in the workbook
    (``taken`` holds the names given so far, case-folded)."""
    base = _SHEET_FORBIDDEN.sub(" ", str(title)).strip()[:31] or "-"
    name, n = base, 2
    while name.casefold() in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.casefold())
    return name


@dataclass
class Sheet:
    """One sheet to write: an optional header row (bold; filled and frozen when ``styled``), the
    column widths, then ``rows`` (sequences of values; None is an empty cell)."""

    title: Any
    rows: Iterable[Sequence[Any]]
    header: Sequence[Any] = ()
    widths: Sequence[int] = ()
    styled: bool = False


class _Cells:
    """Writes one row of values into a sheet, formula-safe, with the workbook's formats."""

    def __init__(self, workbook: Workbook, *, date_format: str, datetime_format: str) -> None:
        self.quoted = workbook.add_format({"quote_prefix": True})
        self.date = workbook.add_format({"num_format": date_format})
        self.datetime = workbook.add_format({"num_format": datetime_format})
        self.time = workbook.add_format({"num_format": "h:mm:ss"})

    def text(self, sheet, row: int, col: int, text: str, style=None) -> None:
        quoted = bool(text) and text[0] in _FORMULA_FIRST  # "\r…" too, a "\n…" once written
        if _illegal(text) is not None:
            text = XML_REFUSED.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT]
        if not text:  # an empty cell, as openpyxl read what it wrote for ""
            return
        if quoted or text[0] in _FORMULA_FIRST:
            style = self.quoted  # (a header that starts so is not bold: text first)
        sheet.write_string(row, col, text, style)

    def row(self, sheet, row: int, values: Sequence[Any]) -> None:
        write_number = sheet.write_number
        for col, value in enumerate(values):
            kind = type(value)
            if kind is str:
                # The common case: ordinary text, written as it is.
                if (
                    value
                    and value[0] not in _FORMULA_FIRST
                    and len(value) <= MAX_TEXT
                    and _illegal(value) is None
                ):
                    sheet.write_string(row, col, value)
                else:
                    self.text(sheet, row, col, value)
            elif value is None:
                continue
            elif kind is int or kind is float:
                write_number(row, col, value)
            elif kind is bool:
                sheet.write_boolean(row, col, value)
            elif isinstance(value, Decimal):
                write_number(row, col, value)
            elif isinstance(value, dt.datetime):
                if value.tzinfo is not None:
                    value = timezone.localtime(value).replace(tzinfo=None)
                sheet.write_datetime(row, col, value, self.datetime)
            elif isinstance(value, dt.date):
                sheet.write_datetime(row, col, value, self.date)
            elif isinstance(value, dt.time):
                sheet.write_datetime(row, col, value, self.time)
            elif isinstance(value, bool | int | float):  # subclasses (IntEnum, …)
                write_number(row, col, value)
            else:
                self.text(sheet, row, col, str(value))


def write_xlsx(
    target: IO[bytes] | str,
    sheets: Iterable[Sheet],
    *,
    date_format: str | None = None,
    datetime_format: str | None = None,
) -> list[int]:
    """Write a workbook to ``target`` (a path or a binary file), one sheet per ``Sheet``, every
    cell formula-safe; dates and times in ``date_format`` / ``datetime_format``. Returns how many
    data rows (below the header) each sheet got."""
    workbook = Workbook(
        target,
        {
            "constant_memory": True,
            # Belt and braces: text is written with write_string, never guessed at.
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    cells = _Cells(
        workbook,
        date_format=date_format or DEFAULT_DATE_FORMAT,
        datetime_format=datetime_format or DEFAULT_DATETIME_FORMAT,
    )
    header_style = {"bold": True}
    styled_header = workbook.add_format({**header_style, "bg_color": HEADER_FILL})
    plain_header = workbook.add_format(header_style)
    taken: set[str] = set()
    counts = []
    try:
        for spec in sheets:
            sheet = workbook.add_worksheet(sheet_title(spec.title, taken))
            for index, width in enumerate(spec.widths):
                sheet.set_column(index, index, width)
            number = 0
            if spec.header:
                style = styled_header if spec.styled else plain_header
                for col, label in enumerate(spec.header):
                    cells.text(sheet, 0, col, str(label), style)
                if spec.styled:
                    sheet.freeze_panes(1, 0)
                number = 1
            first = number
            for values in spec.rows:
                cells.row(sheet, number, values)
                number += 1
            counts.append(number - first)
    finally:
        workbook.close()
    return counts


def write_workbook(target, sheets: Iterable[tuple[str, list[str], Iterable[Iterable]]]) -> None:
    """Write (title, headers, rows) sheets to ``target`` (a path or a binary file), streamed."""
    write_xlsx(
        target,
        [
            Sheet(title, (list(row) for row in rows), header=headers)
            for title, headers, rows in sheets
        ],
    )
