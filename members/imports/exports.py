"""xlsx exports: members (as filtered in the back office), the points ledger, and any list a later
issue registers (redemptions and deliveries once the rewards app has its back office).

Each export is an ``Export``: a sheet title, a file name, its columns (header + how to read the
value from a row) and how to prepare the queryset (``select_related``, ``prefetch_related``).
``register`` adds one; ``xlsx_response`` writes it with openpyxl's write-only workbook, a chunk of
rows at a time (memory stays flat), to a temporary file that is streamed to the browser.

Cells are safe to open: text that starts with = + - − @ a tab or a carriage return (or their
full-width forms) is written as text with Excel's "quote prefix", never as a formula; Thai text is
written as is (xlsx is UTF-8).

The members export's first columns have the import template's headers, so an export can be
imported again (into another shop, or after edits) and gives the same members and balances.
"""

from __future__ import annotations

import itertools
import re
import tempfile
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from loyalty import xlsx
from loyalty.phones import format_phone_local
from loyalty.xlsx import FORMULA_STARTS  # noqa: F401 - the rule, importable from here too
from members.imports.headers import template_header

CHUNK = 2000
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E7F8EE")


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


# --- writing ----------------------------------------------------------------------------------


def safe_cell(sheet, value: Any) -> WriteOnlyCell:
    """One cell whose content can never run as a formula (dates in the export's formats)."""
    return xlsx.safe_cell(sheet, value, date_format=DATE_FORMAT, datetime_format=DATETIME_FORMAT)


