"""Every way a real spreadsheet holds a member's phone, name, gender, birthday and points."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from members.imports import cells
from members.imports.cells import CellError

TODAY = dt.date(2026, 11, 24)


def code_of(fn, *args, **kwargs) -> str:
    with pytest.raises(CellError) as info:
        fn(*args, **kwargs)
    return info.value.code


# --- phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "0812345678",
        "081-234-5678",
        "081 234 5678",
        "(081) 234-5678",
        "+66 81 234 5678",
        "+66812345678",
        "66812345678",
        "0066812345678",
        "๐๘๑๒๓๔๕๖๗๘",  # Thai digits
        "๐๘๑-๒๓๔-๕๖๗๘",
        812345678,  # stored as a number: the leading zero is lost
        812345678.0,  # ... and read back as a float
        "812345678",  # ... or written to CSV
        "812345678.0",
        "8.12345678E+08",  # ... or in scientific notation
        " 081\u00a0234\u00a05678 ",  # non-breaking spaces from a web page
        "\u200b0812345678",  # a zero-width space pasted from LINE
    ],
)
def test_phone_in_every_form_is_read_as_one_number(raw):
    assert cells.parse_phone(raw) == "+66812345678"


def test_bangkok_landline_keeps_its_area_code():
    assert cells.parse_phone("02-123-4567") == "+6621234567"
    assert cells.parse_phone(21234567) == "+6621234567"  # lost its leading zero


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_missing_phone_is_required(raw):
    assert code_of(cells.parse_phone, raw) == "phone_required"


@pytest.mark.parametrize("raw", ["not a phone", "12345", "0812345678, 0898765432", "081234567890"])
def test_bad_phone_is_an_error(raw):
    assert code_of(cells.parse_phone, raw) == "phone_invalid"


def _written(rnd, digits: str):
    """``digits`` written the ways people, spreadsheets and other systems write a phone."""
    national = digits[1:] if digits.startswith("0") else digits
    thai = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
    forms = [
        digits,
        f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
        f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
        f"+66 {national[:2]} {national[2:5]} {national[5:]}",
        f"+66{national}",
        f"66{national}",
        f"0066{national}",
        f"+660{national}",
        f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
        digits.translate(thai),
        f" {digits}\u00a0",
        f"{digits[:3]}/{digits[3:]}",
        national,
        f"{national}.0",
    ]
    if national.isdigit():
        forms += [int(national), float(national), int(digits), rnd.choice([True, False])]
    return forms


def test_the_quick_path_for_usual_forms_gives_what_normalise_phone_gives():
    import random

    from loyalty.phones import InvalidPhone, normalise_phone

    def slow(raw):
        if cells.is_blank(raw):
            return "required"
        if isinstance(raw, str):
            raw = cells._INVISIBLE.sub("", raw).strip()
        try:
            return normalise_phone(raw)
        except InvalidPhone:
            return "invalid"

    def fast(raw):
        try:
            return cells.parse_phone(raw)
        except CellError as exc:
            return exc.code.removeprefix("phone_")

    rnd = random.Random(7)
    numbers = ["0812345678", "021234567", "053123456", "0612345678", "0601234567", "0712345678"]
    numbers += ["1800123456", "0012345678", "0800000000", "02123456", "0812345", "66812345678"]
    for _ in range(3000):
        length = rnd.choice([8, 9, 10, 11])
        numbers.append(
            rnd.choice(["0", "", "6", "8"]) + "".join(rnd.choices("0123456789", k=length))
        )
    quick = 0
    for digits in numbers:
        for raw in _written(rnd, digits):
            assert fast(raw) == slow(raw), raw
            quick += cells._thai_e164(raw) is not None
    assert quick > 5000  # the quick path was taken, not only normalise_phone


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "first", "last"),
    [
        ("สมชาย ใจดี", "สมชาย", "ใจดี"),
        ("  สมชาย   ใจดี  ", "สมชาย", "ใจดี"),
        ("สมชาย", "สมชาย", ""),
        ("สมชาย ณ อยุธยา", "สมชาย", "ณ อยุธยา"),  # the rest is the last name
        ("นาย สมชาย ใจดี", "สมชาย", "ใจดี"),
        ("น.ส.สมหญิง รักดี", "สมหญิง", "รักดี"),
        ("นางสาว สมหญิง รักดี", "สมหญิง", "รักดี"),
        ("Mr. John Smith", "John", "Smith"),
        ("นายสมชาย", "นายสมชาย", ""),  # a glued title is not guessed away
        ("คุณากร ศรีสุข", "คุณากร", "ศรีสุข"),  # a name that starts like a title stays whole
        ("", "", ""),
    ],
)
def test_full_name_is_split_at_the_first_space(raw, first, last):
    assert cells.split_full_name(raw) == (first, last)


def test_a_name_too_long_is_an_error():
    assert code_of(cells.parse_name, "ก" * 101) == "text_too_long"


# --- gender -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "gender"),
    [
        ("ชาย", "male"),
        ("หญิง", "female"),
        ("อื่นๆ", "other"),
        ("อื่น ๆ", "other"),
        ("M", "male"),
        ("f", "female"),
        ("Male", "male"),
        ("FEMALE", "female"),
        ("other", "other"),
        ("ผู้หญิง", "female"),
        ("", ""),
        (None, ""),
        ("ไม่ระบุ", ""),
    ],
)
def test_gender_in_thai_or_english(raw, gender):
    assert cells.parse_gender(raw) == gender


def test_unknown_gender_is_an_error():
    assert code_of(cells.parse_gender, "robot") == "gender_unknown"


# --- birthdays ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        dt.datetime(1990, 3, 15),  # an Excel date cell
        dt.date(1990, 3, 15),
        dt.datetime(2533, 3, 15),  # a Buddhist Era year typed into an Excel date cell
        32947,  # an Excel serial number in a cell without a date format
        32947.0,
        "32947",
        "15/03/1990",
        "15/3/1990",
        "15-03-1990",
        "15.03.1990",
        "15/03/2533",  # Buddhist Era
        "1990-03-15",
        "1990-03-15 00:00:00",
        "2533-03-15",
        "15 มีนาคม 2533",
        "15 มีนาคม พ.ศ. 2533",
        "15 มี.ค. 2533",
        "15 มี.ค. 33",  # Thai short date: the last two digits of the Buddhist year
        "๑๕ มีนาคม ๒๕๓๓",  # Thai digits
        "15มีนาคม2533",
        "15 Mar 1990",
        "15-Mar-1990",
        "15 March 1990",
        "March 15, 1990",
        "15 มีนาคม ค.ศ. 1990",
    ],
)
def test_birthday_in_every_form(raw):
    assert cells.parse_birthday(raw, today=TODAY) == dt.date(1990, 3, 15)


def test_thai_month_names_all_twelve():
    names = [
        "ม.ค.",
        "ก.พ.",
        "มี.ค.",
        "เม.ย.",
        "พ.ค.",
        "มิ.ย.",
        "ก.ค.",
        "ส.ค.",
        "ก.ย.",
        "ต.ค.",
        "พ.ย.",
        "ธ.ค.",
    ]
    full = [
        "มกราคม",
        "กุมภาพันธ์",
        "มีนาคม",
        "เมษายน",
        "พฤษภาคม",
        "มิถุนายน",
        "กรกฎาคม",
        "สิงหาคม",
        "กันยายน",
        "ตุลาคม",
        "พฤศจิกายน",
        "ธันวาคม",
    ]
    for month, (short, long) in enumerate(zip(names, full, strict=True), start=1):
        assert cells.parse_birthday(f"1 {short} 2543", today=TODAY) == dt.date(2000, month, 1)
        assert cells.parse_birthday(f"1 {long} 2543", today=TODAY) == dt.date(2000, month, 1)


def test_leap_day_in_a_buddhist_year():
    # 2543 BE = 2000 CE, a leap year; the date must be built after converting the year.
    assert cells.parse_birthday("29/02/2543", today=TODAY) == dt.date(2000, 2, 29)


def test_blank_birthday_is_none():
    assert cells.parse_birthday("", today=TODAY) is None
    assert cells.parse_birthday(None, today=TODAY) is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("31/02/1990", "birthday_invalid"),
        ("15/13/1990", "birthday_invalid"),
        ("yesterday", "birthday_invalid"),
        ("15 Foo 1990", "birthday_invalid"),
        (1990, "birthday_invalid"),  # a year alone, not a date
        ("2533", "birthday_invalid"),
        ("15/03/90", "birthday_two_digit_year"),
        ("15 Mar 90", "birthday_two_digit_year"),
        ("01/01/2030", "birthday_future"),
        (dt.date(2027, 1, 1), "birthday_future"),
        ("01/01/1850", "birthday_too_old"),
    ],
)
def test_bad_birthday_is_an_error(raw, code):
    assert code_of(cells.parse_birthday, raw, today=TODAY) == code


# --- points -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "points"),
    [
        (150, 150),
        (150.0, 150),
        ("150", 150),
        ("1,500", 1500),
        ("๑๕๐", 150),
        (" 150 ", 150),
        ("150.00", 150),
        (Decimal("20"), 20),
        (0, 0),
        ("", 0),
        (None, 0),
    ],
)
def test_points_whole_numbers(raw, points):
    assert cells.parse_points(raw) == points


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (-5, "points_negative"),
        ("-5", "points_negative"),
        ("\u22125", "points_negative"),  # a typographic minus
        (10.5, "points_fraction"),
        ("10.5", "points_fraction"),
        ("abc", "points_not_number"),
        ("10 points", "points_not_number"),
        (True, "points_not_number"),
        (float("nan"), "points_not_number"),
        (10**12, "points_too_many"),
        ("1,50", "points_comma"),  # never read as 150
        ("15,00", "points_comma"),
        ("1.500,00", "points_comma"),
    ],
)
def test_negative_fractional_or_non_numeric_points_are_errors(raw, code):
    assert code_of(cells.parse_points, raw) == code


# --- the rest ---------------------------------------------------------------------------------


def test_email_is_checked_and_its_domain_lower_cased():
    assert cells.parse_email(" Somchai@Example.COM ") == "Somchai@example.com"
    assert cells.parse_email("mailto:a@b.co") == "a@b.co"
    assert code_of(cells.parse_email, "not an email") == "email_invalid"


def test_tags_are_split_on_commas_semicolons_and_new_lines():
    assert cells.parse_list("VIP, ลูกค้าประจำ;VIP\nสายกาแฟ") == ["VIP", "ลูกค้าประจำ", "สายกาแฟ"]
    assert cells.parse_list(None) == []


def test_customer_id_stored_as_a_number_loses_its_dot_zero():
    assert cells.parse_customer_id(1001.0) == "1001"
    assert cells.parse_customer_id("  C-01 ") == "C-01"
    assert cells.parse_customer_id("") is None


def test_note_keeps_its_lines():
    assert cells.parse_note("line one\n  line two ") == "line one\nline two"


def test_text_that_needs_no_cleaning_is_given_back_as_it_is():
    import random

    def slow(text: str) -> str:
        return cells._SPACES.sub(" ", cells._INVISIBLE.sub("", text)).strip()

    rnd = random.Random(3)
    alphabet = ["ก", "a", "1", " ", "  ", "\u00a0", "\u200b", "\ufeff", "\t", "\n", "\r", "\u3000"]
    for _ in range(5000):
        text = "".join(rnd.choices(alphabet, k=rnd.randint(0, 8)))
        assert cells.clean_text(text) == slow(text), repr(text)
    assert cells.clean_text("สมชาย ใจดี") == "สมชาย ใจดี"
