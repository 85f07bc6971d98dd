"""Dates as Thai users read them: Buddhist Era years, Thai month names, Bangkok time."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.template import Context, Template
from django.utils import timezone, translation

from loyalty.dates import format_display_date

BANGKOK = zoneinfo.ZoneInfo("Asia/Bangkok")
UTC = dt.UTC


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "24 พ.ย. 2569"),
        ({"style": "long"}, "24 พฤศจิกายน 2569"),
        ({"buddhist_era": False}, "24 พ.ย. 2026"),
        ({"language": "en"}, "24 Nov 2569 BE"),
        ({"language": "en", "buddhist_era": False}, "24 Nov 2026"),
        ({"language": "en", "buddhist_era": False, "style": "long"}, "24 November 2026"),
    ],
)
def test_date_in_thai_and_english(kwargs, expected):
    kwargs.setdefault("language", "th")

    assert format_display_date(dt.date(2026, 11, 24), **kwargs) == expected


def test_buddhist_era_is_common_era_plus_543():
    assert format_display_date(dt.date(2000, 1, 1), language="th") == "1 ม.ค. 2543"


@pytest.mark.parametrize(
    ("month", "thai"),
    list(
        enumerate(
            [
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
            ],
            start=1,
        )
    ),
)
def test_every_thai_month_abbreviation(month, thai):
    assert format_display_date(dt.date(2026, month, 1), language="th") == f"1 {thai} 2569"


def test_language_follows_the_active_language_when_not_given():
    day = dt.date(2026, 4, 13)

    with translation.override("th"):
        thai = format_display_date(day)
    with translation.override("en"):
        english = format_display_date(day)

    assert (thai, english) == ("13 เม.ย. 2569", "13 Apr 2569 BE")


def test_none_is_shown_as_nothing():
    assert format_display_date(None) == ""


def test_aware_datetime_is_shown_in_bangkok_time():
    # 17:30 UTC is 00:30 the next day in Bangkok (UTC+7)
    instant = dt.datetime(2026, 12, 31, 17, 30, tzinfo=UTC)

    assert format_display_date(instant, language="th", with_time=True) == "1 ม.ค. 2570 00:30 น."
    assert format_display_date(instant, language="en", buddhist_era=False, with_time=True) == (
        "1 Jan 2027, 00:30"
    )


def test_datetime_without_with_time_shows_the_bangkok_date_only():
    instant = dt.datetime(2026, 11, 23, 17, 30, tzinfo=UTC)

    assert format_display_date(instant, language="th") == "24 พ.ย. 2569"


@time_machine.travel(dt.datetime(2026, 11, 24, 0, 30, tzinfo=BANGKOK), tick=False)
def test_at_0030_bangkok_now_is_already_the_next_day():
    """00:30 in Bangkok is 17:30 of the previous day in UTC: people must see their own date."""
    now = timezone.now()

    assert now.astimezone(UTC).date() == dt.date(2026, 11, 23)
    assert timezone.localdate() == dt.date(2026, 11, 24)
    assert format_display_date(now, language="th", with_time=True) == "24 พ.ย. 2569 00:30 น."
    assert format_display_date(timezone.localdate(), language="en") == "24 Nov 2569 BE"


@time_machine.travel(dt.datetime(2026, 12, 31, 23, 59, tzinfo=BANGKOK), tick=False)
def test_last_minute_of_the_year_in_bangkok():
    assert format_display_date(timezone.now(), language="th", style="long") == "31 ธันวาคม 2569"


def test_template_filters():
    template = Template(
        "{% load thai_dates %}{{ d|display_date }}|{{ d|display_date:False }}|"
        "{{ d|display_date_long }}|{{ t|display_datetime }}|{{ p|phone_local }}"
    )
    context = Context(
        {
            "d": dt.date(2026, 11, 24),
            "t": dt.datetime(2026, 11, 23, 17, 30, tzinfo=UTC),
            "p": "+66812345678",
        }
    )

    with translation.override("th"):
        rendered = template.render(context)

    assert rendered == (
        "24 พ.ย. 2569|24 พ.ย. 2026|24 พฤศจิกายน 2569|24 พ.ย. 2569 00:30 น.|081-234-5678"
    )


def test_template_filter_follows_the_shops_setting():
    template = Template("{% load thai_dates %}{{ d|display_date:shop.use_buddhist_era }}")

    with translation.override("en"):
        be = template.render(
            Context({"d": dt.date(2026, 1, 2), "shop": {"use_buddhist_era": True}})
        )
        ce = template.render(
            Context({"d": dt.date(2026, 1, 2), "shop": {"use_buddhist_era": False}})
        )

    assert (be, ce) == ("2 Jan 2569 BE", "2 Jan 2026")


def test_people_dates_are_buddhist_era_in_thai_and_common_era_in_english():
    from loyalty.dates import format_people_date

    moment = dt.datetime(2026, 12, 3, 7, 5, tzinfo=UTC)  # 14:05 in Bangkok
    with translation.override("th"):
        assert format_people_date(moment, with_time=True) == "3 ธ.ค. 2569 14:05 น."
        assert format_people_date(moment.date()) == "3 ธ.ค. 2569"
    with translation.override("en"):
        assert format_people_date(moment, with_time=True) == "3 Dec 2026, 14:05"
    assert format_people_date(None) == ""


def test_the_date_hierarchys_years_are_buddhist_era_in_thai():
    template = Template("{% load thai_dates %}{{ title|buddhist_era_years }}")
    with translation.override("th"):
        assert template.render(Context({"title": "ตุลาคม 2026"})) == "ตุลาคม 2569"
        assert template.render(Context({"title": "2026"})) == "2569"
    with translation.override("en"):
        assert template.render(Context({"title": "October 2026"})) == "October 2026"
