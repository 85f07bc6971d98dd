"""The RFM map is total (every one of the 125 codes has a group), reaches all 11 groups, and the SQL
CASE built from it agrees with the Python rule on every code."""

import itertools

import pytest
from django.db import connection

from campaigns.segments.rfm import SCORES, RfmGroup, group_case_sql, rfm_code, rfm_group

CODES = list(itertools.product(SCORES, repeat=3))


def test_every_one_of_the_125_codes_has_a_group():
    assert len(CODES) == 125
    groups = {code: rfm_group(*code) for code in CODES}
    assert all(isinstance(group, RfmGroup) for group in groups.values())


def test_every_named_group_is_reached_by_some_code():
    reached = {rfm_group(*code) for code in CODES}
    assert reached == set(RfmGroup)


@pytest.mark.parametrize(
    ("code", "group"),
    [
        ("555", RfmGroup.CHAMPIONS),
        ("511", RfmGroup.NEW),
        ("155", RfmGroup.CANT_LOSE),
        ("111", RfmGroup.LOST),
        ("333", RfmGroup.NEED_ATTENTION),
        ("545", RfmGroup.CHAMPIONS),  # F 4, M 5 fold to FM 5 (half up)
        ("412", RfmGroup.POTENTIAL_LOYALIST),  # F 1, M 2 fold to FM 2
    ],
)
def test_codes_shops_know_land_in_the_expected_group(code, group):
    assert rfm_group(*(int(c) for c in code)) == group
    assert rfm_code(*(int(c) for c in code)) == code


@pytest.mark.parametrize("bad", [(0, 3, 3), (3, 6, 3), (3, 3, -1)])
def test_a_score_outside_one_to_five_is_refused(bad):
    with pytest.raises(ValueError, match="1 to 5"):
        rfm_group(*bad)


@pytest.mark.django_db
def test_the_sql_case_agrees_with_the_python_rule_on_every_code():
    values = ", ".join(f"({r}, {f}, {m})" for r, f, m in CODES)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH codes(r, f, m) AS (VALUES {values}) "  # noqa: S608
            f"SELECT r, f, m, {group_case_sql()} FROM codes"
        )
        rows = cursor.fetchall()
    assert len(rows) == 125
    assert {(r, f, m): group for r, f, m, group in rows} == {
        code: rfm_group(*code).value for code in CODES
    }
