"""What each import problem means, in words a shop owner understands.

Problems are stored as a code and parameters (``ImportRowError``, ``ImportJob.failure``) and turned
into a sentence when shown, so the same preview reads in Thai or English.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# The columns the import knows (the keys used in code, the error report and ``ImportJob.columns``).
COLUMN_LABELS = {
    "phone": _("Phone"),  # Thai: เบอร์โทร
    "first_name": _("First name"),  # Thai: ชื่อ
    "last_name": _("Last name"),  # Thai: นามสกุล
    "full_name": _("Full name"),  # Thai: ชื่อ-นามสกุล
    "points": _("Points"),  # Thai: พอยท์
    "gender": _("Gender"),  # Thai: เพศ
    "birthday": _("Birthday"),  # Thai: วันเกิด
    "email": _("E-mail"),  # Thai: อีเมล
    "tags": _("Tags"),  # Thai: แท็ก
    "tier": _("Tier"),  # Thai: ระดับสมาชิก
    "customer_id": _("Customer ID"),  # Thai: รหัสลูกค้า
    "line_user_id": _("LINE user ID"),
    "note": _("Note"),  # Thai: หมายเหตุ
}

FILE_PROBLEMS = {
    "file_empty": _("The file is empty."),
    "file_too_big": _(
        "The file is too large (%(size)s MB); the limit is %(limit)s MB. Split it into smaller "
        "files."
    ),
    "file_type": _("Only Excel workbooks (.xlsx) and CSV files (.csv) can be imported."),
    "file_xls": _(
        "This is an old Excel file (.xls). Open it in Excel or LibreOffice, choose Save As → "
        "Excel Workbook (.xlsx), and upload the new file."
    ),
    "file_numbers": _(
        "This is an Apple Numbers file. In Numbers choose File → Export To → Excel, and upload "
        "the .xlsx file."
    ),
    "file_ods": _(
        "This is an OpenDocument spreadsheet (.ods). Save it as Excel Workbook (.xlsx) and "
        "upload that file."
    ),
    "file_macro": _(
        "Macro-enabled and binary Excel files (.xlsm, .xlsb) are not accepted. Save the file as "
        "Excel Workbook (.xlsx)."
    ),
    "file_password": _(
        "The file is protected with a password. Open it, remove the password (File → Info → "
        "Protect Workbook), save it, and upload it again."
    ),
    "file_corrupt": _(
        "The file is damaged or is not really an Excel or CSV file. Open it in Excel or "
        "LibreOffice and save it again as .xlsx."
    ),
    "file_zip_bomb": _(
        "The file unpacks to more than %(limit)s MB or has too many parts, so it is not opened. "
        "Save the member list on its own in a new workbook."
    ),
    "file_encoding": _(
        "The characters of this CSV file cannot be read. Save it as “CSV UTF-8” and upload it "
        "again."
    ),
    "file_no_header": _(
        "No header row found. The first row must name the columns, with at least a phone column "
        "(เบอร์โทร / Phone). Download the template to see the names."
    ),
    "file_no_rows": _("The file has a header row but no members under it."),
    "file_too_many_rows": _(
        "The file has more than %(limit)s rows. Split it into files of at most %(limit)s rows."
    ),
    "file_missing": _("The uploaded file is no longer available. Upload it again."),
    "commit_has_errors": _(
        "Nothing was imported: %(count)s rows have errors and you chose all or nothing. Fix the "
        "rows and upload the file again, or choose to import the valid rows only."
    ),
    "commit_crashed": _(
        "The import stopped because of an unexpected problem (%(detail)s). Rows not yet imported "
        "were not written; you can upload the file again safely: points are never added twice."
    ),
}

ROW_PROBLEMS = {
    "phone_required": _("A phone number is required."),
    "phone_invalid": _("This is not a valid phone number (e.g. 081-234-5678)."),
    "phone_duplicate": _("The same phone number is already on row %(first_row)s."),
    "customer_id_duplicate": _("The same Customer ID is already on row %(first_row)s."),
    "customer_id_taken": _("Another member of your shop already has this Customer ID."),
    "customer_id_bound": _("This member already has another Customer ID (%(current)s)."),
    "line_user_id_invalid": _("A LINE user ID is U followed by 32 characters 0-9 and a-f."),
    "line_user_id_duplicate": _("The same LINE user ID is already on row %(first_row)s."),
    "line_user_id_taken": _("Another member of this shop is bound to this LINE account."),
    "line_user_id_bound": _(
        "This member is bound to another LINE account (%(current)s). Unbind it first."
    ),
    "points_not_number": _("Points must be a whole number, e.g. 150."),
    "points_negative": _("Points cannot be negative."),
    "points_fraction": _("Points must be a whole number, without decimals."),
    "points_too_many": _("Too many points for one member (at most %(max)s)."),
    "points_comma": _(
        "A comma only separates thousands, in groups of three (1,500). Write the points without "
        "decimals."
    ),
    "gender_unknown": _("Write the gender as ชาย, หญิง or อื่นๆ (or male, female, other)."),
    "birthday_invalid": _(
        "This is not a date. Write it as day/month/year, e.g. 15/03/1990 or 15/03/2533."
    ),
    "birthday_two_digit_year": _(
        "Write the year with 4 digits (1990 or 2533), so it is clear which century is meant."
    ),
    "birthday_future": _("A birthday cannot be in the future."),
    "birthday_too_old": _("A birthday before 1900 is not possible."),
    "email_invalid": _("This is not a valid e-mail address."),
    "tag_unknown": _(
        "Your shop has no tag “%(name)s”. Add it under Shop setup → Tags first, or fix the name."
    ),
    "tier_unknown": _("Your shop has no tier “%(name)s”. Use one of: %(choices)s."),
    "text_too_long": _("Too long: at most %(max)s characters."),
    "text_control_character": _(
        "The cell contains an invisible control character (%(char)s) at position %(position)s. "
        "Delete it in the file and upload the file again."
    ),
    "text_noncharacter": _(
        "The cell contains a code that is not a character (%(char)s) at position %(position)s. "
        "Delete it in the file and upload the file again."
    ),
    "member_blocked": _("This member is blocked or deleted; points cannot be added."),
    "points_conflict": _(
        "Points for this phone were already imported from this file with a different amount."
    ),
}

# Why a column is not read (``headers.ColumnProblem``). The column's letter and header are shown
# beside the sentence; %(field)s is a field's label and %(used)s the letter of the column read as it.
COLUMN_PROBLEMS = {
    "column_unknown": _(
        "Not a column the import knows: it is not imported. Choose what it holds if it should be."
    ),
    "column_duplicate": _(
        "Also %(field)s, which is read from column %(used)s: this column is not imported."
    ),
    "column_ambiguous": _(
        "Could also be %(field)s, which is read from column %(used)s. Choose which column holds "
        "the %(field)s and ignore the other; nothing is imported until you do."
    ),
    "column_looks_like": _(
        "Looks like %(field)s, but the import does not know this name. Choose what the column "
        "holds, or ignore it; nothing is imported until you do."
    ),
    "column_unnamed": _(
        "No header, but row %(row)s has data in this column: it is not imported. Give the "
        "column a header in your file and upload it again."
    ),
    "column_not_imported_line": _(
        "Not imported: a member's LINE account is linked when they sign up through LINE."
    ),
    "column_not_imported_export": _(
        "Not imported: the members export writes this column for information only."
    ),
}

PROBLEMS = {**FILE_PROBLEMS, **ROW_PROBLEMS}


def describe(code: str, params: dict | None = None) -> str:
    """The sentence for a problem code in the active language (unknown codes show the code)."""
    template = PROBLEMS.get(code)
    if template is None:
        return code
    try:
        return str(template) % (params or {})
    except (KeyError, TypeError, ValueError):
        return str(template)


def column_label(key: str) -> str:
    label = COLUMN_LABELS.get(key)
    return str(label) if label is not None else key


def describe_column(problem: dict) -> str:
    """The sentence for a column problem (``ImportJob.column_problems``) in the active language."""
    template = COLUMN_PROBLEMS.get(problem.get("code", ""))
    if template is None:
        return problem.get("code", "")
    params = dict(problem.get("params") or {})
    if "field" in params:
        params["field"] = column_label(params["field"])
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)
