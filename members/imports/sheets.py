"""openpyxl's read-only workbook, made to stream a large sheet faster; the values are openpyxl's.

Three things cost more than the rest of reading a member list together, and are done otherwise
here; everything else (the workbook, styles and date formats, shared strings, each cell's value)
is openpyxl's own code:

- Sizing. openpyxl sizes every sheet when it opens the workbook, reading "end" events until the
  ``<dimension>`` element or the end of ``<sheetData>``: a sheet without a ``<dimension>`` (as
  openpyxl's write-only mode and some exporting systems write it) is parsed completely just for
  that. Here the sheet is read only up to the start of ``<sheetData>``.
- The XML parser. With defusedxml installed openpyxl parses every part with defusedxml's parser,
  which is the pure-Python ``ElementTree.XMLParser`` (every element a few Python calls), to forbid
  entity declarations. Here a sheet's rows are parsed by the standard library's C parser once its
  prolog has been checked to hold no document type declaration: without one the XML can declare
  no entity, so nothing defusedxml guards against can happen (entity expansion, external
  entities or DTDs). A sheet whose prolog cannot be checked so is read with defusedxml, as before.
- Inline strings (``<is><t>…</t></is>``, what openpyxl itself writes) are read without building
  openpyxl's rich-text objects, to the same text (``Text.content``).
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import iterparse as c_iterparse

from openpyxl.reader.excel import ExcelReader
from openpyxl.utils import coordinate_to_tuple
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import (
    DATA_TAG,
    DIMENSION_TAG,
    INLINE_STRING,
    ROW_TAG,
    WorkSheetParser,
)
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.xml.functions import iterparse as safe_iterparse  # defusedxml's, when installed

# How far into a sheet its root element must start for the prolog to be checked.
PROLOG_BYTES = 64 * 1024


def prolog_has_no_doctype(head: bytes) -> bool:
    """True when the XML document starting with ``head`` reaches its root element, within
    ``head``, through nothing but an XML declaration, processing instructions, comments and
    white space: no ``<!DOCTYPE``, so no entity can be declared. False when unsure."""
    i = 3 if head.startswith(b"\xef\xbb\xbf") else 0  # UTF-8 byte order mark
    n = len(head)
    while True:
        while i < n and head[i] in b" \t\r\n":
            i += 1
        if i + 1 >= n:
            return False
        if head.startswith(b"<?", i):
            end = head.find(b"?>", i + 2)
            if end < 0:
                return False
            i = end + 2
        elif head.startswith(b"<!--", i):
            end = head.find(b"-->", i + 4)
            if end < 0:
                return False
            i = end + 3
        else:
            # The root element: "<" and a name; "<!DOCTYPE", any other "<!", UTF-16 … are not.
            return head[i] == 0x3C and head[i + 1] not in b"!?/ \t\r\n"


class _Replay:
    """A binary stream that gives ``head`` again, then the rest of ``source``."""

    def __init__(self, head: bytes, source) -> None:
        self.head = head
        self.source = source

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if size is None or size < 0:
                data, self.head = self.head + self.source.read(), b""
                return data
            data, self.head = self.head[:size], self.head[size:]
            return data
        return self.source.read(size)


def inline_text(node) -> str:
    """The text of an inline string (``<is>``), as openpyxl's ``Text.from_tree(node).content``:
    its plain ``<t>`` then the ``<t>`` of each rich-text run; phonetic runs left out."""
    plain = None
    runs = []
    for child in node:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        name = tag.rpartition("}")[2]
        if name == "t":
            plain = child.text
        elif name == "r":
            text = None
            for part in child:
                if isinstance(part.tag, str) and part.tag.rpartition("}")[2] == "t":
                    text = part.text
            if text is not None:
                runs.append(text)
    return "".join(runs) if plain is None else plain + "".join(runs)


class _RowParser(WorkSheetParser):
    """openpyxl's sheet parser for the rows only, with the C parser when the prolog allows it."""

    def parse(self) -> Iterator[tuple[int, list[dict]]]:
        head = self.source.read(PROLOG_BYTES)
        source = _Replay(head, self.source)
        checked = prolog_has_no_doctype(head)
        # Without a DOCTYPE the XML declares no entity (module docstring): the C parser is safe.
        events = c_iterparse(source) if checked else safe_iterparse(source)  # noqa: S314
        for _event, element in events:
            if element.tag == ROW_TAG:
                row = self.parse_row(element)
                element.clear()
                yield row

    def parse_cell(self, element):
        if element.get("t") != "inlineStr" or not self.data_only:
            return super().parse_cell(element)
        # openpyxl's own handling of the position and style, then the text without Text().
        coordinate = element.get("r")
        if coordinate:
            row, column = coordinate_to_tuple(coordinate)
            self.col_counter = column
        else:
            self.col_counter += 1
            row, column = self.row_counter, self.col_counter
        style_id = element.get("s", 0)
        if style_id:
            style_id = int(style_id)
        value, data_type = None, "inlineStr"
        child = element.find(INLINE_STRING)
        if child is not None:
            data_type = "s"
            value = inline_text(child)
        return {
            "row": row,
            "column": column,
            "value": value,
            "data_type": data_type,
            "style_id": style_id,
        }


