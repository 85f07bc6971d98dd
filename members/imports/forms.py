"""The shape of the upload and confirm forms (the rules are in ``services``)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from loyalty.text import TypedTextForm
from members.imports.messages import column_label
from members.imports.models import ImportJob
from members.imports.names import FIELDS, IGNORE
from shops.models import Branch, Shop


class UploadForm(TypedTextForm, forms.Form):
    file = forms.FileField(
        label=_("Member list"),  # Thai: ไฟล์รายชื่อสมาชิก
        help_text=_("An Excel workbook (.xlsx) or a CSV file, up to %(mb)s MB.")
        % {"mb": settings.LOYALTY_IMPORT_MAX_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )
    branch = forms.ModelChoiceField(
        label=_("Branch"),
        queryset=Branch.objects.none(),
        help_text=_("New members are recorded as signed up at this branch."),
    )
    policy = forms.ChoiceField(
        label=_("Members whose phone number already exists"),
        choices=ImportJob.Policy.choices,
        initial=ImportJob.Policy.SKIP,
        widget=forms.RadioSelect,
    )
    mode = forms.ChoiceField(
        label=_("Rows with errors"),
        choices=ImportJob.Mode.choices,
        initial=ImportJob.Mode.ALL_OR_NOTHING,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, shop: Shop, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        branches = Branch.objects.filter(shop=shop, is_active=True).order_by("name")
        self.fields["branch"].queryset = branches
        self.fields["branch"].required = branches.exists()
        if branches.count() == 1:
            self.fields["branch"].initial = branches.first().pk


class ConfirmForm(TypedTextForm, forms.Form):
    mode = forms.ChoiceField(
        label=_("Rows with errors"),
        choices=ImportJob.Mode.choices,
        widget=forms.RadioSelect,
    )


class ColumnMappingForm(TypedTextForm, forms.Form):
    """What each named column of the file holds: a field the import fills in, or "ignore". A
    column the import could not settle (it could hold points, a phone or a birthday) starts
    with no choice, so the owner has to make one."""

    def __init__(self, *args, headers: list[dict], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        fields = [(key, column_label(key)) for key in FIELDS]
        for header in headers:
            initial = header["initial"]
            choices = [(IGNORE, _("Do not import this column")), *fields]
            if not initial:
                choices = [("", _("Choose what it holds…")), *choices]
            self.fields[self.name_of(header["letter"])] = forms.ChoiceField(
                label=_("Column %(letter)s “%(label)s”")
                % {"letter": header["letter"], "label": header["label"]},
                choices=choices,
                initial=initial,
            )

    @staticmethod
    def name_of(letter: str) -> str:
        return f"column-{letter}"

    def changes(self, headers: list[dict], kept: dict[str, str]) -> dict[str, str]:
        """The choices to keep on the job: the owner's earlier ones (``kept``), with every
        column whose choice now differs from how it was read."""
        mapping = dict(kept)
        for header in headers:
            value = self.cleaned_data[self.name_of(header["letter"])]
            if value != header["initial"] or header["letter"] in kept:
                mapping[header["letter"]] = value
        return mapping
