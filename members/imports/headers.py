"""Finding the header row and what each column holds, with Thai or English names, in any order.

A header cell may hold one name ("เบอร์โทร"), or a Thai and an English name together, as the
template writes them ("เบอร์โทร / Phone *"). Names are compared without case, spaces, hyphens,
dots or asterisks, so "E-mail", "email" and "E mail" are the same column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter

# Every name a column is known by. The first Thai and first English name are the template's.
ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "เบอร์โทร",
        "Phone",
        "phone number",
        "phone no",
        "mobile",
        "mobile number",
        "mobile phone",
        "tel",
        "telephone",
        "เบอร์โทรศัพท์",
        "เบอร์",
        "โทรศัพท์",
        "หมายเลขโทรศัพท์",
        "เบอร์มือถือ",
        "มือถือ",
        "เบอร์ติดต่อ",
    ),
    "first_name": ("ชื่อ", "First name", "firstname", "given name", "name", "ชื่อจริง"),
    "last_name": ("นามสกุล", "Last name", "lastname", "surname", "family name"),
    "full_name": (
        "ชื่อ-นามสกุล",
        "Full name",
        "customer name",
        "member name",
        "name surname",
        "ชื่อและนามสกุล",
        "ชื่อลูกค้า",
        "ชื่อสมาชิก",
    ),
    "points": (
        "พอยท์",
        "Points",
        "point",
        "balance",
        "points balance",
        "point balance",
        "พอยต์",
        "พอยท์สะสม",
        "พอยท์คงเหลือ",
        "แต้ม",
        "แต้มสะสม",
        "คะแนน",
        "คะแนนสะสม",
    ),
    "gender": ("เพศ", "Gender", "sex"),
    "birthday": (
        "วันเกิด",
        "Birthday",
        "birth date",
        "birthdate",
        "date of birth",
        "dob",
        "วันเดือนปีเกิด",
    ),
    "email": ("อีเมล", "E-mail", "email address", "อีเมล์"),
    "tags": ("แท็ก", "Tags", "tag", "แท็ค", "แท๊ก", "ป้ายกำกับ"),
    "tier": ("ระดับสมาชิก", "Tier", "level", "member tier", "member level", "ระดับ"),
    "customer_id": (
        "รหัสลูกค้า",
        "Customer ID",
        "customer code",
        "customer no",
        "member code",
        "รหัสสมาชิก",
    ),
    "note": ("หมายเหตุ", "Note", "notes", "remark", "remarks"),
}

REQUIRED = ("phone",)
_STRIP = re.compile(r"[\s\-_.:*'\"\u200b\u00a0]+")
_PARTS = re.compile(r"[/()\[\]|\n,;]+")


def normalise_header(text: object) -> str:
    return _STRIP.sub("", str(text or "").casefold())


_INDEX: dict[str, str] = {
    normalise_header(name): key for key, names in ALIASES.items() for name in names
}


def template_header(key: str) -> str:
    """The template's header for a column: Thai / English, with * when it is required."""
    thai, english = ALIASES[key][0], ALIASES[key][1]
    return f"{thai} / {english}" + (" *" if key in REQUIRED else "")


def column_key(cell: object) -> str | None:
    """The column a header cell names, or None."""
    if cell is None:
        return None
    text = str(cell).strip()
    if not text:
        return None
    key = _INDEX.get(normalise_header(text))
    if key:
        return key
    for part in _PARTS.split(text):
        key = _INDEX.get(normalise_header(part))
        if key:
            return key
    return None


@dataclass
class ColumnMap:
    """Where each known column is (0-based index), what the file calls it, and what was ignored."""

    header_row: int
    index: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (letter, header text)
    names_in_first_name: bool = False  # "ชื่อ" without a last-name column holds full names

    def letter(self, key: str) -> str:
        return get_column_letter(self.index[key] + 1) if key in self.index else ""

    def as_json(self) -> dict:
        return {
            "found": {
                key: {"index": i, "letter": self.letter(key), "label": self.labels[key]}
                for key, i in sorted(self.index.items(), key=lambda kv: kv[1])
            },
            "ignored": [{"letter": letter, "label": label} for letter, label in self.ignored],
            "names_in_first_name": self.names_in_first_name,
        }


def map_header(values: tuple, header_row: int) -> ColumnMap | None:
    """The column map of a header row, or None when it has no phone column."""
    columns = ColumnMap(header_row=header_row)
    for i, cell in enumerate(values or ()):
        key = column_key(cell)
        text = str(cell).strip() if cell is not None else ""
        if key is None or key in columns.index:
            if text:
                columns.ignored.append((get_column_letter(i + 1), text[:100]))
            continue
        columns.index[key] = i
        columns.labels[key] = text[:100]
    if not all(key in columns.index for key in REQUIRED):
        return None
    has_last = "last_name" in columns.index
    if "first_name" in columns.index and not has_last and "full_name" not in columns.index:
        columns.names_in_first_name = True
    return columns


def find_header(rows: list[tuple[int, tuple]]) -> ColumnMap | None:
    """The first row among ``rows`` ((row number, values) pairs) that names a phone column."""
    for number, values in rows:
        columns = map_header(values, number)
        if columns is not None:
            return columns
    return None


def header_score(top_rows: list[tuple]) -> int:
    """How many known columns the header among a sheet's top rows names (0: no header). The
    workbook's sheet with the best score is the member list (not, say, an instructions sheet)."""
    columns = find_header(list(enumerate(top_rows, start=1)))
    return len(columns.index) if columns is not None else 0
