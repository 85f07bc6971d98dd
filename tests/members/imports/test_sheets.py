"""The sheet as calamine reads it gives the values the import read with openpyxl, row by row,
however the workbook was written (inline or shared strings, rich text, dates, booleans, formulas'
cached values, gaps, no size); a sheet that declares or uses an entity is refused as damaged, and
one with a plain document type declaration is still read."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest
from openpyxl import Workbook

from members.imports import sheets
from members.imports.files import FileRefused, open_table

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def read_rows(path) -> list[tuple[int, tuple]]:
    workbook = sheets.open_workbook(path)
    try:
        name = sheets.visible_sheet_names(workbook)[0]
        return list(sheets.numbered_rows(workbook.get_sheet_by_name(name)))
    finally:
        workbook.close()


def with_sheet_xml(path, sheet_xml: str, shared: list[str] | None = None):
    """Replace the first sheet's XML of an openpyxl workbook (and add a shared-strings part)."""
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    parts["xl/worksheets/sheet1.xml"] = sheet_xml.encode()
    if shared is not None:
        items = "".join(f"<si><t>{s}</t></si>" for s in shared)
        parts["xl/sharedStrings.xml"] = (
            f'<sst xmlns="{MAIN}" count="{len(shared)}" uniqueCount="{len(shared)}">{items}</sst>'
        ).encode()
        types = parts["[Content_Types].xml"].decode()
        parts["[Content_Types].xml"] = types.replace(
            "</Types>",
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        ).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def sheet(body: str, prolog: str = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'):
    return f'{prolog}<worksheet xmlns="{MAIN}"><sheetData>{body}</sheetData></worksheet>'


@pytest.fixture
def base(tmp_path):
    workbook = Workbook()
    workbook.active.append(["x"])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    return path


def test_the_values_openpyxl_gave_for_what_openpyxl_writes(tmp_path):
    rows = [
        ["เบอร์โทร", "ชื่อ", "พอยท์", "วันเกิด", "เวลา", "ใช่", "ทศนิยม"],
        [],
        ["0812345678", " สมชาย\u00a0", 150, dt.date(1990, 3, 15), dt.datetime(2020, 1, 2, 3, 4)],
        [812345679, "=HYPERLINK(1)", "1,500", None, None, True, 12.5],
        [None, None, None, None, None, None, None],
        ["a\nb", "ณ อยุธยา", -3, dt.date(2533, 3, 15), None, False, 1e20],
    ]
    expected = [
        (1, ("เบอร์โทร", "ชื่อ", "พอยท์", "วันเกิด", "เวลา", "ใช่", "ทศนิยม")),
        (
            3,
            (
                "0812345678",
                " สมชาย\u00a0",
                150,
                dt.date(1990, 3, 15),
                dt.datetime(2020, 1, 2, 3, 4),
            ),
        ),
        # a formula without a cached value is empty
        (4, (812345679, None, "1,500", None, None, True, 12.5)),
        (6, ("a\nb", "ณ อยุธยา", -3, dt.date(2533, 3, 15), None, False, 1e20)),
    ]
    for write_only in (False, True):
        workbook = Workbook(write_only=write_only)
        target = workbook.create_sheet("M") if write_only else workbook.active
        for row in rows:
            target.append(row)
        path = tmp_path / f"w{write_only}.xlsx"
        workbook.save(path)
        read = read_rows(path)
        assert read == expected
        # a phone typed as a number keeps its digits: an int, not 812345679.0
        assert type(read[2][1][0]) is int and type(read[2][1][6]) is float


def test_shared_strings_rich_text_booleans_errors_and_formulas(base):
    body = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
        '<row r="3"><c r="B3" t="inlineStr"><is><r><rPr><b/></rPr><t>สม</t></r>'
        '<r><t xml:space="preserve">ชาย </t></r><rPh sb="0" eb="1"><t>x</t></rPh></is></c>'
        '<c r="D3" t="b"><v>1</v></c><c r="E3" t="e"><v>#N/A</v></c>'
        '<c r="F3" t="str"><v>text formula</v></c><c r="G3"><f>1+1</f><v>2</v></c></row>'
        '<row r="9" spans="1:3"></row>'
    )
    path = with_sheet_xml(base, sheet(body), shared=["เบอร์โทร", "Phone"])
    assert read_rows(path) == [
        (1, ("เบอร์โทร", None, "Phone")),
        # an error (#N/A) reads as an empty cell; a formula as its cached value
        (3, (None, "สมชาย ", None, True, None, "text formula", 2)),
    ]


def test_a_sheet_starting_below_and_right_of_a1_keeps_its_rows_and_columns(base):
    body = (
        '<row r="3"><c r="C3" t="inlineStr"><is><t>c3</t></is></c></row>'
        '<row r="5"><c r="B5"><v>5</v></c></row>'
    )
    path = with_sheet_xml(base, sheet(body))
    assert read_rows(path) == [(3, (None, None, "c3")), (5, (None, 5))]


def test_an_empty_sheet_has_no_rows(base):
    path = with_sheet_xml(base, sheet(""))
    assert read_rows(path) == []


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "ha">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)
EXTERNAL = '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY c SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize("prolog", [LAUGHS, EXTERNAL])
def test_a_sheet_declaring_entities_is_refused(base, prolog):
    body = '<row r="1"><c r="A1" t="inlineStr"><is><t>&c;</t></is></c></row>'
    path = with_sheet_xml(base, sheet(body, prolog=prolog))
    table = None
    with pytest.raises(FileRefused) as info:
        table = open_table(path, "a.xlsx")
        list(table.rows)
    if table is not None:
        table.close()
    assert info.value.problem == "file_corrupt"


def test_a_sheet_with_a_plain_doctype_is_still_read(base):
    body = '<row r="1"><c r="A1" t="inlineStr"><is><t>เบอร์โทร &amp; &#3588;</t></is></c></row>'
    path = with_sheet_xml(base, sheet(body, prolog='<?xml version="1.0"?><!DOCTYPE worksheet>'))
    assert read_rows(path) == [(1, ("เบอร์โทร & ค",))]


def test_hidden_sheets_and_chart_sheets_are_not_offered(tmp_path):
    workbook = Workbook()
    workbook.active.title = "Hidden"
    workbook.active.sheet_state = "hidden"
    workbook.create_sheet("Members").append(["เบอร์โทร"])
    path = tmp_path / "a.xlsx"
    workbook.save(path)
    opened = sheets.open_workbook(path)
    try:
        assert sheets.visible_sheet_names(opened) == ["Members"]
    finally:
        opened.close()
