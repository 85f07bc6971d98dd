"""Import a member list from the command line, with the same checks and writes as the back office.

    python manage.py import_members FILE --shop SLUG --branch CODE
        [--policy skip|update|add-points] [--valid-only] [--commit] [--language th|en]
        [--map "COLUMN=FIELD" ...] [--ignore-column COLUMN ...]

Without ``--commit`` it only checks the file and prints what an import would do. It prints every
column it does not import and why. A column that looks like points, a phone or a birthday but is
not read stops the import (exit status 1) until ``--map`` says what it holds or
``--ignore-column`` leaves it out; COLUMN is the header's text or the column's letter. Exit status:
0 the check found no errors or the import was written, or there was nothing left to write (a
re-run; with --valid-only the rows with errors are skipped and do not count as a failure);
1 rows have errors and nothing was written (all or nothing, the default), or columns need a
choice (``--map`` / ``--ignore-column``);
2 the file, shop or branch was refused.
"""

from __future__ import annotations

from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl.utils import get_column_letter

from loyalty.errors import ApplicationError
from members.imports import services
from members.imports.files import FileRefused
from members.imports.headers import ColumnMap, column_key, is_column_letter
from members.imports.messages import column_label, describe, describe_column
from members.imports.models import ImportJob
from members.imports.names import FIELDS, IGNORE, normalise_header
from shops.models import Shop
from shops.selectors import branch_by_code


