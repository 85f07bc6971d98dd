"""``{{ e164|phone_local }}``: a stored phone number as Thai users write it (081-234-5678)."""

from django import template

from loyalty.phones import format_phone_local

register = template.Library()


@register.filter
def phone_local(value: str | None) -> str:
    return format_phone_local(value)
