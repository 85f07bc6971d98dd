"""Member import and xlsx exports in the back office.

- ``ImportJobAdmin``: the import history, the upload page, the preview (counts, column mapping,
  every error, progress bar), the error report, confirm and cancel, and the template download.
  Every view finds the job through ``get_queryset``, which ``ShopScopedAdmin`` scopes to the
  user's shop: another shop's job is a 404.
- ``MemberImportExportMixin`` adds ``loyalty.exports.ExportAdminMixin`` ("Export to Excel") and an
  "Import from Excel" button to the members list; ``LedgerExportMixin`` the export to the ledger.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from loyalty.errors import ApplicationError
from loyalty.exports import Column, ExportAdminMixin, write_rows, xlsx_file_response
from members.imports import exports, services  # noqa: F401 - registers the members' exports
from members.imports.files import FileRefused
from members.imports.forms import ColumnMappingForm, ConfirmForm, UploadForm
from members.imports.messages import column_label, describe, describe_column
from members.imports.models import ImportJob
from members.imports.names import IGNORE
from members.imports.template import member_template
from shops.tenancy import ShopScopedAdmin, is_platform_operator, request_shop

ERRORS_PER_PAGE = 200


class MemberImportExportMixin(ExportAdminMixin):
    """For the members list: export (as filtered) and a button to the import page."""

    export_key = "members"
    actions_list = ["import_members", "export_xlsx"]

    @action(
        description=_("Import from Excel"),  # Thai: นำเข้าจาก Excel
        url_path="import-xlsx",
        icon="upload_file",
        permissions=["add"],
    )
    def import_members(self, request):
        return HttpResponseRedirect(reverse("admin:members_importjob_upload"))


class LedgerExportMixin(ExportAdminMixin):
    export_key = "ledger"


# --- imports ----------------------------------------------------------------------------------


def column_rows(job: ImportJob) -> list[dict]:
    """Every named column of the job's file in the file's order (A, B, … Z, AA): what it is read
    as, whether the owner chose that, and why it is not read (a warning, or an error that blocks
    the import), with the choice the column-mapping form starts from."""
    info = job.columns or {}
    headers = info.get("headers")
    if headers is None:  # checked before the header kept every column
        headers = [
            {"letter": c["letter"], "label": c["label"], "field": key}
            for key, c in info.get("found", {}).items()
        ] + [
            {"letter": c["letter"], "label": c["label"], "field": ""}
            for c in info.get("ignored", [])
        ]
    problems = {p["letter"]: p for p in info.get("problems", [])}
    chosen = job.column_mapping or {}
    named = {h["letter"] for h in headers}
    # Columns with data and no header are listed too, after the check has seen them.
    headers = [
        *headers,
        *(
            {"letter": p["letter"], "label": "", "field": "", "unnamed": True}
            for p in problems.values()
            if p["letter"] not in named
        ),
    ]
    headers.sort(key=lambda h: (len(h["letter"]), h["letter"]))
    rows = []
    for header in headers:
        letter, key = header["letter"], header["field"]
        problem = problems.get(letter)
        blocking = bool(problem and problem.get("blocking"))
        rows.append(
            {
                "letter": letter,
                "label": header["label"],
                "key": key,
                "means": column_label(key) if key else "",
                "chosen": letter in chosen,
                "problem": describe_column(problem) if problem else "",
                "blocking": blocking,
                "initial": key or ("" if blocking else IGNORE),
                "unnamed": header.get("unnamed", False),
            }
        )
    return rows


@admin.register(ImportJob)
class ImportJobAdmin(ShopScopedAdmin, ModelAdmin):
    list_display = (
        "created_at",
        "file_link",
        "branch",
        "state_badge",
        "rows_total",
        "new_count",
        "updated_count",
        "unchanged_count",
        "error_count",
        "created_by",
    )
    list_display_links = None
    list_select_related = ("branch", "created_by")
    list_filter = ("state", "branch")
    search_fields = ("original_name",)
    actions_list = ["upload_link", "template_link"]
    date_hierarchy = "created_at"

    # An import is made by uploading a file and changed only by its jobs.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def may_import(self, request) -> bool:
        return request_shop(request) is not None and request.user.has_perm("members.add_member")

    @display(description=_("file"), ordering="original_name")
    def file_link(self, obj: ImportJob):
        url = reverse("admin:members_importjob_preview", args=[obj.public_id])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)

    @display(
        description=_("state"),
        ordering="state",
        label={
            ImportJob.State.DONE: "success",
            ImportJob.State.VALIDATED: "info",
            ImportJob.State.FAILED: "danger",
            ImportJob.State.REFUSED: "danger",
            ImportJob.State.CANCELLED: "info",
            ImportJob.State.QUEUED: "warning",
            ImportJob.State.VALIDATING: "warning",
            ImportJob.State.COMMIT_QUEUED: "warning",
            ImportJob.State.COMMITTING: "warning",
        },
    )
    def state_badge(self, obj: ImportJob):
        return obj.state, obj.get_state_display()

    @action(description=_("Upload a member list"), url_path="upload-link", icon="upload_file")
    def upload_link(self, request):
        return HttpResponseRedirect(reverse("admin:members_importjob_upload"))

    @action(description=_("Download the template"), url_path="template-link", icon="download")
    def template_link(self, request):
        return HttpResponseRedirect(reverse("admin:members_importjob_template"))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="members_importjob_upload"),
            path(
                "member-template.xlsx",
                view(self.template_view),
                name="members_importjob_template",
            ),
            path(
                "<uuid:public_id>/preview/",
                view(self.preview_view),
                name="members_importjob_preview",
            ),
            path(
                "<uuid:public_id>/progress.json",
                view(self.progress_view),
                name="members_importjob_progress",
            ),
            path(
                "<uuid:public_id>/errors.xlsx",
                view(self.errors_view),
                name="members_importjob_errors",
            ),
            path(
                "<uuid:public_id>/confirm/",
                view(require_POST(self.confirm_view)),
                name="members_importjob_confirm",
            ),
            path(
                "<uuid:public_id>/columns/",
                view(require_POST(self.columns_view)),
                name="members_importjob_columns",
            ),
            path(
                "<uuid:public_id>/cancel/",
                view(require_POST(self.cancel_view)),
                name="members_importjob_cancel",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        if job is not None:
            return HttpResponseRedirect(
                reverse("admin:members_importjob_preview", args=[job.public_id])
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def _job(self, request, public_id) -> ImportJob:
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = (
            self.get_queryset(request)
            .select_related("branch", "created_by", "committed_by")
            .filter(public_id=public_id)
            .first()
        )
        if job is None:
            raise Http404
        return job

    def _context(self, request, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            **extra,
        }

    # --- views --------------------------------------------------------------------------------

    def template_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        response = HttpResponse(
            member_template(shop=request_shop(request)),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="member-template.xlsx"'
        return response

    def upload_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        shop = request_shop(request)
        if not self.may_import(request):
            if is_platform_operator(request):
                self.message_user(
                    request,
                    _("Imports belong to a shop: sign in as the shop's owner or manager."),
                    messages.WARNING,
                )
                return HttpResponseRedirect(reverse("admin:members_importjob_changelist"))
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None, shop=shop)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = services.import_job_create(
                    shop=shop,
                    file=upload,
                    name=upload.name,
                    branch=form.cleaned_data["branch"],
                    policy=form.cleaned_data["policy"],
                    mode=form.cleaned_data["mode"],
                    created_by=request.user,
                )
            except FileRefused as exc:
                form.add_error("file", str(exc))
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                return HttpResponseRedirect(
                    reverse("admin:members_importjob_preview", args=[job.public_id])
                )
        recent = self.get_queryset(request).select_related("branch")[:5]
        return TemplateResponse(
            request,
            "admin/members/importjob/upload.html",
            self._context(
                request,
                title=_("Import members from Excel"),  # Thai: นำเข้าสมาชิกจาก Excel
                form=form,
                recent=recent,
                template_url=reverse("admin:members_importjob_template"),
            ),
        )

    def preview_view(self, request, public_id):
        job = self._job(request, public_id)
        errors = job.errors.all()
        page = Paginator(errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
        found = (job.columns or {}).get("found", {})
        rows = [
            {
                "row": e.row,
                "column": " ".join(
                    p
                    for p in (found.get(e.column, {}).get("letter", ""), column_label(e.column))
                    if p
                ),
                "value": e.value,
                "reason": describe(e.code, e.params),
            }
            for e in page.object_list
        ]
        columns = column_rows(job)
        may_map = job.state == ImportJob.State.VALIDATED and self.may_import(request)
        if may_map:
            named = [c for c in columns if not c["unnamed"]]
            mapping_form = ColumnMappingForm(headers=named)
            for column in named:
                column["select"] = mapping_form[ColumnMappingForm.name_of(column["letter"])]
        failure = describe(job.failure["code"], job.failure.get("params")) if job.failure else ""
        same_file = (
            ImportJob.objects.filter(
                shop_id=job.shop_id, file_sha256=job.file_sha256, state=ImportJob.State.DONE
            )
            .exclude(pk=job.pk)
            .order_by("-finished_at")
            .first()
            if job.file_sha256
            else None
        )
        return TemplateResponse(
            request,
            "admin/members/importjob/preview.html",
            self._context(
                request,
                title=_("Import of %(file)s") % {"file": job.original_name},
                job=job,
                errors_page=page,
                error_rows=rows,
                columns=columns,
                may_map=may_map,
                column_errors=[c for c in columns if c["blocking"]],
                column_warnings=[c for c in columns if c["problem"] and not c["blocking"]],
                names_split=(job.columns or {}).get("names_in_first_name", False),
                failure=failure,
                same_file=same_file,
                show_counts=bool(job.rows_total)
                and job.state
                in (
                    ImportJob.State.VALIDATED,
                    ImportJob.State.COMMIT_QUEUED,
                    ImportJob.State.COMMITTING,
                    ImportJob.State.DONE,
                    ImportJob.State.FAILED,
                ),
                confirm_form=ConfirmForm(initial={"mode": job.mode}),
                may_import=self.may_import(request),
                progress_url=reverse("admin:members_importjob_progress", args=[job.public_id]),
            ),
        )

    def progress_view(self, request, public_id):
        job = self._job(request, public_id)
        return JsonResponse(
            {
                "state": job.state,
                "state_label": str(job.get_state_display()),
                "running": job.is_running,
                "phase": job.phase,
                "done": job.rows_done,
                "total": job.rows_estimate,
                "percent": job.percent,
            }
        )

    def errors_view(self, request, public_id):
        job = self._job(request, public_id)
        found = (job.columns or {}).get("found", {})
        columns = [
            Column(_("row"), lambda e: e.row, 8),
            Column(
                _("column"),
                lambda e: " ".join(
                    p
                    for p in (found.get(e.column, {}).get("letter", ""), column_label(e.column))
                    if p
                ),
                18,
            ),
            Column(_("value"), lambda e: e.value, 24),
            Column(_("problem"), lambda e: describe(e.code, e.params), 70),
        ]
        stem = job.original_name.rsplit(".", 1)[0][:80] or "import"
        return xlsx_file_response(
            lambda target: write_rows(
                target,
                title=_("Errors"),
                columns=columns,
                rows=job.errors.order_by("row", "id").iterator(chunk_size=2000),
            ),
            f"{stem}-errors.xlsx",
        )

    def confirm_view(self, request, public_id):
        job = self._job(request, public_id)
        if not self.may_import(request):
            raise PermissionDenied
        form = ConfirmForm(request.POST)
        mode = form.cleaned_data["mode"] if form.is_valid() else None
        try:
            services.import_confirm(job=job, user=request.user, mode=mode)
        except ApplicationError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(
            reverse("admin:members_importjob_preview", args=[job.public_id])
        )

    def columns_view(self, request, public_id):
        """The owner's choice of what the columns hold; the file is then checked again."""
        job = self._job(request, public_id)
        if not self.may_import(request):
            raise PermissionDenied
        headers = [c for c in column_rows(job) if not c["unnamed"]]
        form = ColumnMappingForm(request.POST, headers=headers)
        if not form.is_valid():
            self.message_user(
                request, _("Choose what each column marked in red holds."), messages.ERROR
            )
        else:
            try:
                services.import_columns_map(
                    job=job, mapping=form.changes(headers, job.column_mapping or {})
                )
            except ApplicationError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request, _("The file is checked again with your choice of columns.")
                )
        return HttpResponseRedirect(
            reverse("admin:members_importjob_preview", args=[job.public_id]) + "#columns"
        )

    def cancel_view(self, request, public_id):
        job = self._job(request, public_id)
        if not self.may_import(request):
            raise PermissionDenied
        try:
            services.import_cancel(job=job)
        except ApplicationError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:members_importjob_preview", args=[job.public_id])
            )
        self.message_user(request, _("Import cancelled; nothing was imported."), messages.INFO)
        return HttpResponseRedirect(reverse("admin:members_importjob_upload"))
