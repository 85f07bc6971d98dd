"""Matching what a LINE user typed against a shop's keywords. Pure functions, no database.

Thai chat text arrives in many spellings of one word: with or without spaces, with zero-width
characters pasted from other apps, with Thai or Arabic digits, composed or decomposed. Both the
keywords and the typed text go through ``normalise`` so each spelling matches the same rule.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from loyalty.numbers import THAI_DIGITS

# Zero-width space, non-joiner, joiner, word joiner and the byte-order mark.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))

EXACT = "exact"
CONTAINS = "contains"
STARTS_WITH = "starts_with"


def normalise(text: str) -> str:
    """``text`` as it is compared: NFC, lower case, no whitespace or zero-width characters, and
    Thai digits as ASCII digits."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE).translate(THAI_DIGITS)
    return "".join(text.lower().split())


def keywords_of(raw: str) -> list[str]:
    """The keywords of a rule (one a line), normalised, without empty lines."""
    return [kw for kw in (normalise(line) for line in raw.splitlines()) if kw]


def matches(match: str, keywords: Iterable[str], typed: str) -> bool:
    """Whether the normalised ``typed`` text matches one of the normalised ``keywords``."""
    if not typed:
        return False
    if match == EXACT:
        return typed in keywords
    if match == STARTS_WITH:
        return any(typed.startswith(kw) for kw in keywords)
    return any(kw in typed for kw in keywords)
