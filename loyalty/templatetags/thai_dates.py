"""Template filters for people-facing dates: ``{{ d|display_date:shop.use_buddhist_era }}``."""

from django import template

from loyalty.dates import format_display_date

register = template.Library()


@register.filter
def display_date(value, buddhist_era=True):
    """Short date, e.g. 24 พ.ย. 2569; pass False for Common Era years."""
    return format_display_date(value, buddhist_era=bool(buddhist_era))


@register.filter
def display_date_long(value, buddhist_era=True):
    return format_display_date(value, buddhist_era=bool(buddhist_era), style="long")


@register.filter
def display_datetime(value, buddhist_era=True):
    return format_display_date(value, buddhist_era=bool(buddhist_era), with_time=True)


@register.filter
def phone_local(value):
    from loyalty.phones import format_phone_local

    return format_phone_local(value)


@register.filter
def buddhist_era_years(text):
    """The years in a title Django's admin made from a date ("2026", "ตุลาคม 2026"), as Buddhist
    Era years when the screen is Thai; only the date hierarchy's titles go through here."""
    import re

    from loyalty.dates import BE_OFFSET, shows_buddhist_era

    if not shows_buddhist_era():
        return text
    return re.sub(
        r"\b(1[89]\d\d|2[01]\d\d)\b", lambda m: str(int(m.group(1)) + BE_OFFSET), str(text)
    )