def write_rows(target: IO[bytes], *, title: Any, columns: list[Column], rows: Iterable[Any]) -> int:
    """Write one sheet to ``target`` (a binary file); returns the number of data rows.

    openpyxl writes the workbook and the header; the data rows are serialised by
    ``loyalty.xlsx.write_xlsx`` (the same cells as ``safe_cell`` gives, at a tenth of the cost).
    """

    def prepare(sheet) -> None:
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        sheet.freeze_panes = "A2"
        header = []
        for column in columns:
            cell = safe_cell(sheet, str(column.header))
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL
            header.append(cell)
        sheet.append(header)

    values = [column.value for column in columns]
    (count,) = xlsx.write_xlsx(
        target,
        [(title, prepare, ([value(row) for value in values] for row in rows))],
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


# --- members --------------------------------------------------------------------------------------

_GENDER_WORDS_TH = {"male": "ชาย", "female": "หญิง", "other": "อื่นๆ"}


def gender_word(code: str) -> str:
    """The gender as the template's drop-down writes it (Thai words in Thai, else English)."""
    if not code:
        return ""
    if (get_language() or "th").startswith("th"):
        return _GENDER_WORDS_TH.get(code, code)
    return code


def _member_columns() -> list[Column]:
    """The columns of the members export, over ``MemberRow`` (see ``_member_rows``). What does
    not change from row to row (the language, the status labels) is looked up once."""
    from members.models import Member

    statuses = {value: str(label) for value, label in Member.Status.choices}
    thai = (get_language() or "th").startswith("th")
    genders = _GENDER_WORDS_TH if thai else {}
    return [
        Column(template_header("phone"), lambda m: local_phone(m.phone), 16),
        Column(template_header("first_name"), lambda m: m.first_name, 18),
        Column(template_header("last_name"), lambda m: m.last_name, 18),
        Column(template_header("points"), lambda m: m.balance, 10),
        Column(template_header("gender"), lambda m: genders.get(m.gender, m.gender), 10),
        Column(template_header("birthday"), lambda m: m.birthday, 12),
        Column(template_header("email"), lambda m: m.email, 24),
        Column(template_header("tags"), lambda m: m.tags, 18),
        Column(template_header("tier"), lambda m: m.tier or "", 12),
        Column(template_header("customer_id"), lambda m: m.customer_id or "", 14),
        Column(template_header("note"), lambda m: m.note, 24),
        # Informational columns (the import ignores them).
        Column(_("status"), lambda m: statuses.get(m.status, m.status), 14),
        Column(_("LINE name"), lambda m: m.line_display_name, 16),
        Column(_("sign-up branch"), lambda m: m.signup_branch or "", 12),
        Column(_("registered"), lambda m: m.registered_at, 16),
        Column(_("joined"), lambda m: m.created_at, 16),
        Column(_("points debt"), lambda m: m.debt, 10),
        Column(_("system ID"), lambda m: str(m.public_id), 38),
    ]


# A member as the export reads it: its own columns, its tier's name, its sign-up branch's code
# (field → what ``values_list`` reads), and its tags' names, sorted and comma-separated.
_MEMBER_VALUES = {
    "id": "id",
    "phone": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "balance": "balance",
    "gender": "gender",
    "birthday": "birthday",
    "email": "email",
    "tier": "tier__name",
    "customer_id": "customer_id",
    "note": "note",
    "status": "status",
    "line_display_name": "line_display_name",
    "signup_branch": "signup_branch__code",
    "registered_at": "registered_at",
    "created_at": "created_at",
    "debt": "debt",
    "public_id": "public_id",
}
MemberRow = namedtuple("MemberRow", [*_MEMBER_VALUES, "tags"])


def _member_rows(queryset: QuerySet) -> Iterator[MemberRow]:
    """The members of ``queryset`` (in its order) as plain rows, ``CHUNK`` at a time, with one
    query for the tags of each chunk: no model instance per member, tier, branch or tag."""
    from members.models import Member

    through = Member.tags.through
    rows = queryset.values_list(*_MEMBER_VALUES.values()).iterator(chunk_size=CHUNK)
    while chunk := list(itertools.islice(rows, CHUNK)):
        tags: dict[int, list[str]] = {}
        for member_id, name in (
            through.objects.filter(member_id__in=[row[0] for row in chunk])
            .order_by("tag__name", "tag_id")
            .values_list("member_id", "tag__name")
        ):
            tags.setdefault(member_id, []).append(name)
        for row in chunk:
            yield MemberRow(*row, ", ".join(tags.get(row[0], ())))


# A stored Thai mobile number (+66 and 9 digits from 6, 8 or 9): its local form is 0xx-xxx-xxxx,
# which is what phonenumbers' Thai grouping gives it (``format_phone_local``).
_THAI_MOBILE = re.compile(r"\+66([689]\d)(\d{3})(\d{4})")


def local_phone(e164: str | None) -> str:
    """``format_phone_local`` (081-234-5678), sliced out of the stored number for a Thai mobile
    rather than parsed and formatted by phonenumbers for each of 100,000 members."""
    if e164 and (m := _THAI_MOBILE.fullmatch(e164)):
        return f"0{m[1]}-{m[2]}-{m[3]}"
    return format_phone_local(e164)


MEMBERS = register(
    Export(
        key="members",
        title=_("Members"),
        filename="members",
        columns=_member_columns,
        fetch=_member_rows,
    )
)


# --- points ledger --------------------------------------------------------------------------------


def _entry_by(entry) -> str:
    if entry.created_by_id:
        return entry.created_by.get_username()
    if entry.api_key_id:
        return str(entry.api_key)
    return str(entry.get_actor_kind_display())


def _ledger_columns() -> list[Column]:
    return [
        Column(_("time"), lambda e: e.created_at, 16),
        Column(_("phone"), lambda e: format_phone_local(e.member.phone), 14),
        Column(_("member"), lambda e: e.member.display_name, 20),
        Column(_("kind"), lambda e: e.get_kind_display(), 18),
        Column(_("points"), lambda e: e.points, 10),
        Column(_("balance after"), lambda e: e.balance_after, 10),
        Column(_("channel"), lambda e: e.get_channel_display(), 12),
        Column(_("branch"), lambda e: e.branch.code if e.branch_id else "", 10),
        Column(_("by"), _entry_by, 14),
        Column(_("note"), lambda e: e.note, 30),
        Column(_("reference"), lambda e: e.reference, 20),
        Column(_("entry ID"), lambda e: str(e.public_id), 38),
    ]


LEDGER = register(
    Export(
        key="ledger",
        title=_("Points ledger"),
        filename="points-ledger",
        columns=_ledger_columns,
        prepare=lambda qs: qs.select_related("member", "branch", "created_by", "api_key"),
    )
)
