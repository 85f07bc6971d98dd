"""Reading one cell of a member list, the way real spreadsheets hold it.

Each function takes what the xlsx reader (``sheets``: calamine, whole numbers as int, empty cells
as None) or the CSV reader gives (str, int, float, date, datetime, None) and
returns the clean value, or raises ``CellError(code, **params)`` with a code of
``messages.ROW_PROBLEMS``. No database access here.

A cell with a character typed text may not contain (``loyalty.text``: control characters other
than tab and line breaks, U+FFFE/U+FFFF and the other noncharacters) is an error of its row, never
a value changed behind the owner's back; tabs and line breaks are white space (one space in a
one-line cell, kept in a note). ``clean_text``, which also gives the value shown next to an error,
shows such a character as U+FFFD (�), so the error itself can be stored and written to a file.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from loyalty.numbers import THAI_DIGITS, BadNumber, parse_decimal
from loyalty.phones import InvalidPhone, normalise_phone, thai_national_valid
from loyalty.text import REFUSED_MULTILINE, find_refused
from members.ledger.rules import MAX_POINTS_PER_ENTRY
from members.line.binding import LINE_USER_ID

BE_OFFSET = 543  # Buddhist Era year = Gregorian year + 543
MAX_NAME = 100
MAX_EMAIL = 254
MAX_CUSTOMER_ID = 100
MAX_NOTE = 2000
MAX_TAG = 50
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[\s\u00a0]+")


class CellError(Exception):
    def __init__(self, code: str, **params) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# Text that clean_text would change: an invisible character, white space other than a plain
# space, two spaces together, a space at either end, or a refused character. Most cells have none.
_NEEDS_CLEANING = re.compile(
    r"[\u200b\u200c\u200d\u2060\ufeff]|[^\S ]|  |^ | $|" + REFUSED_MULTILINE.pattern
)
_refused = REFUSED_MULTILINE.search


def refuse_characters(value: object) -> None:
    """``CellError`` when a text cell holds a character typed text may not contain (a tab or a
    line break is white space here, not refused)."""
    if type(value) is str and _refused(value) is not None:
        found = find_refused(value, multiline=True)
        code = "text_control_character" if found.kind == "control" else "text_noncharacter"
        raise CellError(code, char=found.code, position=found.position)


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if type(value) is str:
        # Text that needs no cleaning is blank only when empty (clean_text gives it back as is).
        return not value or (_NEEDS_CLEANING.search(value) is not None and not clean_text(value))
    return isinstance(value, str) and not clean_text(value)


def clean_text(value: object) -> str:
    """A cell as one line of text: numbers without a trailing ".0", invisible characters removed,
    runs of spaces (including non-breaking ones) made one space; a refused character (which the
    ``parse_`` functions refuse first) shown as U+FFFD."""
    if value is None:
        return ""
    if type(value) is str and _NEEDS_CLEANING.search(value) is None:
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time.min else value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    text = str(value)
    if _refused(text) is not None:
        text = REFUSED_MULTILINE.sub("\ufffd", text)
    text = _INVISIBLE.sub("", text)
    return _SPACES.sub(" ", text).strip()


def parse_text(value: object, *, max_length: int, multiline: bool = False) -> str:
    refuse_characters(value)
    if multiline and isinstance(value, str):
        text = "\n".join(clean_text(line) for line in value.splitlines()).strip()
    else:
        text = clean_text(value)
    if len(text) > max_length:
        raise CellError("text_too_long", max=max_length)
    return text


# --- phone ----------------------------------------------------------------------------------------


def parse_phone(value: object) -> str:
    """A phone in any form people and spreadsheets write it → E.164 (+66812345678).

    Numbers that lost the leading zero (812345678, 812345678.0, 8.12345678E+08), dashes, spaces,
    dots, +66, 66..., 0066... and Thai digits are all accepted (``loyalty.phones``).
    """
    if is_blank(value):
        raise CellError("phone_required")
    refuse_characters(value)
    if isinstance(value, str):
        value = _INVISIBLE.sub("", value).strip()
    fast = _thai_e164(value)
    if fast is not None:
        return fast
    try:
        return normalise_phone(value)
    except InvalidPhone:
        raise CellError("phone_invalid") from None


# Digits kept, Thai digits made Arabic, and the separators of the common forms dropped.
_COMMON_FORM = {**THAI_DIGITS, **dict.fromkeys(map(ord, " -()"))}


def _thai_e164(value: object) -> str | None:
    """The E.164 form of a Thai number written in one of the usual ways (0812345678,
    081-234-5678, (081) 234-5678, +66 81 234 5678, 66812345678, 812345678, Thai digits), or
    None for anything else.

    The same answer as ``normalise_phone`` for these forms, which are nearly every row of a real
    member list, without ``phonenumbers.parse`` (half of the time of reading a row): the national
    number is taken as ``normalise_phone`` would take it and only checked against the numbering
    plan. A number that is not valid, and every other form, goes to ``normalise_phone``.
    """
    kind = type(value)
    if kind is int:
        digits = str(value)
    elif kind is float:
        if not (value.is_integer() and 0 < value < 1e12):
            return None
        digits = str(int(value))
    elif kind is str:
        digits = value.translate(_COMMON_FORM)
    else:
        return None
    if digits.startswith("+66"):
        national = digits[3:]
    elif digits.startswith("66") and len(digits) == 11:
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    elif len(digits) == 9 and digits[0] in "2345689":
        national = digits
    else:
        return None
    if not (8 <= len(national) <= 9 and national.isascii() and national.isdigit()):
        return None
    if national[0] == "0":
        return None
    if not thai_national_valid(national):
        return None
    return "+66" + national


# --- names ----------------------------------------------------------------------------------------

# Titles written before a name; removed when separated from it by a space or ending in a dot
# ("นาย สมชาย", "น.ส.สมหญิง", "Mr. John"). "นายสมชาย" is left alone: a title glued to a name
# cannot be told apart from a name that starts the same way.
_TITLES = {
    "นาย",
    "นาง",
    "นางสาว",
    "คุณ",
    "ด.ช.",
    "ด.ญ.",
    "น.ส.",
    "นส.",
    "mr",
    "mr.",
    "mrs",
    "mrs.",
    "ms",
    "ms.",
    "miss",
    "dr",
    "dr.",
}
_DOTTED_TITLE = re.compile(r"^(น\.ส\.|ด\.ช\.|ด\.ญ\.|mrs\.|mr\.|ms\.|dr\.)(?=\S)", re.IGNORECASE)


def split_full_name(value: object) -> tuple[str, str]:
    """ "สมชาย ใจดี" → ("สมชาย", "ใจดี"); the first word is the first name, the rest the last
    name; a leading title (นาย, นาง, นางสาว, น.ส., คุณ, Mr., Ms. ...) is dropped."""
    refuse_characters(value)
    text = clean_text(value)
    text = _DOTTED_TITLE.sub(lambda m: m.group(1) + " ", text)
    words = text.split(" ") if text else []
    if len(words) > 1 and words[0].casefold() in _TITLES:
        words = words[1:]
    if not words:
        return "", ""
    first, last = words[0], " ".join(words[1:])
    if len(first) > MAX_NAME or len(last) > MAX_NAME:
        raise CellError("text_too_long", max=MAX_NAME)
    return first, last


def parse_name(value: object) -> str:
    return parse_text(value, max_length=MAX_NAME)


# --- points ---------------------------------------------------------------------------------------


def parse_points(value: object) -> int:
    """Points to add: a whole number ≥ 0 ("1,500", "๑๐๐", 150.0 are fine; blank is 0).
    Negative and fractional numbers are errors, never rounded; a comma that does not separate
    thousands ("1,50") is an error (``loyalty.numbers.parse_decimal``)."""
    if is_blank(value):
        return 0
    refuse_characters(value)
    if isinstance(value, bool):
        raise CellError("points_not_number")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CellError("points_not_number")
        number = Decimal(repr(value))
    elif isinstance(value, Decimal):
        number = value
    else:
        text = clean_text(value).replace("\u2212", "-").replace(" ", "")
        try:
            number = parse_decimal(text)  # "1,500" yes; "1,50" is refused, never read as 150
        except BadNumber as exc:
            raise CellError(
                "points_comma" if exc.reason == "comma" else "points_not_number"
            ) from None
    if number < 0:
        raise CellError("points_negative")
    if number != number.to_integral_value():
        raise CellError("points_fraction")
    points = int(number)
    if points > MAX_POINTS_PER_ENTRY:
        raise CellError("points_too_many", max=f"{MAX_POINTS_PER_ENTRY:,}")
    return points


# --- gender ---------------------------------------------------------------------------------------

_GENDERS = {
    "female": (
        "หญิง",
        "ผู้หญิง",
        "ญ",
        "เพศหญิง",
        "f",
        "female",
        "woman",
        "w",
        "นาง",
        "นางสาว",
    ),
    "male": ("ชาย", "ผู้ชาย", "ช", "เพศชาย", "m", "male", "man", "นาย"),
    "other": ("อื่นๆ", "อื่น", "อื่นๆ", "อื่น ๆ", "other", "others", "o", "x", "lgbtq", "lgbtq+"),
    "": ("ไม่ระบุ", "ไม่ต้องการระบุ", "-", "n/a", "na", "unknown", "prefer not to say"),
}
_GENDER_INDEX = {
    re.sub(r"[\s.]+", "", name.casefold()): key for key, names in _GENDERS.items() for name in names
}


def parse_gender(value: object) -> str:
    """ชาย / หญิง / อื่นๆ, M / F, male / female / other (any case) → "male", "female", "other";
    blank or "ไม่ระบุ" → ""."""
    if is_blank(value):
        return ""
    refuse_characters(value)
    key = re.sub(r"[\s.]+", "", clean_text(value).casefold())
    if key in _GENDER_INDEX:
        return _GENDER_INDEX[key]
    raise CellError("gender_unknown")


# --- birthday -------------------------------------------------------------------------------------

_THAI_MONTHS = (
    ("มกราคม", "มค"),
    ("กุมภาพันธ์", "กพ"),
    ("มีนาคม", "มีค"),
    ("เมษายน", "เมย"),
    ("พฤษภาคม", "พค"),
    ("มิถุนายน", "มิย"),
    ("กรกฎาคม", "กค", "กรกฏาคม"),
    ("สิงหาคม", "สค"),
    ("กันยายน", "กย"),
    ("ตุลาคม", "ตค"),
    ("พฤศจิกายน", "พย"),
    ("ธันวาคม", "ธค"),
)
_ENGLISH_MONTHS = (
    ("january", "jan"),
    ("february", "feb"),
    ("march", "mar"),
    ("april", "apr"),
    ("may",),
    ("june", "jun"),
    ("july", "jul"),
    ("august", "aug"),
    ("september", "sep", "sept"),
    ("october", "oct"),
    ("november", "nov"),
    ("december", "dec"),
)
_THAI_MONTH_INDEX = {name: i for i, names in enumerate(_THAI_MONTHS, 1) for name in names}
_ENGLISH_MONTH_INDEX = {name: i for i, names in enumerate(_ENGLISH_MONTHS, 1) for name in names}

_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DMY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?: \d{1,2}:\d{2}(?::\d{2})?)?")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})\s*[-/ ]?\s*([^\d\s\-/,]+?)\s*[-/ ,]?\s*(\d{4}|\d{2})")
_MONTH_DAY_YEAR = re.compile(r"([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})")
_ERA = re.compile(
    r"(?<![a-z])(พ\.?\s?ศ\.?|ค\.?\s?ศ\.?|b\.?e\.?|a\.?d\.?|c\.?e\.?)(?=\s*\d)", re.IGNORECASE
)
# Excel serial numbers of 1 Jan 1909 and of dates far in the future: a bare number outside is not
# a date (4-digit numbers like 1990 or 2533 are years typed alone, not serials from 1905).
_SERIAL_MIN, _SERIAL_MAX = 3289, 2958465


def _ce_year(year: int, *, buddhist: bool | None = None) -> int:
    """A 4-digit year in the Common Era: Buddhist Era years (≥ 2400, or marked พ.ศ.) − 543."""
    if buddhist or (buddhist is None and year >= 2400):
        return year - BE_OFFSET
    return year


def _make_date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CellError("birthday_invalid") from None


def _month_of(word: str) -> tuple[int, bool] | None:
    """(month, written in Thai) for a month name or abbreviation."""
    thai = re.sub(r"[\s.]+", "", word)
    if thai in _THAI_MONTH_INDEX:
        return _THAI_MONTH_INDEX[thai], True
    english = thai.casefold().rstrip(",")
    if english in _ENGLISH_MONTH_INDEX:
        return _ENGLISH_MONTH_INDEX[english], False
    return None


def _parse_date_text(text: str) -> dt.date:
    text = clean_text(text).translate(THAI_DIGITS)
    era = _ERA.search(text)
    buddhist = None
    if era:
        marker = re.sub(r"[\s.]", "", era.group(1)).casefold()
        buddhist = marker in ("พศ", "be")
        text = (text[: era.start()] + text[era.end() :]).strip()
        text = _SPACES.sub(" ", text)
    if m := _ISO.fullmatch(text):
        year, month, day = (int(g) for g in m.groups())
        return _make_date(_ce_year(year, buddhist=buddhist), month, day)
    if m := _DMY.fullmatch(text):
        day, month, year_text = int(m.group(1)), int(m.group(2)), m.group(3)
        if len(year_text) == 2:
            raise CellError("birthday_two_digit_year")
        return _make_date(_ce_year(int(year_text), buddhist=buddhist), month, day)
    if m := _DAY_MONTH_YEAR.fullmatch(text):
        found = _month_of(m.group(2))
        if found is None:
            raise CellError("birthday_invalid")
        month, in_thai = found
        day, year_text = int(m.group(1)), m.group(3)
        if len(year_text) == 2:
            if not in_thai:
                raise CellError("birthday_two_digit_year")
            # "15 มี.ค. 33": Thai short dates write the last two digits of the Buddhist year.
            year = 2500 + int(year_text)
            return _make_date(year - BE_OFFSET, month, day)
        return _make_date(_ce_year(int(year_text), buddhist=buddhist), month, day)
    if m := _MONTH_DAY_YEAR.fullmatch(text.casefold()):
        found = _month_of(m.group(1))
        if found is None:
            raise CellError("birthday_invalid")
        return _make_date(_ce_year(int(m.group(3)), buddhist=buddhist), found[0], int(m.group(2)))
    raise CellError("birthday_invalid")


def _from_serial(number: float) -> dt.date:
    if not (_SERIAL_MIN <= number <= _SERIAL_MAX) or not float(number).is_integer():
        raise CellError("birthday_invalid")
    from openpyxl.utils.datetime import from_excel

    value = from_excel(number)
    return value.date() if isinstance(value, dt.datetime) else value


def parse_birthday(value: object, *, today: dt.date) -> dt.date | None:
    """A birthday from an Excel date, an Excel serial number, or text: dd/mm/yyyy, yyyy-mm-dd,
    "15 มีนาคม 2533", "15 มี.ค. 33", "15 Mar 1990". Years ≥ 2400 (or marked พ.ศ.) are Buddhist
    Era. Blank → None. Future dates and dates before 1900 are errors."""
    if is_blank(value):
        return None
    refuse_characters(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        # Excel keeps a typed "15/03/2533" as the year 2533; it means 1990.
        day = value
        if day.year >= 2400:
            day = _make_date(day.year - BE_OFFSET, day.month, day.day)
    elif isinstance(value, bool):
        raise CellError("birthday_invalid")
    elif isinstance(value, (int, float)):
        day = _from_serial(value)
    else:
        text = clean_text(value)
        if re.fullmatch(r"\d+(\.0+)?", text.translate(THAI_DIGITS)):
            day = _from_serial(float(text.translate(THAI_DIGITS)))
        else:
            day = _parse_date_text(text)
    if day > today:
        raise CellError("birthday_future")
    if day.year < 1900:
        raise CellError("birthday_too_old")
    return day


# --- the rest -------------------------------------------------------------------------------------


def parse_email(value: object) -> str:
    if is_blank(value):
        return ""
    refuse_characters(value)
    text = clean_text(value).replace(" ", "")
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if len(text) > MAX_EMAIL:
        raise CellError("email_invalid")
    try:
        validate_email(text)
    except ValidationError:
        raise CellError("email_invalid") from None
    local, _at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_list(value: object) -> list[str]:
    """Tag names separated by commas, semicolons, | or new lines; duplicates dropped."""
    if is_blank(value):
        return []
    refuse_characters(value)
    seen: dict[str, str] = {}
    for part in re.split(r"[,;|\n、]+", str(value)):
        name = clean_text(part)
        if name and name.casefold() not in seen:
            if len(name) > MAX_TAG:
                raise CellError("text_too_long", max=MAX_TAG)
            seen[name.casefold()] = name
    return list(seen.values())


def parse_customer_id(value: object) -> str | None:
    """The shop's own id of the person; a number Excel stored (1001.0) is written 1001."""
    text = parse_text(value, max_length=MAX_CUSTOMER_ID)
    return text or None


def parse_line_user_id(value: object) -> str | None:
    """LINE's user id of the member (binding): U and 32 hex digits, as the Open API takes it."""
    text = parse_text(value, max_length=64)
    if not text:
        return None
    if not LINE_USER_ID.fullmatch(text):
        raise CellError("line_user_id_invalid")
    return text


def parse_note(value: object) -> str:
    return parse_text(value, max_length=MAX_NOTE, multiline=True)
