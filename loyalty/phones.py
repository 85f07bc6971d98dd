"""Phone numbers: one stored form (E.164, +66...), shown in Thai local form (081-234-5678).

People type numbers every way: 0812345678, 081-234-5678, +66 81 234 5678, 66812345678, Thai digits
(๐๘๑...), or a spreadsheet that dropped the leading zero (812345678, 812345678.0, 8.12345678E+08).
All of them normalise here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from loyalty.numbers import THAI_DIGITS

_SEPARATORS = re.compile(r"[\s\-().\u00a0/]")
_SPREADSHEET_NUMBER = re.compile(r"\d{1,15}(\.\d{1,15})?([eE]\+?\d{1,2})?")


class InvalidPhone(ValidationError):
    pass


def _thai_valid_patterns() -> tuple[tuple[frozenset[int], re.Pattern[str]], ...]:
    """phonenumbers' own Thai validity rules (its metadata, compiled once): a national number is
    valid when it matches the general description and at least one number type."""
    from phonenumbers.phonemetadata import PhoneMetadata

    metadata = PhoneMetadata.metadata_for_region("TH")

    def desc(d):
        return (frozenset(d.possible_length or ()), re.compile(d.national_number_pattern))

    types = (
        "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
        "voicemail", "fixed_line", "mobile",
    )  # fmt: skip
    found = [getattr(metadata, name) for name in types]
    kinds = [desc(d) for d in found if d is not None and d.national_number_pattern]
    return (desc(metadata.general_desc), *kinds)


_THAI_GENERAL, *_THAI_TYPES = _thai_valid_patterns()
# The common Thai forms once separators are gone: 0 + national number, or +66 + national number.
_THAI_FAST = re.compile(r"(?:0|\+66)([1-9]\d{7,9})")


def _fast_thai(text: str) -> str | None:
    """E.164 for a plain Thai number that phonenumbers would find valid, else None (slow path).

    Gives exactly what ``phonenumbers.parse(text, "TH")`` + ``format_number(E164)`` gives for
    these forms (tests/loyalty/test_phones_fast.py compares both on generated numbers); the
    parse is most of the cost of a 100,000-row import's phone column.
    """
    match = _THAI_FAST.fullmatch(text)
    if match is None:
        return None
    national = match.group(1)
    return "+66" + national if thai_national_valid(national) else None


def thai_national_valid(national: str) -> bool:
    """Whether ``phonenumbers.is_valid_number`` holds for +66 ``national`` (ASCII digits, no
    leading zero), by the same metadata without building and parsing a number."""
    lengths, pattern = _THAI_GENERAL
    if (lengths and len(national) not in lengths) or not pattern.fullmatch(national):
        return False
    for lengths, pattern in _THAI_TYPES:
        if (not lengths or len(national) in lengths) and pattern.fullmatch(national):
            return True
    return False


def _spreadsheet_integer(text: str) -> str:
    """A number a spreadsheet wrote as a decimal ("812345678.0", "8.12345678E+08") as its digits.

    Anything else (including "081.234.5678", dots as separators) is returned unchanged.
    """
    if not _SPREADSHEET_NUMBER.fullmatch(text) or not re.search(r"[.eE]", text):
        return text
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if value != value.to_integral_value():
        return text
    return str(int(value))


def normalise_phone(raw: object) -> str:
    """Return ``raw`` as E.164 (``+66812345678``) or raise ``InvalidPhone`` with a clear message.

    Numbers without a country code are read as Thai. A 9-digit Thai mobile or landline without
    its leading zero (what Excel does to 0812345678 stored as a number) is accepted.
    """
    if raw is None:
        raise InvalidPhone(_("Enter a phone number."), code="required")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = _spreadsheet_integer(str(raw).translate(THAI_DIGITS).strip())
    text = _SEPARATORS.sub("", text)
    if not text:
        raise InvalidPhone(_("Enter a phone number."), code="required")
    if text.startswith("00"):
        text = "+" + text[2:]
    if not re.fullmatch(r"\+?\d{6,15}", text):
        raise InvalidPhone(
            _("“%(value)s” is not a phone number."), code="invalid", params={"value": raw}
        )
    if not text.startswith("+"):
        if text.startswith("66") and len(text) == 11:
            text = "+" + text
        elif len(text) == 9 and text[0] in "2345689":
            text = "0" + text
    fast = _fast_thai(text)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(text, "TH")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(
            _("“%(value)s” is not a phone number."), code="invalid", params={"value": raw}
        ) from exc
    if not phonenumbers.is_valid_number(number):
        if number.country_code == 66:
            message = _("“%(value)s” is not a valid Thai phone number (e.g. 081-234-5678).")
        else:
            message = _("“%(value)s” is not a valid phone number.")
        raise InvalidPhone(message, code="invalid", params={"value": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone_local(e164: str | None) -> str:
    """Show a stored number the way Thai users write it: 081-234-5678, 02-123-4567.

    Foreign numbers are shown in international form.
    """
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code != 66:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    # phonenumbers knows the Thai groupings: 081 234 5678, 02 123 4567 (Bangkok), 053 123 456
    # (provinces), 1800 123 456 (toll-free). Thai users write them with hyphens.
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "-".join(national.split())


def mask_phone(e164: str | None) -> str:
    """A number safe to show on a cashier's screen: 081-xxx-5678."""
    local = format_phone_local(e164)
    if not local:
        return ""
    digits = [c for c in local if c.isdigit()]
    keep_head, keep_tail = 3, 4
    out, seen = [], 0
    for c in local:
        if c.isdigit():
            out.append(c if seen < keep_head or seen >= len(digits) - keep_tail else "x")
            seen += 1
        else:
            out.append(c)
    return "".join(out)


@dataclass(frozen=True)
class PhoneSearch:
    """What a typed fragment of a phone number can mean to a search of stored (E.164) numbers:
    the whole number, its beginning, or its end."""

    exact: str | None = None
    prefixes: tuple[str, ...] = ()
    suffix: str | None = None


# Fewer digits than this match too many numbers to be a useful search.
MIN_SEARCH_DIGITS = 3


def phone_search(term: str) -> PhoneSearch | None:
    """Read a search term as (part of) a phone number, or None when it is not one.

    - A whole number in any typed form (``081-234-5678``, ``+66 81 234 5678``, Thai digits) is
      that number.
    - A local prefix (``081``, ``0812``, ``081-2``) is the beginning of the stored +6681…, and
      ``+6681``/``006681`` the beginning as typed.
    - Other digits (``5678``, the last 4 digits a customer tells the cashier) are the end of the
      number; ``66812…`` may also be a beginning without its ``+``.
    """
    text = _SEPARATORS.sub("", str(term).translate(THAI_DIGITS).strip())
    if not re.fullmatch(r"\+?\d+", text) or len(text.lstrip("+")) < MIN_SEARCH_DIGITS:
        return None
    try:
        return PhoneSearch(exact=normalise_phone(text))
    except InvalidPhone:
        pass
    if text.startswith("+"):
        return PhoneSearch(prefixes=(text,))
    if text.startswith("00"):
        return PhoneSearch(prefixes=("+" + text[2:],))
    if text.startswith("0"):
        return PhoneSearch(prefixes=("+66" + text[1:],))
    if text.startswith("66"):
        return PhoneSearch(prefixes=("+" + text,), suffix=text)
    return PhoneSearch(suffix=text)
