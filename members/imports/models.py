"""An import job (one uploaded member list) and the errors found in its rows.

A job moves through: queued → validating → validated (the preview) → commit queued → committing →
done; or refused (the file itself cannot be read), failed (all-or-nothing found an error while
writing) or cancelled. Nothing is written to members or the ledger before "commit queued".

Uploaded files hold personal data, so they live in private storage (never served by URL) and are
deleted when the job is committed or cancelled; the job keeps only counts and errors.
"""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.models import Branch, Shop


class PrivateStorage(FileSystemStorage):
    """Files under ``PRIVATE_MEDIA_ROOT``, read at use (so tests can move it); no public URL."""

    @property
    def base_location(self):  # type: ignore[override]
        return settings.PRIVATE_MEDIA_ROOT

    @property
    def location(self):  # type: ignore[override]
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("private files have no URL")


def private_storage() -> PrivateStorage:
    return PrivateStorage()


def import_upload_to(instance: ImportJob, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"imports/{instance.shop.public_id}/{instance.public_id}.{ext}"


class ImportJob(models.Model):
    class Policy(models.TextChoices):
        SKIP = "skip", _("Skip members who already exist")  # Thai: ข้ามสมาชิกที่มีอยู่แล้ว
        UPDATE = "update", _("Update their profile (name, gender, birthday ...)")
        ADD_POINTS = "add-points", _("Add the file's points to their balance")

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all", _("All or nothing: import only if every row is correct")
        VALID_ONLY = "valid", _("Valid rows only: import the correct rows, skip the rest")

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to be checked")
        VALIDATING = "validating", _("Checking the file")
        VALIDATED = "validated", _("Checked: waiting for your confirmation")
        REFUSED = "refused", _("The file cannot be read")
        COMMIT_QUEUED = "commit_queued", _("Waiting to import")
        COMMITTING = "committing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Not imported")
        CANCELLED = "cancelled", _("Cancelled")

    RUNNING_STATES = (State.QUEUED, State.VALIDATING, State.COMMIT_QUEUED, State.COMMITTING)

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="import_jobs", verbose_name=_("shop")
    )
    public_id = models.UUIDField(_("import ID"), default=uuid.uuid4, unique=True, editable=False)
    branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("branch"),
        help_text=_("New members are recorded as signed up at this branch."),
    )
    file = models.FileField(
        _("file"), upload_to=import_upload_to, storage=private_storage, max_length=300, blank=True
    )
    original_name = models.CharField(_("file name"), max_length=255)
    file_size = models.PositiveBigIntegerField(_("file size (bytes)"), default=0)
    file_sha256 = models.CharField(_("file fingerprint"), max_length=64, db_index=True)
    policy = models.CharField(
        _("members who already exist"), max_length=12, choices=Policy, default=Policy.SKIP
    )
    mode = models.CharField(
        _("rows with errors"), max_length=8, choices=Mode, default=Mode.ALL_OR_NOTHING
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State, default=State.QUEUED, db_index=True
    )
    # Progress of the running phase (validation or commit): rows read of about rows_estimate.
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_estimate = models.PositiveIntegerField(_("rows expected"), default=0)
    # Commit: the last sheet row whose batch is committed (a retried job resumes after it).
    commit_row = models.PositiveIntegerField(default=0, editable=False)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    new_count = models.PositiveIntegerField(_("new"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    points_total = models.PositiveBigIntegerField(_("points to add"), default=0)
    sheet_name = models.CharField(_("sheet"), max_length=100, blank=True)
    header_row = models.PositiveIntegerField(_("header row"), default=0)
    # {"phone": {"index": 0, "letter": "A", "label": "เบอร์โทร"}, ...}, the columns not read and
    # why (``headers.ColumnMap.as_json``).
    columns = models.JSONField(_("columns"), default=dict, blank=True)
    # The owner's choices: {"D": "points", "F": "ignore"} (column letter → field or "ignore"); the
    # other columns are read by their names.
    column_mapping = models.JSONField(_("column choices"), default=dict, blank=True)
    # Why the file was refused or the commit failed: {"code": ..., "params": {...}}.
    failure = models.JSONField(_("problem"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now, editable=False)
    validated_at = models.DateTimeField(_("checked"), null=True, blank=True)
    committed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("member import")
        verbose_name_plural = _("member imports")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["shop", "-created_at"], name="importjob_shop_created")]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_running(self) -> bool:
        return self.state in self.RUNNING_STATES

    @property
    def phase(self) -> str:
        if self.state in (self.State.QUEUED, self.State.VALIDATING):
            return "validate"
        if self.state in (self.State.COMMIT_QUEUED, self.State.COMMITTING):
            return "commit"
        return ""

    @property
    def percent(self) -> int | None:
        """Progress of the running phase, 0–100, or None when the size is unknown."""
        if not self.rows_estimate:
            return None
        return min(100, int(self.rows_done * 100 / self.rows_estimate))

    @property
    def column_problems(self) -> list[dict]:
        """The columns not read and why (warnings and errors), in the file's order."""
        return list((self.columns or {}).get("problems", []))

    @property
    def column_errors(self) -> list[dict]:
        """Columns that could hold points, a phone or a birthday and are not read: nothing is
        imported until the owner says what each holds or ignores it."""
        return [p for p in self.column_problems if p.get("blocking")]

    @property
    def can_commit(self) -> bool:
        return (
            self.state == self.State.VALIDATED
            and (self.new_count + self.updated_count > 0)
            and not self.column_errors
        )

    @property
    def idempotency_prefix(self) -> str:
        """Ledger keys of this file's points: the same file uploaded again replays, never adds."""
        return f"import:{self.file_sha256[:24]}:"


class ImportRowError(models.Model):
    """One problem in one cell (or row) of an import, with a code and the values to explain it in
    the reader's language (the message is rendered when shown, see ``messages.describe``)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=20, blank=True)
    value = models.CharField(_("value"), max_length=200, blank=True)
    code = models.CharField(_("problem"), max_length=40)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("import error")
        verbose_name_plural = _("import errors")
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["job", "row"], name="importerror_job_row")]

    def __str__(self) -> str:
        return f"{self.row}: {self.code}"