class Command(BaseCommand):
    help = "Check a member list (.xlsx or .csv) and, with --commit, import it into a shop."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--shop", required=True, help="the shop's slug")
        parser.add_argument("--branch", help="code of the branch new members signed up at")
        parser.add_argument(
            "--policy",
            choices=ImportJob.Policy.values,
            default=ImportJob.Policy.SKIP,
            help="members whose phone already exists: skip them, update their profile, or add "
            "the file's points (default: skip)",
        )
        parser.add_argument(
            "--valid-only",
            action="store_true",
            help="import the rows without errors and skip the others (default: all or nothing)",
        )
        parser.add_argument("--commit", action="store_true", help="write the import")
        parser.add_argument("--language", choices=["th", "en"], help="language of the messages")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help='read a column as a field, e.g. --map "พอยท์ยกมา=points"; COLUMN is the '
            f"header's text or the column's letter, FIELD one of: {', '.join(FIELDS)}",
        )
        parser.add_argument(
            "--ignore-column",
            action="append",
            default=[],
            metavar="COLUMN",
            help="leave a column out (its header's text or its letter)",
        )

    def handle(self, *args, **options):
        language = options["language"] or translation.get_language() or "th"
        with translation.override(language):
            return self._handle(options)

    def _handle(self, options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(_("%(file)s: no such file") % {"file": path}, returncode=2)
        shop = Shop.objects.filter(slug=options["shop"]).first()
        if shop is None:
            raise CommandError(
                _("There is no shop with the slug “%(slug)s”.") % {"slug": options["shop"]},
                returncode=2,
            )
        branch = None
        if options["branch"]:
            branch = branch_by_code(shop=shop, code=options["branch"])
            if branch is None:
                raise CommandError(
                    _("%(shop)s has no active branch with the code “%(code)s”.")
                    % {"shop": shop.slug, "code": options["branch"]},
                    returncode=2,
                )
        choices = self._choices(options)
        mode = ImportJob.Mode.VALID_ONLY if options["valid_only"] else ImportJob.Mode.ALL_OR_NOTHING
        try:
            with path.open("rb") as f:
                job = services.import_job_create(
                    shop=shop,
                    file=File(f, name=path.name),
                    name=path.name,
                    branch=branch,
                    policy=options["policy"],
                    mode=mode,
                    start=False,
                )
        except FileRefused as exc:
            raise CommandError(f"{path.name}: {exc}", returncode=2) from None

        if choices:
            self._apply_choices(job, choices)
        job = services.import_validate(job_id=job.pk)
        if job.state == ImportJob.State.REFUSED:
            raise CommandError(
                f"{path.name}: {describe(job.failure['code'], job.failure.get('params'))}",
                returncode=2,
            )
        self._print_counts(job, _("check"))
        self._print_columns(job)
        self._print_errors(job)
        if job.column_errors:
            n = len(job.column_errors)
            self.stderr.write(
                ngettext(
                    "%(n)s column needs your choice: say what it holds with "
                    '--map "COLUMN=FIELD" or leave it out with --ignore-column COLUMN. '
                    "Nothing was imported.",
                    "%(n)s columns need your choice: say what each holds with "
                    '--map "COLUMN=FIELD" or leave it out with --ignore-column COLUMN. '
                    "Nothing was imported.",
                    n,
                )
                % {"n": n}
            )
            services.import_cancel(job=job)
            raise SystemExit(1)
        if not options["commit"]:
            if job.error_count and mode == ImportJob.Mode.ALL_OR_NOTHING:
                self.stderr.write(
                    _(
                        "%(n)s rows have errors: nothing would be imported "
                        "(use --valid-only to import the other rows)."
                    )
                    % {"n": job.error_count}
                )
                raise SystemExit(1)
            self.stdout.write(_("Checked only; add --commit to import."))
            return
        if job.new_count + job.updated_count == 0:
            # A re-run with nothing left to do has succeeded: with valid rows only, the rows with
            # errors are skipped (as they were the first time), so they do not make it a failure.
            if not job.error_count:
                self.stdout.write(_("Nothing to import: every member is already up to date."))
                services.import_cancel(job=job)
                return
            if mode == ImportJob.Mode.VALID_ONLY:
                self.stdout.write(
                    _(
                        "Nothing to import: the rows without errors are already up to date; "
                        "the rows with errors were skipped."
                    )
                )
                services.import_cancel(job=job)
                return
        try:
            services.import_confirm(job=job, user=None, start=False)
        except services.ImportNotAllowed as exc:
            self.stderr.write(str(exc))
            services.import_cancel(job=job)
            raise SystemExit(1) from None
        job = services.import_commit(job_id=job.pk)
        if job.state != ImportJob.State.DONE:
            self.stderr.write(describe(job.failure.get("code", ""), job.failure.get("params")))
            self._print_errors(job)
            raise SystemExit(1)
        self._print_counts(job, _("import"))
        self.stdout.write(self.style.SUCCESS(_("Imported (job %(job)s).") % {"job": job.public_id}))

    def _choices(self, options) -> list[tuple[str, str]]:
        """(column, field or IGNORE) from --map and --ignore-column, in the order given."""
        choices = []
        for spec in options["map"]:
            column, equals, name = spec.rpartition("=")
            name = name.strip()
            field = name if name in (*FIELDS, IGNORE) else column_key(name)
            if not equals or not column.strip() or field is None:
                raise CommandError(
                    _("--map “%(spec)s”: write COLUMN=FIELD, FIELD one of: %(fields)s.")
                    % {"spec": spec, "fields": ", ".join((*FIELDS, IGNORE))},
                    returncode=2,
                )
            choices.append((column.strip(), field))
        choices += [(column.strip(), IGNORE) for column in options["ignore_column"]]
        return choices

    def _apply_choices(self, job: ImportJob, choices: list[tuple[str, str]]) -> None:
        """Find each chosen column in the file's header and keep the choices on the job."""
        try:
            header = services.import_header(job=job)
        except FileRefused:
            return  # the check refuses the file and says why
        mapping = {self._letter(job, header, column): field for column, field in choices}
        try:
            services.import_columns_map(job=job, mapping=mapping, start=False)
        except ApplicationError as exc:
            services.import_cancel(job=job)
            raise CommandError(str(exc), returncode=2) from None

    def _letter(self, job: ImportJob, header: ColumnMap, column: str) -> str:
        """The letter of the column whose header is ``column`` (compared as the import compares
        names), or which is the column ``column``."""
        wanted = normalise_header(column)
        named = [(i, label) for i, label in header.headers if normalise_header(label) == wanted]
        if len(named) == 1:
            return get_column_letter(named[0][0] + 1)
        letters = {get_column_letter(i + 1) for i, _label in header.headers}
        if not named and is_column_letter(column.upper()) and column.upper() in letters:
            return column.upper()
        services.import_cancel(job=job)
        found = ", ".join(f"{get_column_letter(i + 1)} “{label}”" for i, label in header.headers)
        if named:
            message = _(
                "More than one column is called “%(column)s”: give its letter instead (%(found)s)."
            )
        else:
            message = _("The header row has no column “%(column)s”. Its columns: %(found)s.")
        raise CommandError(message % {"column": column, "found": found}, returncode=2)

    def _print_columns(self, job: ImportJob) -> None:
        for problem in job.column_problems:
            values = {
                "letter": problem["letter"],
                "label": problem["label"],
                "reason": describe_column(problem),
            }
            if problem["label"]:
                self.stdout.write(_("column %(letter)s “%(label)s”: %(reason)s") % values)
            else:  # a column with data and no header
                self.stdout.write(_("column %(letter)s: %(reason)s") % values)

    def _print_counts(self, job: ImportJob, what: str) -> None:
        self.stdout.write(
            _(
                "%(what)s: rows %(rows)s  new %(new)s  updated %(updated)s  "
                "unchanged %(unchanged)s  errors %(errors)s  points %(points)s"
            )
            % {
                "what": what,
                "rows": job.rows_total,
                "new": job.new_count,
                "updated": job.updated_count,
                "unchanged": job.unchanged_count,
                "errors": job.error_count,
                "points": job.points_total,
            }
        )

    def _print_errors(self, job: ImportJob) -> None:
        columns = (job.columns or {}).get("found", {})
        for error in job.errors.order_by("row", "id").iterator():
            found = columns.get(error.column, {})
            where = f"{found.get('letter', '')} {column_label(error.column)}".strip()
            value = f" “{error.value}”" if error.value else ""
            self.stdout.write(
                _("row %(row)s, %(column)s:%(value)s %(reason)s")
                % {
                    "row": error.row,
                    "column": where,
                    "value": value,
                    "reason": describe(error.code, error.params),
                }
            )
