"""Finding the header row and what each column holds, with Thai or English names, in any order.

A header cell may hold one name ("เบอร์โทร"), or a Thai and an English name together, as the
template writes them ("เบอร์โทร / Phone *"). Names are compared after ``normalise_header``: without
case, spaces, zero-width characters, punctuation or symbols, with Thai digits as ASCII digits and
Unicode's compatibility forms folded (NFKC), so "E-mail", "email" and "E mail" are the same column,
and so are "จำนวนพอยท์", "จำนวน พอยท์" and "จํานวนพอยท์" (typed with NIKHAHIT and SARA AA).

No column is dropped quietly. Each header cell is read as one of:
- a field the import fills in (``names.ALIASES``);
- a column the import knows and does not import (``names.NOT_IMPORTED``: LINE's ids and names, the
  members export's informational columns): a warning that says why;
- a name that looks like points, a phone or a birthday but is not one the import knows
  ("พอยท์ยกมา", "เบอร์สำรอง", "ปีเกิด"), or a second column of one of those: an error, which blocks
  the import until the owner says what the column holds or ignores it (``ImportJob.column_mapping``,
  set in the preview or with ``import_members --map / --ignore-column``);
- anything else: a warning that the column is not imported.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from openpyxl.utils import column_index_from_string, get_column_letter

from members.imports.names import (
    CRITICAL,
    FIELDS,
    IGNORE,
    LOOKALIKE_STEMS,
    NAME_INDEX,
    NOT_IMPORTED_INDEX,
    REQUIRED,
    normalise_header,
)

_PARTS = re.compile(r"[/()\[\]|\n,;]+")
_WORDS = re.compile(r"[a-z]+")
_LETTERS = re.compile(r"[A-Z]{1,3}")

# What a header cell says, before the file's other columns are considered.
FIELD, NOT_READ, LOOKS_LIKE, UNKNOWN = "field", "not_imported", "looks_like", "unknown"


@dataclass(frozen=True)
class HeaderReading:
    kind: str  # FIELD, NOT_READ, LOOKS_LIKE or UNKNOWN
    key: str = ""  # the field; the reason it is not imported; the field it looks like


def _lookup(text: str) -> HeaderReading | None:
    name = normalise_header(text)
    if name in NAME_INDEX:
        return HeaderReading(FIELD, NAME_INDEX[name])
    if name in NOT_IMPORTED_INDEX:
        return HeaderReading(NOT_READ, NOT_IMPORTED_INDEX[name])
    return None


def looks_like(text: object) -> str:
    """The critical field a name that is not known looks like ("" when none)."""
    name = normalise_header(text)
    words = _WORDS.findall(unicodedata.normalize("NFKC", str(text or "")).casefold())
    for key, (thai, english, short) in LOOKALIKE_STEMS.items():
        if any(stem in name for stem in thai):
            return key
        for word in words:
            if word in short or any(word.startswith(s) or word.endswith(s) for s in english):
                return key
    return ""


def read_header_cell(cell: object) -> HeaderReading:
    """What one header cell names: the whole text, then each part of a bilingual header."""
    text = str(cell).strip() if cell is not None else ""
    if not text:
        return HeaderReading(UNKNOWN)
    reading = _lookup(text)
    if reading is None:
        for part in _PARTS.split(text):
            if part.strip() and (reading := _lookup(part)) is not None:
                break
    if reading is not None:
        return reading
    similar = looks_like(text)
    return HeaderReading(LOOKS_LIKE, similar) if similar else HeaderReading(UNKNOWN)


def column_key(cell: object) -> str | None:
    """The field a header cell names, or None."""
    reading = read_header_cell(cell)
    return reading.key if reading.kind == FIELD else None


@dataclass(frozen=True)
class ColumnProblem:
    """Why a column of the header is not read. ``blocking`` problems stop the import until the
    owner chooses what the column holds; the others are warnings. ``code`` is a key of
    ``messages.COLUMN_PROBLEMS``."""

    letter: str
    label: str
    code: str
    params: dict = field(default_factory=dict)
    blocking: bool = False


@dataclass
class ColumnMap:
    """Where each known column is (0-based index), what the file calls it, what was not read and
    why, and the owner's choices that were applied."""

    header_row: int
    index: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (letter, header text)
    names_in_first_name: bool = False  # "ชื่อ" without a last-name column holds full names
    headers: list[tuple[int, str]] = field(default_factory=list)  # every named column
    chosen: dict[str, str] = field(default_factory=dict)  # letter → field or IGNORE, by the owner
    problems: list[ColumnProblem] = field(default_factory=list)

    def letter(self, key: str) -> str:
        return get_column_letter(self.index[key] + 1) if key in self.index else ""

    @property
    def blocking(self) -> list[ColumnProblem]:
        return [p for p in self.problems if p.blocking]

    def as_json(self) -> dict:
        fields_at = {i: key for key, i in self.index.items()}
        return {
            "found": {
                key: {"index": i, "letter": self.letter(key), "label": self.labels[key]}
                for key, i in sorted(self.index.items(), key=lambda kv: kv[1])
            },
            "ignored": [{"letter": letter, "label": label} for letter, label in self.ignored],
            # Every named column in the file's order, with what it is read as ("" for nothing).
            "headers": [
                {
                    "index": i,
                    "letter": get_column_letter(i + 1),
                    "label": label,
                    "field": fields_at.get(i, ""),
                    "chosen": get_column_letter(i + 1) in self.chosen,
                }
                for i, label in self.headers
            ],
            "problems": [
                {
                    "letter": p.letter,
                    "label": p.label,
                    "code": p.code,
                    "params": p.params,
                    "blocking": p.blocking,
                }
                for p in self.problems
            ],
            "names_in_first_name": self.names_in_first_name,
        }