class StreamedSheet(ReadOnlyWorksheet):
    """A read-only sheet sized from its first elements, whose rows stream with ``numbered_rows``."""

    _source = None
    _size = 0

    def _get_size(self):
        # openpyxl reads "end" events: without a <dimension>, the end of <sheetData> comes after
        # every row. <dimension> comes before <sheetData>, so stop at the start of <sheetData>.
        self._size = self.parent._archive.getinfo(self._worksheet_path).file_size
        with self._get_source() as source:
            for event, element in safe_iterparse(source, events=("start", "end")):
                if element.tag == DATA_TAG:
                    return
                if event == "end" and element.tag == DIMENSION_TAG:
                    dimension = SheetDimension.from_tree(element).boundaries
                    self._min_column, self._min_row, self._max_column, self._max_row = dimension
                    return

    def _get_source(self):
        self._source = super()._get_source()
        return self._source

    def fraction_read(self) -> float:
        """The share of the sheet's XML read so far by the latest pass over it."""
        source = self._source
        if source is None or source.closed or not self._size:
            return 0.0
        try:
            return source.tell() / self._size
        except (OSError, ValueError):  # a stream that cannot tell
            return 0.0

    def numbered_rows(self) -> Iterator[tuple[int, tuple]]:
        """(sheet row number, values) of each row the sheet holds, the values as
        ``iter_rows(values_only=True)`` gives them when the sheet is not sized (a row as wide as
        its last cell); the empty rows it fills in for missing ones are left out."""
        parent = self.parent
        counter = 1
        with self._get_source() as source:
            parser = _RowParser(
                source,
                self._shared_strings,
                data_only=parent.data_only,
                epoch=parent.epoch,
                date_formats=parent._date_formats,
                timedelta_formats=parent._timedelta_formats,
            )
            for number, cells in parser.parse():
                if number < counter:  # openpyxl skips a row numbered below one it gave
                    continue
                counter = number + 1
                if not cells:
                    yield number, ()
                    continue
                width = cells[-1]["column"]
                values = [None] * width
                for cell in cells:
                    column = cell["column"]
                    if 1 <= column <= width:
                        values[column - 1] = cell["value"]
                yield number, tuple(values)


class _StreamingReader(ExcelReader):
    def read_worksheets(self):
        # What ExcelReader does in read-only mode, with the sheet class above.
        for sheet, rel in self.parser.find_sheets():
            if rel.target not in self.valid_files or "chartsheet" in rel.Type:
                continue
            worksheet = StreamedSheet(self.wb, sheet.name, rel.target, self.shared_strings)
            worksheet.sheet_state = sheet.state
            self.wb._sheets.append(worksheet)


def open_workbook(path):
    """A read-only (streaming) openpyxl workbook of a checked file: values only, no links."""
    reader = _StreamingReader(path, read_only=True, data_only=True, keep_links=False)
    reader.read()
    return reader.wb
