"""Only xlsx and CSV are opened; everything else gets a message that says what to do. Zip bombs
are refused from the zip's directory, before openpyxl reads anything."""

from __future__ import annotations

import zipfile

import openpyxl.xml
import pytest

from members.imports import files
from members.imports.files import FileRefused, open_table, sniff
from members.imports.headers import header_score
from members.imports.messages import FILE_PROBLEMS
from members.imports.models import ImportJob
from members.models import Member
from tests.members.imports.conftest import HEADER, make_csv, make_xlsx, upload
from tests.members.imports.ole2 import encrypted_workbook, old_excel_workbook


def refusal(path, name=None) -> str:
    with pytest.raises(FileRefused) as info:
        sniff(path, name or path.name)
    assert info.value.problem in FILE_PROBLEMS
    assert str(info.value)  # a sentence for the owner, not a code
    return info.value.problem


def test_defusedxml_is_installed_so_openpyxl_parses_with_it():
    assert openpyxl.xml.DEFUSEDXML is True


def test_xlsx_and_csv_are_accepted(tmp_path):
    assert sniff(make_xlsx(tmp_path / "a.xlsx", [HEADER])) == "xlsx"
    assert sniff(make_csv(tmp_path / "a.csv", [HEADER])) == "csv"


def test_an_xlsx_without_its_extension_is_still_an_xlsx(tmp_path):
    path = make_xlsx(tmp_path / "download", [HEADER])
    assert sniff(path, "download") == "xlsx"


def test_old_excel_xls_gets_save_as_xlsx_advice(tmp_path):
    path = tmp_path / "members.xls"
    path.write_bytes(old_excel_workbook())
    assert refusal(path) == "file_xls"


def test_an_html_table_named_xls_gets_the_same_advice(tmp_path):
    path = tmp_path / "export.xls"
    path.write_text("<table><tr><td>0812345678</td></tr></table>")
    assert refusal(path) == "file_xls"


def test_password_protected_workbook_is_recognised(tmp_path):
    # Excel saves an encrypted workbook as an OLE2 container even when it is named .xlsx.
    path = tmp_path / "secret.xlsx"
    path.write_bytes(encrypted_workbook())
    assert refusal(path) == "file_password"


def test_zip_with_encrypted_entries_is_password_protected(tmp_path):
    path = tmp_path / "zipped.xlsx"
    make_xlsx(path, [HEADER])
    raw = bytearray(path.read_bytes())
    # Set the "encrypted" flag of the first local header and of every central directory entry.
    raw[6] |= 0x1
    start = 0
    while (start := raw.find(b"PK\x01\x02", start)) != -1:
        raw[start + 8] |= 0x1
        start += 4
    path.write_bytes(bytes(raw))
    assert refusal(path) == "file_password"


def test_apple_numbers_file_is_recognised(tmp_path):
    path = tmp_path / "members.numbers"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Index/Document.iwa", b"\x00" * 64)
        archive.writestr("Metadata/Properties.plist", b"")
    assert refusal(path) == "file_numbers"
    # renamed by the owner, it is still a Numbers file
    renamed = tmp_path / "members.xlsx"
    renamed.write_bytes(path.read_bytes())
    assert refusal(renamed) == "file_numbers"


def test_numbers_bundle_without_zip_is_recognised_by_its_name(tmp_path):
    path = tmp_path / "members.numbers"
    path.write_bytes(b"not a zip")
    assert refusal(path) == "file_numbers"


def test_opendocument_spreadsheet_is_refused_with_advice(tmp_path):
    path = tmp_path / "members.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<x/>")
    assert refusal(path) == "file_ods"


def test_macro_workbook_is_refused(tmp_path):
    path = tmp_path / "macro.xlsm"
    make_xlsx(path, [HEADER])
    assert refusal(path) == "file_macro"


@pytest.mark.parametrize("content", [b"garbage", b"PK\x03\x04 truncated zip"])
def test_corrupt_xlsx_is_refused(tmp_path, content):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    assert refusal(path) == "file_corrupt"


def test_zip_that_is_not_a_workbook_is_corrupt(tmp_path):
    path = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8")
    assert refusal(path) == "file_corrupt"


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    assert refusal(path) == "file_empty"


def test_other_types_are_refused(tmp_path):
    path = tmp_path / "members.pdf"
    path.write_bytes(b"%PDF-1.7")
    assert refusal(path) == "file_type"


def test_file_over_the_size_cap_is_refused(tmp_path, settings):
    settings.LOYALTY_IMPORT_MAX_BYTES = 1000
    path = make_csv(tmp_path / "big.csv", [HEADER] + [["0812345678"] * 7] * 100)
    assert refusal(path) == "file_too_big"


def test_zip_bomb_unpacked_size_is_refused_before_opening(tmp_path, settings):
    settings.LOYALTY_IMPORT_MAX_UNPACKED_BYTES = 1024 * 1024
    path = tmp_path / "bomb.xlsx"
    make_xlsx(path, [HEADER])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/zeros.bin", b"\x00" * (2 * 1024 * 1024))
    assert path.stat().st_size < 50_000  # small on disk, large unpacked
    assert refusal(path) == "file_zip_bomb"


def test_zip_bomb_entry_count_is_refused(tmp_path):
    path = tmp_path / "many.xlsx"
    make_xlsx(path, [HEADER])
    with zipfile.ZipFile(path, "a") as archive:
        for i in range(files.MAX_ZIP_ENTRIES):
            archive.writestr(f"xl/parts/{i}.xml", b"")
    assert refusal(path) == "file_zip_bomb"


