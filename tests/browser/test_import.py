"""A shop owner moves their member list in, in Thai (issue 7, "Done when"): download the template,
fill it in, upload, read the preview with its errors, fix them, upload again, confirm, and watch
the import's progress until the members are there.

The validation and the commit run as real django-q2 jobs: a ``manage.py qcluster`` process on the
test database, started only once the page shows the job waiting, so the progress bar is seen.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from openpyxl import load_workbook

from members.imports.models import ImportJob
from members.ledger.models import EntryKind, LedgerEntry
from members.models import Member
from shops.models import User
from tests.browser.conftest import shot
from tests.factories import DEFAULT_PASSWORD, BranchFactory, ShopFactory, TagFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Worker:
    """A django-q2 cluster in its own process, on this test's database."""

    def __init__(self, private_root: Path) -> None:
        env = {
            **os.environ,
            "TESTING": "true",
            "Q_WORKERS": "1",
            "PRIVATE_MEDIA_ROOT": str(private_root),
        }
        db = connection.settings_dict
        if connection.vendor == "sqlite":
            env["SQLITE_PATH"] = db["NAME"]
            env.pop("DATABASE_URL", None)
        else:
            env["DATABASE_URL"] = (
                f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
            )
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process is None:
            return
        # The cluster and the worker processes it forked share the session we gave it.
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def worker(tmp_path, settings):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    started = Worker(tmp_path / "private")
    yield started
    started.stop()


@pytest.fixture
def cafe(live_server):
    shop = ShopFactory(name="คาเฟ่อร่อย", slug="cafe-aroi", expiry_mode="never", tiers_enabled=False)
    BranchFactory(shop=shop, name="สาขาสยาม", code="BKK01")
    TagFactory(shop=shop, name="ลูกค้าประจำ")
    UserFactory(username="owner", shop=shop, role=User.Role.OWNER)
    return shop


def sign_in(page) -> None:
    page.goto("/admin/")
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("[data-testid=dashboard]")


def fill_in(template: Path, target: Path, rows: list[list]) -> Path:
    """What the owner does in Excel or LibreOffice: type rows under the template's headers."""
    workbook = load_workbook(template)
    sheet = workbook["สมาชิก Members"]
    for row in rows:
        sheet.append(row)
    workbook.save(target)
    return target


def upload_file(page, path: Path) -> None:
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=branch]", label="สาขาสยาม (BKK01)")
    page.check("input[name=policy][value=skip]")
    page.check("input[name=mode][value=all]")
    page.click("[data-testid=upload-submit]")
    page.wait_for_selector("[data-testid=import-preview]")


def test_owner_imports_members_from_the_template_in_thai(desktop_page, cafe, worker, tmp_path):
    page = desktop_page
    sign_in(page)
    assert page.locator("html").get_attribute("lang") == "th"

    # -- from the members list to the import page
    page.goto("/admin/members/member/")
    page.click("a[href$='/admin/members/member/import-xlsx/']")
    page.wait_for_selector("[data-testid=import-upload]")
    shot(page, "01-upload-page")

    # -- download the template
    with page.expect_download() as download:
        page.click("[data-testid=download-template]")
    template = tmp_path / download.value.suggested_filename
    download.value.save_as(template)
    assert template.name == "member-template.xlsx"

    # -- fill it in, with two mistakes, and upload it
    rows = [
        [
            "081-234-5678",
            "สมชาย",
            "ใจดี",
            150,
            "ชาย",
            "15/03/2533",
            "somchai@example.com",
            "ลูกค้าประจำ",
        ],
        [812345679, "สมหญิง", "รักดี", 80, "หญิง", "1 ม.ค. 2535", "", ""],
        ["08-1234", "มานี", "มีนา", 20, "หญิง", "", "", ""],
        ["0812345680", "ปิติ", "ชูใจ", -5, "ชาย", "", "", ""],
    ]
    first = fill_in(template, tmp_path / "สมาชิก.xlsx", rows)
    upload_file(page, first)

    # -- the job waits for a worker: the page shows its progress bar
    page.wait_for_selector("[data-testid=progress]")
    shot(page, "02-waiting")
    worker.start()
    page.wait_for_selector("[data-testid=counts]", timeout=60_000)
    shot(page, "03-preview-with-errors")
    assert page.inner_text("[data-testid=count-new]") == "2"
    assert page.inner_text("[data-testid=count-errors]") == "2"
    errors = page.inner_text("[data-testid=errors]")
    assert "08-1234" in errors and "-5" in errors
    assert "เบอร์โทร / Phone *" in page.inner_text("[data-testid=columns]")
    # all or nothing (chosen at upload) would refuse: the owner fixes the file instead
    assert page.is_checked("[data-testid=confirm-form] input[name=mode][value=all]")
    with page.expect_download() as report:
        page.click("[data-testid=download-errors]")
    report_path = tmp_path / "errors.xlsx"
    report.value.save_as(report_path)
    assert [c.value for c in load_workbook(report_path).active["A"]][1:] == [4, 5]
    assert not Member.objects.exists()

    # -- fix the two rows and upload again
    rows[2][0] = "0812345681"
    rows[3][3] = 5
    fixed = fill_in(template, tmp_path / "สมาชิก-แก้แล้ว.xlsx", rows)
    worker.stop()
    page.goto("/admin/members/importjob/upload/")
    upload_file(page, fixed)
    worker.start()
    page.wait_for_selector("[data-testid=confirm-form]", timeout=60_000)
    assert page.inner_text("[data-testid=count-new]") == "4"
    assert page.inner_text("[data-testid=count-errors]") == "0"
    assert page.inner_text("[data-testid=count-points]") == "255"
    shot(page, "04-preview-clean")

    # -- confirm, and watch the commit
    worker.stop()
    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=progress]")
    shot(page, "05-importing")
    worker.start()
    page.wait_for_selector("[data-testid=result]", timeout=60_000)
    shot(page, "06-done")

    job = ImportJob.objects.get(state=ImportJob.State.DONE)
    assert (job.new_count, job.points_total, job.created_by.username) == (4, 255, "owner")
    somchai = Member.objects.get(phone="+66812345678")
    assert (somchai.first_name, somchai.last_name, somchai.balance) == ("สมชาย", "ใจดี", 150)
    assert [t.name for t in somchai.tags.all()] == ["ลูกค้าประจำ"]
    assert LedgerEntry.objects.filter(kind=EntryKind.IMPORT).count() == 4

    # -- the members are in the list, Thai intact
    page.click("[data-testid=result] a")
    page.wait_for_selector("#result_list")
    listing = page.inner_text("#result_list")
    assert "สมชาย ใจดี" in listing and "สมหญิง รักดี" in listing
    shot(page, "07-members")
