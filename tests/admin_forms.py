"""Build the POST data an admin change form would send, from the page the admin rendered.

Tests then change only what they mean to change, so a POST exercises the real form, its inlines and
their management forms, exactly as a browser would.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms


def _value(bound_field):
    value = bound_field.value()
    field = bound_field.field
    if isinstance(field, forms.FileField):
        return None
    if isinstance(field, forms.BooleanField):
        return "on" if value else None
    if isinstance(field, forms.ModelMultipleChoiceField | forms.MultipleChoiceField):
        return [str(getattr(v, "pk", v)) for v in (value or [])]
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return [value.date().isoformat(), value.strftime("%H:%M:%S")]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | int | float):
        return str(value)
    return getattr(value, "pk", value)


def form_data(form) -> dict:
    data = {}
    for name in form.fields:
        bound = form[name]
        value = _value(bound)
        if value is None:
            continue
        if isinstance(form.fields[name], forms.SplitDateTimeField):
            parts = value if isinstance(value, list) else [value, value]
            data[f"{bound.html_name}_0"], data[f"{bound.html_name}_1"] = parts
        else:
            data[bound.html_name] = value
    return data


def admin_change_data(response) -> dict:
    """The POST data of the admin add or change form in ``response`` (a rendered change form)."""
    data = form_data(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management[name].html_name] = management[name].value()
        for form in formset.forms:
            data.update(form_data(form))
    return data


def inline_prefix(response, model) -> str:
    """The form prefix of the inline formset for ``model`` on the change page in ``response``."""
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset.prefix
    raise LookupError(model)


def errors_text(response) -> str:
    """Every error the admin showed in the change form (form, fields and inline formsets)."""
    parts = []
    adminform = response.context.get("adminform")
    if adminform is not None:
        form = adminform.form
        for errors in form.errors.values():
            parts.extend(str(e) for e in errors)
    for inline in response.context.get("inline_admin_formsets", []) or []:
        parts.extend(str(e) for e in inline.formset.non_form_errors())
        for errors in inline.formset.errors:
            for field_errors in errors.values():
                parts.extend(str(e) for e in field_errors)
    return "\n".join(parts)
