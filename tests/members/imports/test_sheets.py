"""The streamed sheet gives the values openpyxl's read-only sheet gives, row by row, however the
workbook was written (inline or shared strings, rich text, dates, booleans, gaps, no size); a
sheet with a document type declaration is read by defusedxml, which refuses entities."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from defusedxml.ElementTree import fromstring
from openpyxl import Workbook, load_workbook
from openpyxl.cell.text import Text

from members.imports import sheets
from members.imports.files import FileRefused, open_table

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def openpyxl_rows(path) -> list[tuple[int, tuple]]:
    """What openpyxl's own read-only sheet gives, without the empty rows it fills in."""
    workbook = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        return [
            (number, tuple(row))
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)
            if row
        ]
    finally:
        workbook.close()


def streamed_rows(path) -> list[tuple[int, tuple]]:
    workbook = sheets.open_workbook(path)
    try:
        return [(n, row) for n, row in workbook.worksheets[0].numbered_rows() if row]
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


def test_same_values_as_openpyxl_for_what_openpyxl_writes(tmp_path):
    rows = [
        ["เบอร์โทร", "ชื่อ", "พอยท์", "วันเกิด", "เวลา", "ใช่", "ทศนิยม"],
        [],
        ["0812345678", " สมชาย\u00a0", 150, dt.date(1990, 3, 15), dt.datetime(2020, 1, 2, 3, 4)],
        [812345679, "=HYPERLINK(1)", "1,500", None, None, True, 12.5],
        [None, None, None, None, None, None, None],
        ["a\nb", "ณ อยุธยา", -3, dt.date(2533, 3, 15), None, False, 1e20],
    ]
    for write_only in (False, True):
        workbook = Workbook(write_only=write_only)
        target = workbook.create_sheet("M") if write_only else workbook.active
        for row in rows:
            target.append(row)
        path = tmp_path / f"w{write_only}.xlsx"
        workbook.save(path)
        assert streamed_rows(path) == openpyxl_rows(path)
        assert len(streamed_rows(path)) == 4


def test_same_values_as_openpyxl_for_shared_strings_rich_text_and_gaps(base):
    body = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
        '<row r="3"><c r="B3" t="inlineStr"><is><r><rPr><b/></rPr><t>สม</t></r>'
        '<r><t xml:space="preserve">ชาย </t></r><rPh sb="0" eb="1"><t>x</t></rPh></is></c>'
        '<c r="D3" t="b"><v>1</v></c><c r="E3" t="e"><v>#N/A</v></c>'
        '<c r="F3" t="str"><v>text formula</v></c><c r="G3"><f>1+1</f><v>2</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'  # below a row given already: skipped
        '<row><c><v>7</v></c><c t="inlineStr"><is><t/></is></c></row>'  # no positions
        '<row r="9" spans="1:3"></row>'
    )
    path = with_sheet_xml(base, sheet(body), shared=["เบอร์โทร", "Phone"])
    assert streamed_rows(path) == openpyxl_rows(path)
    assert streamed_rows(path)[1] == (3, (None, "สมชาย ", None, True, "#N/A", "text formula", 2))


@pytest.mark.parametrize(
    "snippet",
    [
        "<is><t>plain</t></is>",
        "<is><t/></is>",
        "<is></is>",
        '<is><t xml:space="preserve">  spaced  </t></is>',
        "<is><r><t>a</t></r><r><rPr><i/></rPr><t>b</t></r></is>",
        "<is><t>p</t><r><t>r</t></r><rPh sb='0' eb='1'><t>ph</t></rPh><phoneticPr fontId='1'/></is>",
        "<is><r><t>one</t><t>two</t></r><r/></is>",
        "<is><t>first</t><t>last</t></is>",
    ],
)
def test_inline_strings_read_as_openpyxl_reads_them(snippet):
    node = fromstring(snippet.replace("<is>", f'<is xmlns="{MAIN}">', 1))
    assert sheets.inline_text(node) == Text.from_tree(node).content


@pytest.mark.parametrize(
    ("head", "plain"),
    [
        (b'<?xml version="1.0"?><worksheet>', True),
        (b'\xef\xbb\xbf<?xml version="1.0"?>\r\n<worksheet xmlns="x">', True),
        (b"<!-- made by <b>Export</b> --><?pi x?> <worksheet>", True),
        (b"<worksheet>", True),
        (b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "b">]><worksheet>', False),
        (b"<!-- <worksheet> --><!DOCTYPE x><worksheet>", False),
        (b'<?xml version="1.0"?><!-- never closed <worksheet>', False),
        ('<?xml version="1.0" encoding="UTF-16"?><worksheet>'.encode("utf-16"), False),
        (b'<?xml version="1.0"?>' + b" " * 100, False),
        (b"", False),
    ],
)
def test_prolog_check(head, plain):
    assert sheets.prolog_has_no_doctype(head) is plain


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "ha">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)


def test_a_sheet_declaring_entities_is_refused(base):
    body = '<row r="1"><c r="A1" t="inlineStr"><is><t>&c;</t></is></c></row>'
    path = with_sheet_xml(base, sheet(body, prolog=LAUGHS))
    table = None
    with pytest.raises(FileRefused) as info:
        table = open_table(path, "a.xlsx")
        list(table.rows)
    if table is not None:
        table.close()
    assert info.value.problem == "file_corrupt"


def test_a_sheet_with_a_plain_doctype_is_still_read(base):
    body = '<row r="1"><c r="A1" t="inlineStr"><is><t>เบอร์โทร</t></is></c></row>'
    path = with_sheet_xml(base, sheet(body, prolog='<?xml version="1.0"?><!DOCTYPE worksheet>'))
    assert streamed_rows(path) == [(1, ("เบอร์โทร",))]


def test_the_replayed_stream_gives_every_byte_once():
    source = io.BytesIO(b"0123456789")
    replay = sheets._Replay(source.read(4), source)
    assert replay.read(3) + replay.read(2) + replay.read(100) + replay.read(5) == b"0123456789"
    source = io.BytesIO(b"abcdef")
    replay = sheets._Replay(source.read(2), source)
    assert replay.read() == b"abcdef"


def test_rows_are_parsed_by_the_c_parser_only_when_the_prolog_is_checked(base, monkeypatch):
    used = []
    original = sheets.c_iterparse
    monkeypatch.setattr(sheets, "c_iterparse", lambda source: used.append(1) or original(source))
    body = '<row r="1"><c r="A1" t="inlineStr"><is><t>เบอร์โทร</t></is></c></row>'
    plain = with_sheet_xml(base, sheet(body))
    assert streamed_rows(plain) == [(1, ("เบอร์โทร",))]
    assert used == [1]
    with_doctype = with_sheet_xml(base, sheet(body, prolog="<!DOCTYPE worksheet>"))
    assert streamed_rows(with_doctype) == [(1, ("เบอร์โทร",))]
    assert used == [1]  # read with defusedxml's parser
