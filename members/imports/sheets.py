"""Reading a workbook's sheets with python-calamine (Rust's calamine), for a file ``files`` checked.

calamine parses the workbook with quick-xml, which processes no document type declaration: an
entity a sheet declares (a "billion laughs", an external entity) is never expanded, and using one
is an error, which ``files`` turns into "the file is damaged". It is several times faster than
openpyxl's reader and gives each cell's value (a formula's cached value, a shared or inline
string, rich text as its plain text).

The values are made what the rest of the import reads (``cells``), as openpyxl gave them:

- an empty cell (calamine's ``""``) and an error cell (``#N/A``) are ``None``;
- a whole number is an ``int`` (calamine gives every number as a float; Excel writes whole
  numbers without a point, and openpyxl read them as ints): a phone typed as a number keeps its
  digits;
- dates, times and date-times are ``datetime`` objects as calamine gives them (a date with no
  time is a ``date``);
- a row is as wide as its last non-empty cell, and rows with nothing in them are left out.
"""

from __future__ import annotations

from collections.abc import Iterator

from python_calamine import CalamineSheet, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

# Whole numbers below this are exact in a float, and Excel shows them as digits.
_EXACT = 10**15


def open_workbook(path) -> CalamineWorkbook:
    """The calamine workbook of a checked file (``files.sniff``)."""
    return CalamineWorkbook.from_path(str(path))


def visible_sheet_names(workbook: CalamineWorkbook) -> list[str]:
    """The names of the visible worksheets (not chart sheets), in the workbook's order."""
    return [
        meta.name
        for meta in workbook.sheets_metadata
        if meta.typ == SheetTypeEnum.WorkSheet and meta.visible == SheetVisibleEnum.Visible
    ]


def row_count(sheet: CalamineSheet) -> int:
    """The number of the sheet's last row that holds anything (0 for an empty sheet)."""
    end = sheet.end
    return 0 if end is None else end[0] + 1


def _value(value):
    kind = type(value)
    if kind is str:
        return value or None
    if kind is float:
        if value.is_integer() and -_EXACT < value < _EXACT:
            return int(value)
        return value
    return value


def numbered_rows(sheet: CalamineSheet, *, limit: int | None = None) -> Iterator[tuple[int, tuple]]:
    """(sheet row number, values) of each row that holds anything, values from column A (see the
    module docstring); the first ``limit`` rows of the sheet only, when given."""
    start = sheet.start
    if start is None:  # an empty sheet
        return
    # calamine's rows are numbered from the sheet's first row, its columns from the first column
    # that holds anything: the columns before it are given back as empty.
    pad = (None,) * start[1]
    for index, raw in enumerate(sheet.iter_rows()):
        number = index + 1
        if limit is not None and number > limit:
            return
        values = [_value(value) for value in raw]
        while values and values[-1] is None:
            values.pop()
        if values:
            yield number, pad + tuple(values)
