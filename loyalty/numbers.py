"""Numbers as people type them: one rule for every input that takes an amount or points (the Open
API, the staff app, member imports).

A comma is only ever a thousands separator, in groups of three after a first group of one to
three digits ("1,250", "12,345,678.90"); a dot is the only decimal point. So "12,50" is refused
rather than read as 1,250 (a hundred times what the cashier meant), and so are "1,2345", ",500",
"1,,000" and the European "1.250,00". Thai digits (๐–๙) count as digits.
"""

from __future__ import annotations

import re
from decimal import Decimal

# The one table of Thai digits (๐–๙ → 0–9) for every input that takes digits: amounts, points,
# phones, member codes, coupon codes, spreadsheet cells.
THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")

_PLAIN = re.compile(r"(?P<sign>[+-]?)(?P<int>\d*)(?:\.(?P<frac>\d*))?", re.ASCII)
_GROUPED = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[1-9]\d{0,2}(?:,\d{3})+)(?:\.(?P<frac>\d*))?", re.ASCII
)


class BadNumber(ValueError):
    """``reason`` is "empty", "comma" (a comma that is not a thousands separator) or
    "not_a_number"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_decimal(text: str) -> Decimal:
    """``text`` as a ``Decimal``, with commas allowed only as thousands separators (see the module
    docstring), or ``BadNumber`` saying why not. Surrounding spaces are ignored; exponents, NaN
    and infinity are not numbers here."""
    text = str(text).translate(THAI_DIGITS).strip()
    if not text:
        raise BadNumber("empty")
    match = _GROUPED.fullmatch(text) if "," in text else _PLAIN.fullmatch(text)
    if match is None:
        raise BadNumber("comma" if "," in text else "not_a_number")
    whole, frac = match["int"].replace(",", ""), match["frac"] or ""
    if not whole and not frac:
        raise BadNumber("not_a_number")
    return Decimal(f"{match['sign']}{whole or '0'}" + (f".{frac}" if frac else ""))
