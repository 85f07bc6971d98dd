"""The back office's RFM settings page: one row per shop (the window and quintiles or fixed cut
points), saved through ``rfm_settings_save``; saving can start a refresh of the scores at once
instead of waiting for the night."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from campaigns.segments.models import MAX_WINDOW_MONTHS, RfmSettings
from campaigns.segments.rfm import rfm_settings_problems
from campaigns.segments.services import rfm_refresh_enqueue, rfm_settings_save
from loyalty.text import TypedTextForm
from shops.tenancy import ShopScopedAdmin, is_platform_operator, request_shop

R_FIELDS = ("r_days_1", "r_days_2", "r_days_3", "r_days_4")
F_FIELDS = ("f_count_1", "f_count_2", "f_count_3", "f_count_4")
M_FIELDS = ("m_thb_1", "m_thb_2", "m_thb_3", "m_thb_4")
# a problem of a score's four cut points is shown on its first box
PROBLEM_FIELD = {"r_days": R_FIELDS[0], "f_counts": F_FIELDS[0], "m_thb": M_FIELDS[0]}


class RfmSettingsForm(TypedTextForm, forms.ModelForm):
    refresh_now = forms.BooleanField(
        label=_("Refresh the scores now"),
        required=False,
        initial=True,
        help_text=_(
            "Recompute every member's RFM scores with these settings right after saving "
            "(otherwise they change tonight)."
        ),
    )

    class Meta:
        model = RfmSettings
        fields = ("window_months", "mode", *R_FIELDS, *F_FIELDS, *M_FIELDS)

    def clean(self):
        data = super().clean()
        problems = rfm_settings_problems(
            window_months=data.get("window_months"),
            mode=data.get("mode"),
            r_days=[data.get(name) for name in R_FIELDS],
            f_counts=[data.get(name) for name in F_FIELDS],
            m_thb=[data.get(name) for name in M_FIELDS],
            max_window=MAX_WINDOW_MONTHS,
        )
        for problem, message in problems.items():
            field = PROBLEM_FIELD.get(problem, problem)
            if field not in self.errors:  # a box that did not even parse already says so
                self.add_error(field, message)
        return data


@admin.register(RfmSettings)
class RfmSettingsAdmin(ShopScopedAdmin, ModelAdmin):
    form = RfmSettingsForm
    list_display = ("__str__", "window_months", "mode", "updated_at")
    fieldsets = (
        (None, {"fields": ("shop", "window_months", "mode")}),
        (
            _("Recency: days since the last purchase"),
            {
                "fields": (R_FIELDS,),
                "description": _(
                    "R 5 = bought within the first number of days, R 4 within the second, … "
                    "R 1 = longer ago than the fourth. E.g. 30, 90, 180, 365."
                ),
            },
        ),
        (
            _("Frequency: purchases in the window"),
            {
                "fields": (F_FIELDS,),
                "description": _(
                    "F 2 from the first number of purchases up, … F 5 from the fourth. "
                    "E.g. 2, 3, 5, 10."
                ),
            },
        ),
        (
            _("Spend: THB in the window"),
            {
                "fields": (M_FIELDS,),
                "description": _(
                    "M 2 from the first amount up, … M 5 from the fourth. "
                    "E.g. 500, 1000, 3000, 10000."
                ),
            },
        ),
        (None, {"fields": ("refresh_now",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        shop = request_shop(request)
        if shop is not None and RfmSettings.objects.filter(shop=shop).exists():
            return False
        return super().has_add_permission(request)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # One row per shop: a shop's user goes straight to it (or to the form that creates it).
        shop = request_shop(request)
        if shop is not None and not is_platform_operator(request):
            row = RfmSettings.objects.filter(shop=shop).first()
            if row is not None and self.has_view_or_change_permission(request, row):
                return HttpResponseRedirect(
                    reverse("admin:campaigns_rfmsettings_change", args=[row.pk])
                )
            if row is None and self.has_add_permission(request):
                return HttpResponseRedirect(reverse("admin:campaigns_rfmsettings_add"))
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        shop = obj.shop if is_platform_operator(request) else request.user.shop
        data = form.cleaned_data
        row = rfm_settings_save(
            shop=shop,
            window_months=data["window_months"],
            mode=data["mode"],
            r_days=[data.get(name) for name in R_FIELDS],
            f_counts=[data.get(name) for name in F_FIELDS],
            m_thb=[data.get(name) for name in M_FIELDS],
        )
        obj.pk, obj.shop, obj._state.adding = row.pk, shop, False
        if data.get("refresh_now"):
            rfm_refresh_enqueue(shop_id=shop.pk)
            self.message_user(
                request,
                gettext("The RFM scores are being refreshed with these settings."),
                messages.INFO,
            )
