"""The Thai fast path of normalise_phone gives exactly what phonenumbers gives, valid or not."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from loyalty.phones import InvalidPhone, _fast_thai, normalise_phone

# Plain Thai forms as normalise_phone has them once separators are gone: 0 + 7..11 digits,
# +66 + 7..11 digits; digits biased to Thai prefixes so that many are valid and many are not.
_prefix = st.sampled_from(
    ["", "0", "1", "2", "6", "8", "9", "14", "18", "19", "1800", "1900", "60", "67", "671", "672",
     "673", "68", "3", "4", "5", "7"]
)  # fmt: skip
_national = st.builds(
    lambda prefix, rest, length: (prefix + rest)[:length],
    _prefix,
    st.text(alphabet="0123456789", min_size=7, max_size=12),
    st.integers(min_value=7, max_value=11),
)
_thai_text = st.builds(
    lambda lead, national: lead + national, st.sampled_from(["0", "+66"]), _national
)


def _phonenumbers(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "TH")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@settings(max_examples=1500, deadline=None)
@given(_thai_text)
@example("0812345678")
@example("021234567")
@example("+66812345678")
@example("0600000000")
@example("06712345678")
@example("0671912345")
@example("01800123456")
@example("019001234567")
@example("0012345678")
def test_fast_path_matches_phonenumbers(text):
    fast = _fast_thai(text)
    slow = _phonenumbers(text)
    if fast is not None:
        assert fast == slow
    else:
        # Not taken: the slow path decides; for the forms the fast path reads, it only declines
        # numbers phonenumbers does not find valid.
        if _fast_form(text):
            assert slow is None


def _fast_form(text: str) -> bool:
    national = text[1:] if text.startswith("0") else text[3:]
    return national[:1] in "123456789" and national.isdigit() and 8 <= len(national) <= 10


@settings(max_examples=500, deadline=None)
@given(_thai_text)
@example("004534280294")
def test_normalise_phone_unchanged(text):
    # What normalise_phone gave before the fast path: "00" is read as "+" (0066… is +66…, as Thai
    # users write it), then phonenumbers decides. phonenumbers alone would read "004…" as Thai's
    # international prefix 00X and give another number.
    slow = _phonenumbers("+" + text[2:] if text.startswith("00") else text)
    try:
        got = normalise_phone(text)
    except InvalidPhone:
        got = None
    if slow is not None:
        assert got == slow


@pytest.mark.parametrize(
    "raw",
    ["081-234-5678", "812345678", 812345678.0, "+66 81 234 5678", "66812345678", "๐๘๑๒๓๔๕๖๗๘"],
)
def test_common_forms_take_the_fast_path(raw, monkeypatch):
    def no_parse(*args, **kwargs):
        raise AssertionError("phonenumbers.parse called")

    monkeypatch.setattr(phonenumbers, "parse", no_parse)
    assert normalise_phone(raw) == "+66812345678"


@settings(max_examples=1500, deadline=None)
@given(_national)
@example("812345678")
@example("21234567")
@example("1800123456")
def test_thai_national_valid_is_phonenumbers_validity(national):
    from loyalty.phones import thai_national_valid

    if not national.isdigit() or national[0] == "0":
        return
    number = phonenumbers.PhoneNumber(country_code=66, national_number=int(national))
    assert thai_national_valid(national) == phonenumbers.is_valid_number(number)