class UnnamedColumns:
    """Data under no header: a column without a name that holds data is not imported either, and
    the preview says so (``see`` each data row, then ``problems``). Costs a look at the few
    unnamed cells of each row, and none once every such column has been seen."""

    def __init__(self, columns: ColumnMap) -> None:
        self.width = max((i for i, _label in columns.headers), default=-1) + 1
        named = {i for i, _label in columns.headers}
        self.gaps = [i for i in range(self.width) if i not in named]
        self.first_row: dict[int, int] = {}

    def see(self, row: int, values: tuple, is_blank) -> None:
        if self.gaps:
            found = [i for i in self.gaps if i < len(values) and not is_blank(values[i])]
            if found:
                for i in found:
                    self.first_row[i] = row
                self.gaps = [i for i in self.gaps if i not in self.first_row]
        for i in range(self.width, len(values)):
            if i not in self.first_row and not is_blank(values[i]):
                self.first_row[i] = row

    def problems(self) -> list[ColumnProblem]:
        return [
            ColumnProblem(get_column_letter(i + 1), "", "column_unnamed", {"row": row})
            for i, row in sorted(self.first_row.items())
        ]


def is_column_letter(text: str) -> bool:
    return bool(_LETTERS.fullmatch(text)) and column_index_from_string(text) <= 16384


