"""Writing spreadsheets people open in Excel or LibreOffice: streamed, write-only, and safe.

A cell that starts with = + - − @ tab or CR would be run as a formula by a spreadsheet (CSV/formula
injection: a member named "=HYPERLINK(...)"); such text is written as text, never as a formula.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable
from decimal import Decimal

from django.http import FileResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

FORMULA_STARTS = ("=", "+", "-", "−", "@", "\t", "\r")


def safe_value(value):
    """The value to write: numbers and dates as they are, text that could be a formula as text."""
    if value is None or isinstance(value, bool | int | float | Decimal | dt.date | dt.datetime):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            from django.utils import timezone

            return timezone.localtime(value).replace(tzinfo=None)
        return value
    return str(value)


def _cell(sheet, value, *, bold: bool = False):
    value = safe_value(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        cell.data_type = "s"  # a string cell: openpyxl would otherwise store "=..." as a formula
    if bold:
        cell.font = Font(bold=True)
    return cell


def write_workbook(path, sheets: Iterable[tuple[str, list[str], Iterable[Iterable]]]) -> None:
    """Write (title, headers, rows) sheets to ``path`` with a write-only (streaming) workbook."""
    workbook = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append([_cell(sheet, h, bold=True) for h in headers])
        for row in rows:
            sheet.append([_cell(sheet, v) for v in row])
    workbook.save(path)


def xlsx_response(filename: str, sheets) -> FileResponse:
    """A download of the sheets, written to a temporary file first (memory stays flat)."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - closed by FileResponse
    write_workbook(handle, sheets)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
