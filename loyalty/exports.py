"""The exports registry: a spreadsheet of any list, registered once, offered by the admin.

Each export is an ``Export``: a sheet title, a file name, its columns (header + how to read the
value from a row) and how to prepare the queryset (``select_related``, ``prefetch_related``) or
read it otherwise (``fetch``). ``register`` adds one to ``EXPORTS``; ``xlsx_response`` writes it
(``loyalty.xlsx``: streamed, formula-safe) to a temporary file that is streamed to the browser.
``ExportAdminMixin`` gives a changelist "Export to Excel" (what the list shows, filters and search
kept) and "Export the selected rows to Excel".

The apps register their own exports: members and the points ledger (``members.imports.exports``),
redemptions and deliveries (``rewards.exports``).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.decorators import action

from loyalty import xlsx
from loyalty.phones import format_phone_local

CHUNK = 2000
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"


@dataclass(frozen=True)
class Column:
    header: Any  # str or lazy translation
    value: Callable[[Any], Any]
    width: int = 16


@dataclass(frozen=True)
class Export:
    key: str
    title: Any
    filename: str
    columns: Callable[[], list[Column]]
    prepare: Callable[[QuerySet], QuerySet] = lambda qs: qs
    # How to read the rows when not as model instances (``prepare``, then chunks of the
    # queryset): whatever the columns' ``value`` functions are given.
    fetch: Callable[[QuerySet], Iterable[Any]] | None = None


EXPORTS: dict[str, Export] = {}


def register(export: Export) -> Export:
    """Make an export available by key (``admin`` actions look it up)."""
    EXPORTS[export.key] = export
    return export


# --- writing ---------------------------------------------------------------------------------


def write_rows(target: IO[bytes], *, title: Any, columns: list[Column], rows: Iterable[Any]) -> int:
    """Write one sheet to ``target`` (a binary file) with ``loyalty.xlsx`` (XlsxWriter, constant
    memory, formula-safe): a filled, frozen header row, the columns' widths, then a row per item
    of ``rows``. Returns the number of data rows."""
    values = [column.value for column in columns]
    (count,) = xlsx.write_xlsx(
        target,
        [
            xlsx.Sheet(
                title,
                ([value(row) for value in values] for row in rows),
                header=[str(column.header) for column in columns],
                widths=[column.width for column in columns],
                styled=True,
            )
        ],
        date_format=DATE_FORMAT,
        datetime_format=DATETIME_FORMAT,
    )
    return count


def iterate(queryset: QuerySet) -> Iterable[Any]:
    """Rows in chunks (prefetches run per chunk)."""
    return queryset.iterator(chunk_size=CHUNK)


def export_file(export: Export, queryset: QuerySet, target: IO[bytes]) -> int:
    rows = export.fetch(queryset) if export.fetch else iterate(export.prepare(queryset))
    return write_rows(target, title=export.title, columns=export.columns(), rows=rows)


def xlsx_file_response(write: Callable[[IO[bytes]], Any], filename: str) -> FileResponse:
    """Write with ``write(file)`` into a temporary file and stream it as a download."""
    target = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
    write(target)
    target.seek(0)
    return FileResponse(
        target,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def xlsx_response(export: Export, queryset: QuerySet) -> FileResponse:
    """The export of ``queryset`` (already scoped to the user's shop and filters) as a download."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return xlsx_file_response(
        lambda target: export_file(export, queryset, target), f"{export.filename}-{stamp}.xlsx"
    )


# A stored Thai mobile number (+66 and 9 digits from 6, 8 or 9): its local form is 0xx-xxx-xxxx,
# which is what phonenumbers' Thai grouping gives it (``format_phone_local``).
_THAI_MOBILE = re.compile(r"\+66([689]\d)(\d{3})(\d{4})")


def local_phone(e164: str | None) -> str:
    """``format_phone_local`` (081-234-5678), sliced out of the stored number for a Thai mobile
    rather than parsed and formatted by phonenumbers for each of 100,000 members."""
    if e164 and (m := _THAI_MOBILE.fullmatch(e164)):
        return f"0{m[1]}-{m[2]}-{m[3]}"
    return format_phone_local(e164)


# --- the admin ----------------------------------------------------------------------------------


class ExportAdminMixin:
    """ "Export to Excel" on a changelist: a button that exports what the list shows (filters and
    search kept) and an action for the selected rows. Set ``export_key`` to a key of
    ``EXPORTS``. Put this mixin before unfold's ``ModelAdmin``."""

    export_key: str = ""
    actions_list = ["export_xlsx"]

    def _export(self):
        return EXPORTS[self.export_key]

    @action(
        description=_("Export to Excel"),  # Thai: ส่งออกเป็น Excel
        url_path="export-xlsx",
        icon="download",
        permissions=["view"],
    )
    def export_xlsx(self, request):
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request)
        return xlsx_response(self._export(), queryset)

    @admin.action(description=_("Export the selected rows to Excel"), permissions=["view"])
    def export_selected_xlsx(self, request, queryset):
        return xlsx_response(self._export(), queryset)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.has_view_permission(request):
            actions["export_selected_xlsx"] = self.get_action("export_selected_xlsx")
        return actions

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        # The export button exports what the list shows: give it the list's filters and search.
        context = getattr(response, "context_data", None)
        if context and request.GET:
            query = request.GET.copy()
            query.pop("p", None)
            for item in context.get("actions_list") or []:
                if isinstance(item, dict) and str(item.get("path", "")).endswith("/export-xlsx/"):
                    item["path"] = f"{item['path']}?{query.urlencode()}"
        return response
