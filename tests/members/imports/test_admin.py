"""The import pages in the back office: upload, preview, progress, error report, confirm, cancel,
the template; and that they are scoped to the user's shop."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from members.imports.models import ImportJob
from members.models import Member
from shops.models import User
from tests.conftest import admin_messages
from tests.factories import BranchFactory, ImportJobFactory, UserFactory
from tests.members.imports.conftest import make_xlsx, upload
from tests.members.imports.ole2 import old_excel_workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafe_owner(import_shop):
    return UserFactory(username="cafe-owner", shop=import_shop, role=User.Role.OWNER)


@pytest.fixture
def cafe_client(client, cafe_owner):
    client.force_login(cafe_owner)
    return client


@pytest.fixture
def sync_jobs(settings):
    """django-q2 runs the jobs at once, in this process (``Q_CLUSTER["sync"]``)."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


def xlsx_upload(tmp_path, rows, name="members.xlsx"):
    path = make_xlsx(tmp_path / name, rows)
    return SimpleUploadedFile(name, path.read_bytes())


ROWS = [["Phone", "ชื่อ", "Points"], ["0812345678", "สมชาย ใจดี", 100], ["bad", "x", 1]]


def test_template_has_bilingual_headers_drop_downs_and_instructions(cafe_client, gold):
    response = cafe_client.get(reverse("admin:members_importjob_template"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="member-template.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["สมาชิก Members", "วิธีใช้ How to", "lists"]
    sheet = workbook["สมาชิก Members"]
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == [
        "เบอร์โทร / Phone *",
        "ชื่อ / First name",
        "นามสกุล / Last name",
        "พอยท์ / Points",
    ]
    assert "รหัสลูกค้า / Customer ID" in headers and "แท็ก / Tags" in headers
    validations = {dv.type: dv for dv in sheet.data_validations.dataValidation if dv.type}
    assert "lists" in validations["list"].formula1
    assert validations["whole"].formula1 == "0"
    lists = workbook["lists"]
    assert lists.sheet_state == "hidden"
    assert [lists.cell(row=i, column=1).value for i in (1, 2, 3)] == ["ชาย", "หญิง", "อื่นๆ"]
    assert lists.cell(row=1, column=2).value == "Gold"  # the shop's own tiers
    assert sheet.max_row == 1  # no example rows that would be imported by mistake


def test_the_template_imports_cleanly_once_filled_in(cafe_client, import_shop, tmp_path, gold):
    response = cafe_client.get(reverse("admin:members_importjob_template"))
    workbook = load_workbook(io.BytesIO(response.content))
    workbook["สมาชิก Members"].append(
        ["0812345678", "สมชาย", "ใจดี", 50, "ชาย", "15/03/2533", "s@x.co", "", "Gold", "C-1", ""]
    )
    path = tmp_path / "filled.xlsx"
    workbook.save(path)
    job = upload(import_shop, path)
    assert (job.state, job.new_count, job.error_count) == ("validated", 1, 0)


def test_members_list_links_to_import_and_export(cafe_client):
    response = cafe_client.get(
        reverse("admin:members_member_changelist") + "?status__exact=pending"
    )
    html = response.content.decode()
    assert reverse("admin:members_member_import_members") in html
    assert reverse("admin:members_member_export_xlsx") + "?status__exact=pending" in html


def test_sidebar_has_the_import_page(cafe_client):
    response = cafe_client.get(reverse("admin:index"))
    assert reverse("admin:members_importjob_upload") in response.content.decode()


def test_upload_page_offers_only_the_shops_branches(cafe_client, branch, other_shop):
    BranchFactory(shop=other_shop, name="SHOP-B-SECRET-branch")
    response = cafe_client.get(reverse("admin:members_importjob_upload"))
    assert response.status_code == 200
    assert list(response.context["form"].fields["branch"].queryset) == [branch]
    assert "SHOP-B-SECRET" not in response.content.decode()


def test_upload_runs_the_validation_job_and_shows_the_preview(
    cafe_client,
    cafe_owner,
    branch,
    tmp_path,
    sync_jobs,
    django_capture_on_commit_callbacks,
    english,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = cafe_client.post(
            reverse("admin:members_importjob_upload"),
            {
                "file": xlsx_upload(tmp_path, ROWS),
                "branch": branch.pk,
                "policy": "skip",
                "mode": "all",
            },
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:members_importjob_preview", args=[job.public_id])
    assert (job.state, job.created_by, job.branch) == ("validated", cafe_owner, branch)

    page = cafe_client.get(response["Location"])
    html = page.content.decode()
    assert page.context["job"].new_count == 1
    rows = page.context["error_rows"]
    assert rows == [
        {
            "row": 3,
            "column": "A Phone",
            "value": "bad",
            "reason": "This is not a valid phone number (e.g. 081-234-5678).",
        }
    ]
    assert "This is not a valid phone number" in html
    assert 'data-testid="count-new">1<' in html
    assert "สมชาย" not in html  # names are not echoed, only cells with errors
    assert not Member.objects.exists()


def test_refused_file_shows_the_reason_on_the_form(cafe_client, branch, english):
    upload_file = SimpleUploadedFile("old.xls", old_excel_workbook())
    response = cafe_client.post(
        reverse("admin:members_importjob_upload"),
        {"file": upload_file, "branch": branch.pk, "policy": "skip", "mode": "all"},
    )
    assert response.status_code == 200
    assert "old Excel file (.xls)" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_preview_of_a_running_job_shows_a_progress_bar_that_polls(cafe_client, import_shop):
    job = ImportJobFactory(shop=import_shop, state="validating", rows_done=300, rows_estimate=1000)
    response = cafe_client.get(reverse("admin:members_importjob_preview", args=[job.public_id]))
    html = response.content.decode()
    progress_url = reverse("admin:members_importjob_progress", args=[job.public_id])
    assert f'data-progress-url="{progress_url}"' in html
    assert "js/import-progress.js" in html
    assert 'aria-valuenow="30"' in html

    data = cafe_client.get(progress_url).json()
    assert data == {
        "state": "validating",
        "state_label": str(ImportJob.State.VALIDATING.label),
        "running": True,
        "phase": "validate",
        "done": 300,
        "total": 1000,
        "percent": 30,
    }


def test_error_report_lists_every_error(cafe_client, import_shop, tmp_path, english):
    job = upload(
        import_shop,
        make_xlsx(tmp_path / "a.xlsx", [*ROWS, ["0812345679", "=cmd|' /C calc'!A0", -1]]),
    )
    response = cafe_client.get(reverse("admin:members_importjob_errors", args=[job.public_id]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="a-errors.xlsx"'
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=2)]
    assert rows == [
        (3, "A Phone", "bad", "This is not a valid phone number (e.g. 081-234-5678)."),
        (4, "C Points", "-1", "Points cannot be negative."),
    ]


def test_confirm_commits_through_the_job_and_shows_the_result(
    cafe_client, cafe_owner, import_shop, tmp_path, sync_jobs, django_capture_on_commit_callbacks
):
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", ROWS))
    with django_capture_on_commit_callbacks(execute=True):
        response = cafe_client.post(
            reverse("admin:members_importjob_confirm", args=[job.public_id]), {"mode": "valid"}
        )
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.state, job.mode, job.committed_by) == ("done", "valid", cafe_owner)
    assert Member.objects.get().balance == 100
    page = cafe_client.get(response["Location"])
    assert 'data-testid="result"' in page.content.decode()


def test_confirm_all_or_nothing_with_errors_is_refused_with_a_message(
    cafe_client, import_shop, tmp_path, english
):
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", ROWS))
    response = cafe_client.post(
        reverse("admin:members_importjob_confirm", args=[job.public_id]),
        {"mode": "all"},
        follow=True,
    )
    assert any("rows have errors" in m for m in admin_messages(response))
    job.refresh_from_db()
    assert job.state == "validated"


def test_cancel(cafe_client, import_shop, tmp_path):
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", ROWS))
    response = cafe_client.post(reverse("admin:members_importjob_cancel", args=[job.public_id]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == "cancelled"


def test_import_history_lists_the_shops_jobs(cafe_client, import_shop, other_shop):
    mine = ImportJobFactory(shop=import_shop, original_name="mine.xlsx")
    ImportJobFactory(shop=other_shop, original_name="SHOP-B-SECRET.xlsx")
    response = cafe_client.get(reverse("admin:members_importjob_changelist"))
    html = response.content.decode()
    assert "mine.xlsx" in html and "SHOP-B-SECRET" not in html
    change = cafe_client.get(reverse("admin:members_importjob_change", args=[mine.pk]))
    assert change["Location"] == reverse("admin:members_importjob_preview", args=[mine.public_id])


# --- tenant isolation -----------------------------------------------------------------------------

JOB_VIEWS = [
    ("get", "admin:members_importjob_preview"),
    ("get", "admin:members_importjob_progress"),
    ("get", "admin:members_importjob_errors"),
    ("post", "admin:members_importjob_confirm"),
    ("post", "admin:members_importjob_columns"),
    ("post", "admin:members_importjob_cancel"),
]


@pytest.mark.parametrize(("method", "name"), JOB_VIEWS)
def test_another_shops_import_is_not_found(client, import_shop, other_shop, method, name, tmp_path):
    # given an import of shop A, checked and ready
    job = upload(import_shop, make_xlsx(tmp_path / "a.xlsx", [["Phone"], ["0812345678"]]))
    # when the owner of shop B asks for any of its pages
    client.force_login(UserFactory(username="b-owner", shop=other_shop, role=User.Role.OWNER))
    response = getattr(client, method)(reverse(name, args=[job.public_id]), {"mode": "valid"})
    # then it does not exist for them, and nothing changed
    assert response.status_code == 404
    job.refresh_from_db()
    assert job.state == "validated"
    assert not Member.objects.exists()


@pytest.mark.parametrize(("method", "name"), JOB_VIEWS)
def test_cashiers_and_visitors_cannot_reach_import_pages(client, import_shop, method, name):
    job = ImportJobFactory(shop=import_shop)
    url = reverse(name, args=[job.public_id])
    anonymous = getattr(client, method)(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(UserFactory(username="cashier", shop=import_shop, role=User.Role.CASHIER))
    assert getattr(client, method)(url).status_code in (302, 403)
    job.refresh_from_db()
    assert job.state == "validated"


def test_upload_page_is_for_shop_staff_only(client, operator, import_shop):
    client.force_login(operator)
    response = client.get(reverse("admin:members_importjob_upload"))
    assert response.status_code == 302  # a platform operator has no shop to import into
    client.force_login(UserFactory(username="cashier", shop=import_shop, role=User.Role.CASHIER))
    assert client.get(reverse("admin:members_importjob_upload")).status_code in (302, 403)


def test_upload_goes_to_the_users_own_shop(cafe_client, import_shop, other_shop, tmp_path):
    other_branch = BranchFactory(shop=other_shop)
    response = cafe_client.post(
        reverse("admin:members_importjob_upload"),
        {
            "file": xlsx_upload(tmp_path, ROWS),
            "branch": other_branch.pk,
            "policy": "skip",
            "mode": "all",
        },
    )
    assert response.status_code == 200  # another shop's branch is not a choice
    assert "branch" in response.context["form"].errors
    assert not ImportJob.objects.exists()


def test_preview_lists_the_columns_in_the_files_order(cafe_client, import_shop, tmp_path):
    # (PostgreSQL's jsonb keeps an object's keys shortest first, so the stored mapping's order is
    # not the file's there.)
    header = ["หมายเหตุ", "Phone", "Customer ID", "Points", "อีเมล", "ชื่อ", "x"] + [""] * 20
    header += ["Birthday"]  # column AB, after Z
    path = make_xlsx(tmp_path / "m.xlsx", [header, ["n", "0812345678", "C1", 5, "", "ก"]])
    job = upload(import_shop, path)
    page = cafe_client.get(reverse("admin:members_importjob_preview", args=[job.public_id]))
    columns = page.context["columns"]
    assert [c["letter"] for c in columns] == ["A", "B", "C", "D", "E", "F", "G", "AB"]
    # the column the import does not know is listed too, as not imported
    assert (columns[6]["label"], columns[6]["key"], columns[6]["blocking"]) == ("x", "", False)


# --- the owner's choice of columns (trust issue, defect 3) -------------------------------------

ODD = [
    ["เบอร์โทร", "ชื่อ", "พอยท์ยกมา", "ที่อยู่"],
    ["0812345678", "สมชาย", 900, "กรุงเทพฯ"],
    ["0812345679", "สมหญิง", 25, ""],
]


def test_preview_shows_column_errors_and_warnings_and_blocks_confirm(
    cafe_client, import_shop, tmp_path, english
):
    job = upload(import_shop, make_xlsx(tmp_path / "odd.xlsx", ODD))
    page = cafe_client.get(reverse("admin:members_importjob_preview", args=[job.public_id]))
    html = page.content.decode()
    assert 'data-testid="column-errors"' in html and "C “พอยท์ยกมา”" in html
    assert 'data-testid="column-warnings"' in html and "D “ที่อยู่”" in html
    # one select per column, the one in doubt without a choice yet
    form = page.context["columns"]
    assert [(c["letter"], c["initial"]) for c in form] == [
        ("A", "phone"),
        ("B", "first_name"),
        ("C", ""),
        ("D", "ignore"),
    ]
    assert 'name="column-C"' in html and 'data-testid="columns-form"' in html
    assert 'data-testid="confirm" disabled' in html
    refused = cafe_client.post(
        reverse("admin:members_importjob_confirm", args=[job.public_id]),
        {"mode": "valid"},
        follow=True,
    )
    assert any("พอยท์ยกมา" in m for m in admin_messages(refused))
    assert not Member.objects.exists()


def test_owner_maps_a_column_and_the_import_uses_it(
    cafe_client, import_shop, tmp_path, sync_jobs, django_capture_on_commit_callbacks, english
):
    job = upload(import_shop, make_xlsx(tmp_path / "odd.xlsx", ODD))
    choices = {"column-A": "phone", "column-B": "first_name", "column-D": "ignore"}
    # when: the owner reads C as points
    with django_capture_on_commit_callbacks(execute=True):
        response = cafe_client.post(
            reverse("admin:members_importjob_columns", args=[job.public_id]),
            {**choices, "column-C": "points"},
        )
    # then: only the choice that differs from how the column was read is kept; checked again
    assert response.status_code == 302 and response["Location"].endswith("/preview/#columns")
    job.refresh_from_db()
    assert (job.state, job.column_mapping, job.points_total) == (
        "validated",
        {"C": "points"},
        925,
    )
    page = cafe_client.get(reverse("admin:members_importjob_preview", args=[job.public_id]))
    assert page.context["column_errors"] == []
    assert "Your choice." in page.content.decode()
    # the page's next submit keeps the earlier choice, and adds the new one
    with django_capture_on_commit_callbacks(execute=True):
        cafe_client.post(
            reverse("admin:members_importjob_columns", args=[job.public_id]),
            {**choices, "column-C": "points", "column-B": "full_name"},
        )
    job.refresh_from_db()
    assert job.column_mapping == {"C": "points", "B": "full_name"}
    with django_capture_on_commit_callbacks(execute=True):
        cafe_client.post(
            reverse("admin:members_importjob_confirm", args=[job.public_id]), {"mode": "all"}
        )
    job.refresh_from_db()
    assert (job.state, job.points_total) == ("done", 925)
    assert Member.objects.get(phone="+66812345678").balance == 900


def test_a_column_left_without_a_choice_is_refused(cafe_client, import_shop, tmp_path, english):
    job = upload(import_shop, make_xlsx(tmp_path / "odd.xlsx", ODD))
    response = cafe_client.post(
        reverse("admin:members_importjob_columns", args=[job.public_id]),
        {"column-A": "phone", "column-B": "first_name", "column-C": "", "column-D": "ignore"},
        follow=True,
    )
    assert any("marked in red" in m for m in admin_messages(response))
    response = cafe_client.post(
        reverse("admin:members_importjob_columns", args=[job.public_id]),
        {
            "column-A": "ignore",
            "column-B": "first_name",
            "column-C": "ignore",
            "column-D": "ignore",
        },
        follow=True,
    )
    assert any("phone numbers" in m for m in admin_messages(response))
    job.refresh_from_db()
    assert (job.state, job.column_mapping) == ("validated", {})


def test_a_column_with_data_and_no_header_is_listed_without_a_choice(
    cafe_client, import_shop, tmp_path, english
):
    rows = [["เบอร์โทร", "ชื่อ"], ["0812345678", "สมชาย", 700]]
    job = upload(import_shop, make_xlsx(tmp_path / "m.xlsx", rows))
    page = cafe_client.get(reverse("admin:members_importjob_preview", args=[job.public_id]))
    html = page.content.decode()
    assert [(c["letter"], c["unnamed"]) for c in page.context["columns"]] == [
        ("A", False),
        ("B", False),
        ("C", True),
    ]
    assert "No header, but row 2 has data in this column" in html
    assert 'name="column-B"' in html and 'name="column-C"' not in html