def test_calamine_is_never_called_on_a_refused_zip(tmp_path, settings, monkeypatch):
    # The guard is a real barrier: a zip bomb must not reach the XML parser.
    settings.LOYALTY_IMPORT_MAX_UNPACKED_BYTES = 1024
    path = make_xlsx(tmp_path / "bomb.xlsx", [HEADER, ["0812345678"] * 7])
    from members.imports import sheets

    def boom(*args, **kwargs):
        raise AssertionError("calamine opened a refused file")

    monkeypatch.setattr(sheets, "open_workbook", boom)
    with pytest.raises(FileRefused):
        open_table(path, "bomb.xlsx")


# --- reading ----------------------------------------------------------------------------------


def test_workbook_is_read_by_calamine(tmp_path, monkeypatch):
    from members.imports import sheets

    opened = []
    original = sheets.open_workbook
    monkeypatch.setattr(sheets, "open_workbook", lambda path: opened.append(path) or original(path))
    table = open_table(make_xlsx(tmp_path / "a.xlsx", [HEADER, ["0812345678"]]))
    try:
        assert [row for _n, row in table.rows][1][0] == "0812345678"
    finally:
        table.close()
    assert opened == [tmp_path / "a.xlsx"]


def write_only_xlsx(path, rows):
    """A workbook as openpyxl's write-only mode (and some exporting systems) save it: its sheet
    has no <dimension>, so nothing says how many rows it has."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Members")
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    with zipfile.ZipFile(path) as archive:
        assert b"<dimension" not in archive.read("xl/worksheets/sheet1.xml")
    return path


def test_a_sheet_without_its_size_is_sized_all_the_same(tmp_path):
    rows = [HEADER, *[[f"0812{i:06d}", "สมชาย", "ใจดี", i] for i in range(3000)]]
    table = open_table(write_only_xlsx(tmp_path / "a.xlsx", rows))
    try:
        assert table.estimate == 3001
        assert table.estimate_after(1500) == 3001
        assert len(list(table.rows)) == 3001
    finally:
        table.close()


def test_a_sheet_that_gives_its_size_is_sized_by_it(tmp_path):
    rows = [HEADER, *[[f"0812{i:06d}"] for i in range(40)]]
    table = open_table(make_xlsx(tmp_path / "a.xlsx", rows))
    try:
        assert table.estimate == 41
        assert table.estimate_after(10) == 41
        assert len(list(table.rows)) == 41
    finally:
        table.close()


def test_instructions_sheet_placed_first_is_passed_over(tmp_path):
    path = make_xlsx(
        tmp_path / "a.xlsx",
        [HEADER, ["0812345678", "สมชาย"]],
        before=[["วิธีใช้"], ["เบอร์โทร / Phone *", "Required"], ["ชื่อ / First name", "..."]],
    )
    table = open_table(path, header_score=header_score)
    try:
        assert table.sheet_name == "Members"
    finally:
        table.close()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp874"])
def test_csv_in_utf8_or_thai_windows_encoding(tmp_path, encoding):
    path = make_csv(tmp_path / "a.csv", [HEADER, ["0812345678", "สมชาย", "ใจดี"]], encoding=encoding)
    table = open_table(path)
    rows = list(table.rows)
    assert rows[1] == (2, ("0812345678", "สมชาย", "ใจดี"))


def test_csv_with_semicolons_is_read(tmp_path):
    path = make_csv(tmp_path / "a.csv", [HEADER, ["0812345678", "สมชาย"]], delimiter=";")
    assert list(open_table(path).rows)[1] == (2, ("0812345678", "สมชาย"))


def test_csv_in_an_unknown_encoding_is_refused(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("เบอร์โทร,ชื่อ\n".encode("utf-16-le"))
    with pytest.raises(FileRefused) as info:
        open_table(path)
    assert info.value.problem in ("file_encoding", "file_corrupt")


# --- through the job ----------------------------------------------------------------------------


def test_refused_upload_creates_no_job_and_keeps_no_file(tmp_path, import_shop, settings):
    path = tmp_path / "members.xls"
    path.write_bytes(old_excel_workbook())
    with pytest.raises(FileRefused):
        upload(import_shop, path)
    assert not ImportJob.objects.exists()
    private = settings.PRIVATE_MEDIA_ROOT
    assert not any(p.is_file() for p in private.rglob("*")) if private.exists() else True


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([["name", "points"], ["สมชาย", 5]], "file_no_header"),
        ([HEADER], "file_no_rows"),
        ([HEADER, [], [None, None]], "file_no_rows"),
    ],
)
def test_files_without_members_are_refused_by_the_validation(tmp_path, import_shop, rows, problem):
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows))
    assert job.state == ImportJob.State.REFUSED
    assert job.failure["code"] == problem
    assert not job.file  # the upload is not kept


def test_too_many_rows_is_refused(tmp_path, import_shop, settings):
    settings.LOYALTY_IMPORT_MAX_ROWS = 3
    rows = [HEADER] + [[f"08123456{i:02d}"] for i in range(4)]
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", rows))
    assert job.state == ImportJob.State.REFUSED
    assert job.failure == {"code": "file_too_many_rows", "params": {"limit": "3"}}
    assert not Member.objects.exists()


def test_uploaded_files_are_private(tmp_path, import_shop, settings):
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", [HEADER, ["0812345678"]]))
    assert str(settings.PRIVATE_MEDIA_ROOT) in job.file.path
    assert str(settings.MEDIA_ROOT) not in job.file.path
    with pytest.raises(ValueError):
        job.file.url  # noqa: B018


def test_csv_upload_makes_the_same_preview(tmp_path, import_shop):
    path = make_csv(tmp_path / "a.csv", [HEADER, ["0812345678", "สมชาย", "ใจดี", "150"]])
    job = upload(import_shop, path)
    assert (job.state, job.new_count, job.points_total) == ("validated", 1, 150)
