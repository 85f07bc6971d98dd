"""SMS in the back office: the shop's SMS settings (sender name, monthly budget and this month's
use), the messages sent (read-only) and the numbers that opted out (add one by phone)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from campaigns.sms.models import SmsMessage, SmsOptOut, SmsSettings
from campaigns.sms.selectors import sms_budget
from campaigns.sms.services import sms_opt_out, sms_settings_save
from loyalty.phones import format_phone_local, normalise_phone
from loyalty.sms import sms_available
from loyalty.text import TypedTextForm
from shops.tenancy import ReadOnlyAdminMixin, ShopScopedAdmin, is_platform_operator, request_shop

STATE_COLOURS = {
    SmsMessage.State.QUEUED: "info",
    SmsMessage.State.SENDING: "info",
    SmsMessage.State.SENT: "success",
    SmsMessage.State.HELD: "warning",
    SmsMessage.State.SKIPPED: "warning",
    SmsMessage.State.FAILED: "danger",
}


class PhoneSearchMixin:
    """Search by a phone number typed any way (081-234-5678, 0812345678, +66...)."""

    def get_search_results(self, request, queryset, search_term):
        try:
            phone = normalise_phone(search_term)
        except ValidationError:
            phone = None
        if phone:
            return queryset.filter(phone=phone), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(SmsSettings)
class SmsSettingsAdmin(ShopScopedAdmin, ModelAdmin):
    list_display = ("shop", "sender_name", "monthly_budget", "used_this_month")
    fields = ("shop", "sender_name", "monthly_budget", "used_this_month", "status")
    readonly_fields = ("used_this_month", "status")

    @display(description=_("used this month (credits)"))
    def used_this_month(self, obj: SmsSettings | None) -> str:
        if obj is None or obj.pk is None:
            return "0"
        budget = sms_budget(obj.shop)
        text = _("%(used)s of %(budget)s") % {"used": budget.used, "budget": budget.budget}
        if budget.held:
            text += " · " + _("%(held)s credits held back until the budget allows") % {
                "held": budget.held
            }
        return text

    @display(description=_("SMS"))
    def status(self, obj: SmsSettings | None) -> str:
        if not sms_available():
            return _("Sending SMS is not set up on this system (ask the system's administrator).")
        if obj is None or not obj.monthly_budget:
            return _("Off: give a monthly budget to send broadcasts by SMS.")
        return _("On: broadcasts with an SMS text reach members LINE cannot reach by SMS.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        if not super().has_add_permission(request):
            return False
        if is_platform_operator(request):
            return True
        shop = request_shop(request)
        return shop is not None and not SmsSettings.objects.filter(shop=shop).exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # A shop has one row: open it (or the form to create it) instead of a one-row list.
        if not is_platform_operator(request) and request.user.shop_id:
            row = SmsSettings.objects.filter(shop_id=request.user.shop_id).first()
            if row is not None:
                return HttpResponseRedirect(
                    reverse("admin:campaigns_smssettings_change", args=[row.pk])
                )
            if self.has_add_permission(request):
                return HttpResponseRedirect(reverse("admin:campaigns_smssettings_add"))
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        shop = obj.shop if is_platform_operator(request) else request.user.shop
        saved = sms_settings_save(
            shop=shop, sender_name=obj.sender_name, monthly_budget=obj.monthly_budget
        )
        obj.pk = saved.pk
        obj.shop = saved.shop


@admin.register(SmsMessage)
class SmsMessageAdmin(PhoneSearchMixin, ReadOnlyAdminMixin, ShopScopedAdmin, ModelAdmin):
    list_display = (
        "created_at",
        "phone_local",
        "state_label",
        "credits",
        "source",
        "error_short",
        "sent_at",
    )
    list_filter = ("state", "marketing")
    search_fields = ("phone", "source", "provider_message_id")
    date_hierarchy = "created_at"
    list_select_related = ("shop",)
    fields = (
        "shop",
        "member",
        "phone",
        "text",
        "credits",
        "marketing",
        "source",
        "state",
        "error",
        "attempts",
        "provider_message_id",
        "created_at",
        "claimed_at",
        "sent_at",
    )
    readonly_fields = fields

    @display(description=_("phone"), ordering="phone")
    def phone_local(self, obj: SmsMessage) -> str:
        return format_phone_local(obj.phone) or "—"

    @display(description=_("state"), ordering="state", label=STATE_COLOURS)
    def state_label(self, obj: SmsMessage):
        return obj.state, obj.get_state_display()

    @display(description=_("why not sent"))
    def error_short(self, obj: SmsMessage) -> str:
        return Truncator(obj.error).chars(60)


class SmsOptOutForm(TypedTextForm, forms.ModelForm):
    class Meta:
        model = SmsOptOut
        fields = ("phone",)

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("phone") or "")


@admin.register(SmsOptOut)
class SmsOptOutAdmin(PhoneSearchMixin, ShopScopedAdmin, ModelAdmin):
    form = SmsOptOutForm
    list_display = ("created_at", "phone_local", "how", "created_by")
    list_filter = ("how",)
    search_fields = ("phone",)
    list_select_related = ("shop", "created_by")
    fields = ("shop", "phone")

    @display(description=_("phone"), ordering="phone")
    def phone_local(self, obj: SmsOptOut) -> str:
        return format_phone_local(obj.phone)

    def get_fields(self, request, obj=None):
        if obj is None:
            return super().get_fields(request, obj)
        shown = ("shop", "phone", "how", "created_by", "created_at")
        return shown if is_platform_operator(request) else shown[1:]

    def get_readonly_fields(self, request, obj=None):
        return ("shop", "phone", "how", "created_by", "created_at") if obj is not None else ()

    # An opt-out is the person's wish: staff may add one, never change or remove it.
    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        shop = obj.shop if is_platform_operator(request) else request.user.shop
        row = sms_opt_out(shop=shop, phone=obj.phone, how=SmsOptOut.How.STAFF, user=request.user)
        obj.pk, obj.shop, obj.how, obj.created_at = row.pk, row.shop, row.how, row.created_at