def map_header(
    values: tuple,
    header_row: int,
    mapping: dict[str, str] | None = None,
    *,
    need_phone: bool = True,
) -> ColumnMap | None:
    """The column map of a header row, or None when it has no phone column (``need_phone``).

    ``mapping`` holds the owner's choices (column letter → field or ``IGNORE``); they come first.
    Every other named column is read by its name; a column not read gets a problem saying why.
    """
    mapping = mapping or {}
    columns = ColumnMap(header_row=header_row)
    for i, cell in enumerate(values or ()):
        text = str(cell).strip() if cell is not None else ""
        if text:
            columns.headers.append((i, text[:100]))

    def take(key: str, i: int, text: str) -> None:
        columns.index[key] = i
        columns.labels[key] = text

    def skip(letter: str, text: str, code: str, *, blocking: bool = False, **params) -> None:
        columns.ignored.append((letter, text))
        if code:
            columns.problems.append(ColumnProblem(letter, text, code, params, blocking))

    # The owner's choices first, so a column read by its name cannot take their field.
    for i, text in columns.headers:
        letter = get_column_letter(i + 1)
        choice = mapping.get(letter)
        if choice in FIELDS and choice not in columns.index:
            columns.chosen[letter] = choice
            take(choice, i, text)
        elif choice == IGNORE:
            columns.chosen[letter] = IGNORE
    for i, text in columns.headers:
        letter = get_column_letter(i + 1)
        if letter in columns.chosen:
            if columns.chosen[letter] == IGNORE:
                skip(letter, text, "")  # the owner's choice: listed as not read, no warning
            continue
        reading = read_header_cell(text)
        if reading.kind == FIELD and reading.key not in columns.index:
            take(reading.key, i, text)
        elif reading.kind == FIELD:
            used = columns.letter(reading.key)
            if reading.key in CRITICAL:
                skip(letter, text, "column_ambiguous", blocking=True, field=reading.key, used=used)
            else:
                skip(letter, text, "column_duplicate", field=reading.key, used=used)
        elif reading.kind == NOT_READ:
            skip(letter, text, f"column_not_imported_{reading.key}")
        elif reading.kind == LOOKS_LIKE:
            skip(letter, text, "column_looks_like", blocking=True, field=reading.key)
        else:
            skip(letter, text, "column_unknown")
    if need_phone and not all(key in columns.index for key in REQUIRED):
        return None
    has_last = "last_name" in columns.index
    if "first_name" in columns.index and not has_last and "full_name" not in columns.index:
        columns.names_in_first_name = True
    return columns


def _maybe_header(
    values: tuple, header_row: int, mapping: dict[str, str] | None
) -> ColumnMap | None:
    """A header row whose phone column has a name the import does not know ("เบอร์ลูกค้าหลัก"):
    a column that looks like a phone, beside at least one column the import knows. It is read so
    that the owner can say which column holds the phone (until then every row misses its phone
    and the column is an error that blocks the import)."""
    readings = [read_header_cell(v) for v in values or () if v is not None and str(v).strip()]
    if HeaderReading(LOOKS_LIKE, "phone") not in readings:
        return None
    if not any(r.kind == FIELD for r in readings):
        return None
    return map_header(values, header_row, mapping, need_phone=False)


def choose_header(rows, mapping: dict[str, str] | None = None, *, limit: int | None = None):
    """The header among the first rows of ``rows`` ((row number, values) pairs, an iterator):
    the first row that names a phone column; else the first that has a column looking like a
    phone beside a known column (see ``_maybe_header``). Returns (column map with the owner's
    ``mapping`` applied, the rows after the header) or None. Reads no further than the header,
    unless no row names a phone column.

    Which row is the header never depends on ``mapping``: choices are by column letter, and a
    title row above the header has text in those columns too."""
    rows = iter(rows)
    seen: list[tuple[int, tuple]] = []
    header = None
    for number, values in rows:
        if map_header(values, number) is not None:
            header = (number, values)
            break
        seen.append((number, values))
        if limit is not None and number >= limit:
            break
    if header is None:
        for position, (number, values) in enumerate(seen):
            if _maybe_header(values, number, None) is not None:
                header = (number, values)
                rows = _chain(seen[position + 1 :], rows)
                break
    if header is None:
        return None
    number, values = header
    return map_header(values, number, mapping, need_phone=False), rows


def _chain(first: list, rest):
    yield from first
    yield from rest


def find_header(rows: list[tuple[int, tuple]]) -> ColumnMap | None:
    """The header among ``rows`` ((row number, values) pairs), see ``choose_header``."""
    found = choose_header(rows)
    return found[0] if found is not None else None


def header_score(top_rows: list[tuple]) -> int:
    """How many known columns the header among a sheet's top rows names (0: no header). The
    workbook's sheet with the best score is the member list (not, say, an instructions sheet)."""
    columns = find_header(list(enumerate(top_rows, start=1)))
    return len(columns.index) if columns is not None else 0
