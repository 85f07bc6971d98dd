"""Numbers as typed: a comma only separates thousands, in groups of three; a dot is the decimal
point. One function reads amounts and points for the API, the staff app and imports."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.numbers import BadNumber, parse_decimal


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1250", "1250"),
        ("1250.5", "1250.5"),
        ("1,250", "1250"),
        ("1,250.00", "1250.00"),
        ("12,345,678.90", "12345678.90"),
        ("๑,๒๕๐.๕๐", "1250.50"),  # Thai digits
        (" 99.00 ", "99.00"),
        (".5", "0.5"),
        ("-5", "-5"),
    ],
)
def test_plain_and_thousands_grouped_numbers_are_read(text, value):
    assert parse_decimal(text) == Decimal(value)


@pytest.mark.parametrize("text", ["12,50", "1,2345", ",500", "1,,000", "1.250,00", "0,500", "1,"])
def test_a_comma_that_is_not_a_thousands_separator_is_refused(text):
    with pytest.raises(BadNumber) as refused:
        parse_decimal(text)
    assert refused.value.reason == "comma"


@pytest.mark.parametrize("text", ["abc", "1e30", "NaN", "Infinity", ".", "-", "1 250", "١٢"])
def test_anything_else_is_not_a_number(text):
    with pytest.raises(BadNumber) as refused:
        parse_decimal(text)
    assert refused.value.reason == "not_a_number"


def test_an_empty_text_says_so():
    with pytest.raises(BadNumber) as refused:
        parse_decimal("  ")
    assert refused.value.reason == "empty"


amounts = st.decimals(min_value=0, max_value=Decimal("99999999999.99"), places=2)


@given(amount=amounts)
def test_any_amount_written_with_or_without_thousands_separators_reads_back(amount):
    assert parse_decimal(f"{amount:,.2f}") == amount
    assert parse_decimal(f"{amount:.2f}") == amount
    assert parse_decimal(f"{amount:,.2f}".translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))) == (
        amount
    )


@given(amount=amounts.filter(lambda a: a >= 1), at=st.integers(min_value=0))
def test_a_comma_anywhere_but_between_groups_of_three_is_refused(amount, at):
    digits = f"{amount:.2f}"
    at %= len(digits) + 1
    text = digits[:at] + "," + digits[at:]
    whole = digits.split(".")[0]
    # "1,234.00" or "123,456.00": the only place a single comma may go.
    grouped_ok = 0 < at <= 3 and len(whole) - at == 3 and whole[0] != "0"
    if grouped_ok:
        assert parse_decimal(text) == amount
    else:
        with pytest.raises(BadNumber) as refused:
            parse_decimal(text)
        assert refused.value.reason == "comma"


@given(text=st.text(alphabet="0123456789,.-+ ", max_size=16))
def test_whatever_is_accepted_is_the_number_without_its_commas(text):
    try:
        value = parse_decimal(text)
    except BadNumber:
        return
    assert value == Decimal(text.strip().replace(",", "") or "0")
    whole = text.strip().lstrip("+-").split(".")[0]
    if "," in whole:
        groups = whole.split(",")
        assert 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
