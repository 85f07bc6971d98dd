"""The shape of the upload and confirm forms (the rules are in ``services``)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from loyalty.text import TypedTextForm
from members.imports.models import ImportJob
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
