"""Fixtures for the member import: spreadsheets made with openpyxl (as Excel and LibreOffice save
them) and CSV files, a shop with a branch, tiers and tags, and helpers that run the real
validation and commit services (the django-q2 task functions' bodies)."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files import File
from openpyxl import Workbook

from members.imports import services
from members.imports.models import ImportJob
from tests.factories import BranchFactory, ShopFactory, TagFactory, TierFactory

# Text a spreadsheet would run as a formula (CSV/formula injection), in each of its forms.
DANGEROUS = [
    '=HYPERLINK("http://evil.example","click")',
    "+SUM(1,1)",
    "-1+1",
    "\u22121+1",
    "@SUM(1)",
    "\tTAB",
    "\rCR",
    "\uff1d1+1",
]


@pytest.fixture(autouse=True)
def _private_root(tmp_path, settings):
    """Uploaded member lists go to a per-test private folder."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def import_shop(db):
    """A shop with no expiry, no tiers in use, no welcome points."""
    return ShopFactory(
        name="ร้านกาแฟ",
        slug="cafe",
        thb_per_point=Decimal("25.00"),
        expiry_mode="never",
        tiers_enabled=False,
        welcome_points=0,
    )


@pytest.fixture
def branch(import_shop):
    return BranchFactory(shop=import_shop, code="BKK01", name="สาขาสยาม")


@pytest.fixture
def vip(import_shop):
    return TagFactory(shop=import_shop, name="VIP")


@pytest.fixture
def gold(import_shop):
    return TierFactory(shop=import_shop, name="Gold", threshold=1000)


HEADER = ["เบอร์โทร", "ชื่อ", "นามสกุล", "พอยท์", "เพศ", "วันเกิด", "อีเมล"]


def make_xlsx(path: Path, rows: list[list], *, title: str = "Members", before=None) -> Path:
    """A workbook saved by openpyxl (the same OOXML Excel and LibreOffice write). ``before`` is a
    list of rows for an extra sheet placed first (e.g. instructions)."""
    workbook = Workbook()
    sheet = workbook.active
    if before is not None:
        sheet.title = "Instructions"
        for row in before:
            sheet.append(row)
        sheet = workbook.create_sheet(title)
    else:
        sheet.title = title
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def make_csv(path: Path, rows: list[list], *, encoding="utf-8-sig", delimiter=",") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        for row in rows:
            writer.writerow(row)
    return path


def upload(shop, path: Path, *, branch=None, policy="skip", mode="all", user=None, name=None):
    """Create the job as the upload page does, then run the validation job's body."""
    with Path(path).open("rb") as f:
        job = services.import_job_create(
            shop=shop,
            file=File(f, name=name or Path(path).name),
            name=name or Path(path).name,
            branch=branch,
            policy=policy,
            mode=mode,
            created_by=user,
            start=False,
        )
    return services.import_validate(job_id=job.pk)


def commit(job: ImportJob, *, user=None, mode=None) -> ImportJob:
    """Confirm as the preview page does, then run the commit job's body."""
    services.import_confirm(job=job, user=user, mode=mode)
    return services.import_commit(job_id=job.pk)


def problems(job: ImportJob) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.code) for e in job.errors.order_by("row", "id")]


def counts(job: ImportJob) -> dict:
    job.refresh_from_db()
    return {
        "new": job.new_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "errors": job.error_count,
    }


TODAY = dt.date(2026, 11, 24)
