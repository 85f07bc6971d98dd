"""The downloadable member-template.xlsx: a members sheet with Thai and English headers, drop-downs
where a column has fixed values, and an instructions sheet.

The template is made for the shop that downloads it: its tiers are the tier drop-down and its
tags are listed in the instructions.
"""

from __future__ import annotations

from io import BytesIO

from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from loyalty.text import xml_safe
from members.imports.names import ALIASES, template_header
from shops.models import Shop, Tag, Tier

COLUMNS = (
    "phone",
    "first_name",
    "last_name",
    "points",
    "gender",
    "birthday",
    "email",
    "tags",
    "tier",
    "customer_id",
    "line_user_id",
    "note",
)
WIDTHS = {
    "phone": 16,
    "email": 26,
    "note": 30,
    "tags": 20,
    "birthday": 14,
    "customer_id": 16,
    "line_user_id": 36,
}
GENDER_CHOICES = ("ชาย", "หญิง", "อื่นๆ")
MEMBERS_SHEET = "สมาชิก Members"
HELP_SHEET = "วิธีใช้ How to"
LISTS_SHEET = "lists"
HEADER_FILL = PatternFill("solid", fgColor="06C755")
HEADER_FONT = Font(bold=True, color="FFFFFF")


def _names(model, shop: Shop | None) -> list[str]:
    """The shop's tag or tier names, without characters an xlsx cannot hold (``loyalty.text``):
    openpyxl refuses a control character, and U+FFFF would make the file unreadable."""
    if shop is None:
        return []
    return [xml_safe(n) for n in model.objects.filter(shop=shop).values_list("name", flat=True)]


def _help_rows(shop: Shop | None) -> list[tuple[str, str, str]]:
    tags = _names(Tag, shop)
    tiers = _names(Tier, shop)
    return [
        (
            template_header("phone"),
            _("Required. One member per phone number."),
            _("081-234-5678, 0812345678, +66812345678; a number that lost its 0 is fine"),
        ),
        (
            template_header("first_name"),
            _("First name. A full name in this column alone is split at the first space."),
            "สมชาย",
        ),
        (template_header("last_name"), _("Last name."), "ใจดี"),
        (
            template_header("points"),
            _(
                "Points to give as an opening balance (a whole number, 0 or more). They expire by "
                "your shop's expiry setting, counted from the import date."
            ),
            "150",
        ),
        (template_header("gender"), _("Choose from the list."), "ชาย / หญิง / อื่นๆ"),
        (
            template_header("birthday"),
            _("Day/month/year; Buddhist Era years are fine."),
            "15/03/1990, 15/03/2533, 15 มีนาคม 2533",
        ),
        (template_header("email"), _("Optional."), "somchai@example.com"),
        (
            template_header("tags"),
            _("Optional. Names of your shop's tags, separated by commas."),
            ", ".join(tags) or _("(your shop has no tags yet)"),
        ),
        (
            template_header("tier"),
            _("Optional. One of your shop's tiers (drop-down)."),
            ", ".join(tiers) or _("(your shop has no tiers yet)"),
        ),
        (
            template_header("customer_id"),
            _("Optional. The member's ID in your own system (account binding)."),
            "C-0001",
        ),
        (
            template_header("line_user_id"),
            _(
                "Optional. The member's LINE user ID (U and 32 characters, from the LINE friends "
                "list or your own system): binds the member to that LINE account."
            ),
            "U4af4980629...",
        ),
        (template_header("note"), _("Optional. Shown only to your staff."), ""),
    ]


