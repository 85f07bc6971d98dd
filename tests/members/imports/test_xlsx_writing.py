"""``loyalty.xlsx.write_xlsx`` (XlsxWriter, constant memory): a reader sees the cells openpyxl's
write-only writer gave for the same formula-safe cells (value, type, number format, quote prefix),
as the exports wrote them before, and no cell is ever a formula."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

from loyalty import xlsx
from loyalty.text import XML_REFUSED
from tests.members.imports.conftest import DANGEROUS

DATE, DATETIME = "dd/mm/yyyy", "dd/mm/yyyy hh:mm"

VALUES = [
    "สมชาย",
    "ณ อยุธยา",
    " leading space",
    "trailing space ",
    "\u00a0nbsp\u00a0",
    "two\nlines",
    "tab\tinside",
    "a & b <c> d",
    *DANGEROUS,
    "#N/A",
    "#REF!",
    "#hashtag",
    "bad\x00char\x1f",
    "\x01=after control",
    "",
    "x" * 40000,
    0,
    -5,
    1500,
    10**17,
    12.5,
    1e20,
    Decimal("12.50"),
    True,
    False,
    dt.date(1990, 3, 15),
    dt.date(1900, 2, 1),
    dt.datetime(2026, 12, 1, 10, 30, 15),
    dt.datetime(2026, 12, 1, 3, 30, tzinfo=dt.UTC),
    None,
]


def cells_of(data: bytes) -> list[list[tuple]]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [
        [
            (c.value, c.data_type, c.number_format, bool(c.quotePrefix))
            for c in row
            if c.value is not None
        ]
        for row in sheet.iter_rows()
    ]


def reference_cell(sheet, value):
    """The formula-safe cell openpyxl wrote for a value, as the exports wrote them before."""
    value = xlsx.safe_value(value)
    if isinstance(value, str):
        value = XML_REFUSED.sub("", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(xlsx.FORMULA_STARTS):
            cell.quotePrefix = True
    elif isinstance(value, dt.datetime):
        cell.number_format = DATETIME
    elif isinstance(value, dt.date):
        cell.number_format = DATE
    return cell


def openpyxl_written(rows) -> bytes:
    """The same rows as openpyxl's own write-only writer writes the formula-safe cells."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("S")
    sheet.append([reference_cell(sheet, "header")])
    for row in rows:
        sheet.append([None if v is None else reference_cell(sheet, v) for v in row])
    target = io.BytesIO()
    workbook.save(target)
    return target.getvalue()


def ours_written(rows) -> bytes:
    target = io.BytesIO()
    counts = xlsx.write_xlsx(
        target,
        [xlsx.Sheet("S", rows, header=["header"])],
        date_format=DATE,
        datetime_format=DATETIME,
    )
    assert counts == [len(rows)]
    return target.getvalue()


@pytest.mark.parametrize("settings_tz", ["Asia/Bangkok"])
def test_the_same_cells_as_openpyxl_writes(settings, settings_tz):
    settings.TIME_ZONE = settings_tz
    rows = [VALUES, list(reversed(VALUES)), [None, None, "gap", None, 7], []]
    assert cells_of(ours_written(rows)) == cells_of(openpyxl_written(rows))


def test_no_cell_is_a_formula_and_formula_like_text_keeps_its_quote_prefix():
    data = ours_written([[v] for v in VALUES])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    sheet = load_workbook(io.BytesIO(data)).active
    for (cell,) in sheet.iter_rows(min_row=2):
        if isinstance(cell.value, str):
            assert cell.data_type == "s", cell.value
            # (a reader turns the carriage return into a line feed; it stays text)
            starts = (*xlsx.FORMULA_STARTS, "\n")
            assert bool(cell.quotePrefix) == cell.value.startswith(starts), cell.value
        elif cell.value is not None and cell.value in ("#N/A", "#REF!"):
            pytest.fail("an error code became an error cell")


def test_several_sheets_each_get_their_rows(tmp_path):
    path = tmp_path / "book.xlsx"
    xlsx.write_workbook(
        path,
        [
            ("One", ["a", "b"], [[1, "x"], [2, "=y"]]),
            ("Two", ["c"], iter([[dt.date(2026, 1, 2)]])),
        ],
    )
    workbook = load_workbook(path)
    one, two = workbook["One"], workbook["Two"]
    assert [[c.value for c in r] for r in one.iter_rows()] == [["a", "b"], [1, "x"], [2, "=y"]]
    assert one["B3"].data_type == "s" and one["A1"].font.bold
    assert two["A2"].value == dt.datetime(2026, 1, 2)
    assert two.max_row == 2
