"""Dates as Thai users read them: 24 พ.ย. 2569 (Buddhist Era) or 24 Nov 2026.

The Buddhist Era year is the Common Era year + 543. Only the display changes; dates are stored and
computed in the Common Era, in Asia/Bangkok.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone, translation

BE_OFFSET = 543
THAI_MONTHS_SHORT = [
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
]  # fmt: skip
THAI_MONTHS_LONG = [
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
]  # fmt: skip
EN_MONTHS_SHORT = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
]  # fmt: skip
EN_MONTHS_LONG = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip


def format_display_date(
    value: dt.date | dt.datetime | None,
    *,
    buddhist_era: bool = True,
    style: str = "short",
    language: str | None = None,
    with_time: bool = False,
) -> str:
    """Format a date (or an aware datetime, shown in Bangkok time) for people.

    Thai: "24 พ.ย. 2569" (BE) or "24 พ.ย. 2026". English: "24 Nov 2026", or "24 Nov 2569 BE" when
    the shop chooses Buddhist Era years.
    """
    if value is None:
        return ""
    time_part = ""
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        time_part = value.strftime("%H:%M")
        value = value.date()
    language = (language or translation.get_language() or "th")[:2]
    year = value.year + BE_OFFSET if buddhist_era else value.year
    if language == "th":
        months = THAI_MONTHS_LONG if style == "long" else THAI_MONTHS_SHORT
        text = f"{value.day} {months[value.month - 1]} {year}"
        if with_time and time_part:
            text += f" {time_part} น."
    else:
        months = EN_MONTHS_LONG if style == "long" else EN_MONTHS_SHORT
        text = f"{value.day} {months[value.month - 1]} {year}"
        if buddhist_era:
            text += " BE"
        if with_time and time_part:
            text += f", {time_part}"
    return text


def shows_buddhist_era(language: str | None = None) -> bool:
    """The one rule for screens that have no shop setting of their own (the back office, staff
    messages): Thai shows Buddhist Era years, English Common Era years."""
    return (language or translation.get_language() or "th")[:2] == "th"


def format_people_date(value: dt.date | dt.datetime | None, *, with_time: bool = False) -> str:
    """A date for the person reading the screen in the active language: "3 ธ.ค. 2569 14:05 น."
    in Thai, "3 Dec 2026, 14:05" in English. Files and the API keep ISO dates."""
    return format_display_date(value, buddhist_era=shows_buddhist_era(), with_time=with_time)


def local_midnight(day: dt.date) -> dt.datetime:
    """The instant ``day`` begins at the shop (00:00 in the current time zone, Asia/Bangkok): the
    bound of a range of local days on an aware ``created_at``."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