def member_template(*, shop: Shop | None = None) -> bytes:
    """The template workbook as bytes."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = MEMBERS_SHEET
    help_sheet = workbook.create_sheet(HELP_SHEET)
    lists = workbook.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"

    last_row = settings.LOYALTY_IMPORT_MAX_ROWS + 1
    for index, key in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index, value=template_header(key))
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[letter].width = WIDTHS.get(key, 14)
    sheet.row_dimensions[1].height = 32
    sheet.freeze_panes = "A2"

    def column_range(key: str) -> str:
        letter = get_column_letter(COLUMNS.index(key) + 1)
        return f"{letter}2:{letter}{last_row}"

    # Phones and Customer IDs as text, so Excel keeps the leading 0 (the import copes either way).
    for key in ("phone", "customer_id", "line_user_id"):
        letter = get_column_letter(COLUMNS.index(key) + 1)
        sheet.column_dimensions[letter].number_format = "@"
    sheet.column_dimensions[
        get_column_letter(COLUMNS.index("birthday") + 1)
    ].number_format = "dd/mm/yyyy"

    for row, value in enumerate(GENDER_CHOICES, start=1):
        lists.cell(row=row, column=1, value=value)
    gender = DataValidation(
        type="list",
        formula1=f"{quote_sheetname(LISTS_SHEET)}!$A$1:$A${len(GENDER_CHOICES)}",
        allow_blank=True,
        errorStyle="warning",
        showErrorMessage=True,
        error=_("Choose ชาย, หญิง or อื่นๆ (male, female, other)."),
        promptTitle=template_header("gender"),
        prompt="ชาย / หญิง / อื่นๆ",
        showInputMessage=True,
    )
    gender.add(column_range("gender"))
    sheet.add_data_validation(gender)

    tiers = _names(Tier, shop)
    if tiers:
        for row, name in enumerate(tiers, start=1):
            lists.cell(row=row, column=2, value=name)
        tier = DataValidation(
            type="list",
            formula1=f"{quote_sheetname(LISTS_SHEET)}!$B$1:$B${len(tiers)}",
            allow_blank=True,
            showErrorMessage=True,
            error=_("Choose one of your shop's tiers."),
        )
        tier.add(column_range("tier"))
        sheet.add_data_validation(tier)

    points = DataValidation(
        type="whole",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        error=_("Points are a whole number, 0 or more."),
        promptTitle=template_header("points"),
        prompt=_("A whole number, 0 or more"),
        showInputMessage=True,
    )
    points.add(column_range("points"))
    sheet.add_data_validation(points)

    phone = DataValidation(
        allow_blank=False,
        promptTitle=template_header("phone"),
        prompt="081-234-5678",
        showInputMessage=True,
    )
    phone.add(column_range("phone"))
    sheet.add_data_validation(phone)
    birthday = DataValidation(
        allow_blank=True,
        promptTitle=template_header("birthday"),
        prompt=_("dd/mm/yyyy (Buddhist Era years are fine)"),
        showInputMessage=True,
    )
    birthday.add(column_range("birthday"))
    sheet.add_data_validation(birthday)

    _write_help(help_sheet, shop)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_help(sheet, shop: Shop | None) -> None:
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 70
    sheet.column_dimensions["C"].width = 46
    title = sheet.cell(row=1, column=1, value=_("How to fill in the member list"))
    title.font = Font(bold=True, size=14)
    lines = [
        _("1. Fill in the sheet “%(sheet)s”: one member per row, from row 2.")
        % {"sheet": MEMBERS_SHEET},
        _("2. Keep the header row. Columns may be in any order; extra columns are ignored."),
        _("3. Save as .xlsx (or CSV UTF-8) and upload it under Members → Import."),
        _(
            "4. You will see a preview: new, updated and unchanged members, and every error with "
            "its row. Nothing is saved until you confirm."
        ),
        _("Up to %(rows)s rows per file.") % {"rows": f"{settings.LOYALTY_IMPORT_MAX_ROWS:,}"},
    ]
    for offset, line in enumerate(lines, start=2):
        sheet.cell(row=offset, column=1, value=line)
    start = len(lines) + 3
    for col, text in enumerate((_("Column"), _("What to write"), _("Examples")), start=1):
        cell = sheet.cell(row=start, column=col, value=text)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for offset, (header, what, example) in enumerate(_help_rows(shop), start=start + 1):
        sheet.cell(row=offset, column=1, value=header).font = Font(bold=header.endswith("*"))
        sheet.cell(row=offset, column=2, value=what).alignment = Alignment(wrap_text=True)
        sheet.cell(row=offset, column=3, value=example).alignment = Alignment(wrap_text=True)
    other_names = start + len(COLUMNS) + 2
    sheet.cell(
        row=other_names,
        column=1,
        value=_("Other header names the import understands:"),
    ).font = Font(bold=True)
    for offset, key in enumerate(COLUMNS, start=other_names + 1):
        sheet.cell(row=offset, column=1, value=template_header(key))
        sheet.cell(row=offset, column=2, value=", ".join(ALIASES[key][2:]) or "—")
