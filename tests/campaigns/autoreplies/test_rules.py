"""Thai normalisation and matching: pure functions, with Hypothesis for the spelling variants."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.autoreplies.rules import (
    CONTAINS,
    EXACT,
    STARTS_WITH,
    keywords_of,
    matches,
    normalise,
)

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u2060"]
KEYWORDS = ["โปรโมชั่น", "เมนู", "เวลาเปิด", "promo 2026", "พอยท์"]


@given(st.text())
def test_normalise_is_idempotent(text):
    assert normalise(normalise(text)) == normalise(text)


@given(
    st.sampled_from(KEYWORDS),
    st.lists(st.sampled_from([" ", "\t", "\u3000", *ZERO_WIDTH]), max_size=6),
    st.randoms(use_true_random=False),
)
def test_spacing_and_zero_width_variants_of_a_keyword_match_it(keyword, noise, rnd):
    chars = list(keyword)
    for piece in noise:
        chars.insert(rnd.randint(0, len(chars)), piece)
    typed = normalise("".join(chars))
    assert matches(EXACT, keywords_of(keyword), typed)


def test_thai_digits_case_and_decomposed_forms_compare_equal():
    assert normalise("PROMO ๒๐๒๖") == normalise("promo 2026") == "promo2026"
    decomposed = unicodedata.normalize("NFD", "café")
    assert normalise(decomposed) == normalise("café")


@pytest.mark.parametrize(
    ("match", "typed", "expected"),
    [
        (EXACT, "เมนู", True),
        (EXACT, "ขอดูเมนูหน่อย", False),
        (CONTAINS, "ขอดูเมนูหน่อย", True),
        (CONTAINS, "ขอดู เม นู หน่อย", True),
        (STARTS_WITH, "เมนูวันนี้", True),
        (STARTS_WITH, "ขอเมนู", False),
        (CONTAINS, "ราคา", False),
    ],
)
def test_each_match_kind_in_thai(match, typed, expected):
    assert matches(match, keywords_of("เมนู\nmenu\n\n"), normalise(typed)) is expected


def test_empty_text_matches_nothing():
    assert not matches(CONTAINS, keywords_of("เมนู"), normalise(" \u200b "))
