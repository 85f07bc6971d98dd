"""Dates in the back office as people read them: Buddhist Era years in Thai.

Django's admin shows a date column through ``formats.localize``, whose Thai format has Common Era
years; no format string adds 543. ``PeopleDatesAdminMixin`` replaces each date or date-time field
of ``list_display`` with a column formatted by ``loyalty.dates.format_people_date`` (same title,
same sort order), and each read-only date field of a change form likewise (the form is built
first, from the fields as declared; only what the page shows is swapped). The date hierarchy's
years are the template filter ``buddhist_era_years``'s business (templates/admin/date_hierarchy.html).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from loyalty.dates import format_people_date

SUFFIX = "_as_date"


def people_date(model: type[models.Model], name: str) -> Callable:
    """An admin column showing ``model``'s date or date-time field ``name`` for people."""
    field = model._meta.get_field(name)
    with_time = isinstance(field, models.DateTimeField)

    @admin.display(description=field.verbose_name, ordering=name)
    def column(obj) -> str:
        return format_people_date(getattr(obj, name), with_time=with_time) or "-"

    column.__name__ = f"{name}{SUFFIX}"
    return column


def _swap(fields, names: set[str]):
    """``fields`` of a fieldset (names, or tuples of names on one line) with ``names`` swapped
    for their people-date columns."""
    swapped = []
    for item in fields:
        if isinstance(item, list | tuple):
            swapped.append(type(item)(_swap(item, names)))
        else:
            swapped.append(f"{item}{SUFFIX}" if item in names else item)
    return swapped


def _date_field(model: type[models.Model], name: object) -> bool:
    if not isinstance(name, str):
        return False
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return isinstance(field, models.DateField) and not field.is_relation


class PeopleDatesAdminMixin:
    """Date columns of the change list, and ``<field>_as_date`` read-only fields, shown by
    ``format_people_date``."""

    def __getattr__(self, name: str):
        # "<field>_as_date" of a date field of the model, for readonly_fields and fieldsets.
        if name.endswith(SUFFIX):
            field_name = name[: -len(SUFFIX)]
            model = self.__dict__.get("model") or type(self).__dict__.get("model")
            if model is not None and _date_field(model, field_name):
                return people_date(model, field_name)
        raise AttributeError(name)

    def get_list_display(self, request):
        return [
            f"{name}{SUFFIX}" if _date_field(self.model, name) else name
            for name in super().get_list_display(request)
        ]

    def get_list_display_links(self, request, list_display):
        links = super().get_list_display_links(request, list_display)
        if links is None:
            return links
        return [f"{name}{SUFFIX}" if _date_field(self.model, name) else name for name in links]

    def render_change_form(self, request, context, *args, **kwargs):
        adminform = context.get("adminform")
        if adminform is not None:
            names = {n for n in adminform.readonly_fields if _date_field(self.model, n)}
            if names:
                adminform.readonly_fields = _swap(adminform.readonly_fields, names)
                adminform.fieldsets = [
                    (title, {**options, "fields": _swap(options.get("fields", ()), names)})
                    for title, options in adminform.fieldsets
                ]
        return super().render_change_form(request, context, *args, **kwargs)
