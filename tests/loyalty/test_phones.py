"""Phone numbers: every way Thai people type them ends up as one E.164 form, shown back in the local
form they expect (loyalty/phones.py)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from loyalty.phones import InvalidPhone, format_phone_local, mask_phone, normalise_phone

pytestmark = pytest.mark.usefixtures("english")


@pytest.mark.parametrize(
    "typed",
    [
        "0812345678",
        "081-234-5678",
        "081 234 5678",
        "081.234.5678",
        "(081) 234-5678",
        " 0812345678 ",
        "+66 81 234 5678",
        "+66812345678",
        "+66 081 234 5678",  # the trunk 0 kept after the country code
        "66812345678",
        "0066812345678",
        "๐๘๑๒๓๔๕๖๗๘",  # Thai digits
        "๐๘๑-๒๓๔-๕๖๗๘",
        "812345678",  # Excel dropped the leading zero
        812345678,
        812345678.0,
        "812345678.0",  # ... and a CSV export wrote it as a decimal
        "8.12345678E+08",  # ... or in scientific notation
        66812345678,
        "081\u00a0234\u00a05678",  # non-breaking spaces from a web page
    ],
)
def test_thai_mobile_in_any_typed_form_becomes_e164(typed):
    assert normalise_phone(typed) == "+66812345678"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("02-123-4567", "+6621234567"),
        ("021234567", "+6621234567"),
        ("21234567", "+6621234567"),  # Bangkok landline without its 0
        ("053-123-456", "+6653123456"),
        ("038 123 456", "+6638123456"),
        ("091-234-5678", "+66912345678"),
        ("061-234-5678", "+66612345678"),
    ],
)
def test_other_thai_numbers_become_e164(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+1 650-253-0000", "+16502530000"),
        ("+81 3-1234-5678", "+81312345678"),
    ],
)
def test_foreign_numbers_with_their_country_code_are_kept(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (None, "Enter a phone number."),
        ("", "Enter a phone number."),
        ("  - ", "Enter a phone number."),
        ("abc", "“abc” is not a phone number."),
        ("0812", "“0812” is not a phone number."),
        ("081-234-567", "“081-234-567” is not a valid Thai phone number (e.g. 081-234-5678)."),
        ("+66 1234 5", "“+66 1234 5” is not a valid Thai phone number (e.g. 081-234-5678)."),
        ("1234567890123456", "“1234567890123456” is not a phone number."),
        ("02 123 4567 ต่อ 12", "“02 123 4567 ต่อ 12” is not a phone number."),
        ("+44 12", "“+44 12” is not a phone number."),
        ("+44 20 7946 095", "“+44 20 7946 095” is not a valid phone number."),
        ("812345678.5", "“812345678.5” is not a valid Thai phone number (e.g. 081-234-5678)."),
        ("1E+99", "“1E+99” is not a phone number."),
    ],
)
def test_invalid_numbers_get_a_clear_message(typed, message):
    with pytest.raises(InvalidPhone) as excinfo:
        normalise_phone(typed)

    assert excinfo.value.messages == [message]


def test_invalid_phone_is_a_django_validation_error():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        normalise_phone("nope")


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+66812345678", "081-234-5678"),
        ("+66612345678", "061-234-5678"),
        ("+6621234567", "02-123-4567"),
        ("+6653123456", "053-123-456"),  # provincial landline: 3-3-3, not 2-3-4
        ("+661800123456", "1800-123-456"),  # toll-free has no trunk 0
        ("+442079460958", "+44 20 7946 0958"),
        ("", ""),
        (None, ""),
        ("garbage", "garbage"),
    ],
)
def test_format_phone_local(stored, shown):
    assert format_phone_local(stored) == shown


@pytest.mark.parametrize(
    ("stored", "masked"),
    [
        ("+66812345678", "081-xxx-5678"),
        ("+6621234567", "02-1xx-4567"),
        ("+442079460958", "+44 2x xxxx 0958"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone_keeps_the_head_and_the_last_four_digits(stored, masked):
    assert mask_phone(stored) == masked


# --- properties -------------------------------------------------------------------------------

thai_numbers = st.one_of(
    st.from_regex(r"\A\+66[689][0-9]{8}\Z"),  # mobiles
    st.from_regex(r"\A\+662[0-9]{7}\Z"),  # Bangkok
    st.from_regex(r"\A\+66(3[2-9]|4[2-5]|5[2-6]|7[3-7])[0-9]{6}\Z"),  # provinces
)


def _valid(e164: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))


@given(thai_numbers)
def test_normalising_the_local_form_gives_back_the_stored_number(e164):
    assume(_valid(e164))

    assert normalise_phone(format_phone_local(e164)) == e164


@given(thai_numbers)
def test_normalising_is_idempotent(e164):
    assume(_valid(e164))

    assert normalise_phone(e164) == e164


@given(thai_numbers, st.sampled_from(["", " ", "-", ".", "\u00a0"]))
def test_any_separator_between_the_local_digits_is_ignored(e164, separator):
    assume(_valid(e164))
    local = format_phone_local(e164)

    typed = local.replace("-", separator)

    assert normalise_phone(typed) == e164


@given(thai_numbers)
def test_thai_digits_read_as_arabic_digits(e164):
    assume(_valid(e164))
    thai = format_phone_local(e164).translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))

    assert normalise_phone(thai) == e164


@given(thai_numbers)
def test_mask_hides_the_middle_but_keeps_the_last_four(e164):
    assume(_valid(e164))
    local, masked = format_phone_local(e164), mask_phone(e164)

    assert len(masked) == len(local)
    assert masked[-4:] == local[-4:]
    assert "x" in masked


@given(st.text(max_size=40))
def test_any_text_either_normalises_or_raises_invalid_phone(text):
    try:
        result = normalise_phone(text)
    except InvalidPhone:
        return
    assert result.startswith("+")
    assert _valid(result)
