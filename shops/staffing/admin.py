"""Staff invites and the staff activity log in the back office.

An invite is created (then shown once as a link and a QR code), revoked, never edited. The activity
log is read-only; owners and managers see their own shop's rows (``ShopScopedAdmin``).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from loyalty.errors import ApplicationError
from loyalty.links import absolute_url
from loyalty.text import TypedTextForm
from shops.models import Branch
from shops.staffing.links import qr_png_data_uri, qr_svg
from shops.staffing.models import StaffAction, StaffInvite
from shops.staffing.services import (
    Device,
    staff_invite_create,
    staff_invite_revoke,
)
from shops.tenancy import ShopScopedAdmin, is_platform_operator

VALIDITY_CHOICES = [
    ("1", _("1 day")),
    ("3", _("3 days")),
    ("7", _("7 days")),
    ("30", _("30 days")),
]


class StaffInviteForm(TypedTextForm, forms.ModelForm):
    valid_for = forms.TypedChoiceField(
        label=_("valid for"),
        choices=VALIDITY_CHOICES,
        coerce=int,
        initial="3",
        help_text=_("The link stops working after this, or once it has been used."),
    )

    class Meta:
        model = StaffInvite
        fields = ("shop", "branch", "name")


@admin.register(StaffInvite)
class StaffInviteAdmin(ShopScopedAdmin, ModelAdmin):
    form = StaffInviteForm
    list_display = ("created_at", "name", "branch", "state_badge", "expires_at", "used_by")
    list_select_related = ("branch", "used_by", "created_by")
    list_filter = ("branch",)
    search_fields = ("name", "branch__name", "used_by__username")
    readonly_fields = ("expires_at", "used_at", "used_by", "revoked_at", "created_by", "created_at")
    actions = ["revoke_invites"]

    @display(
        description=_("state"),
        label={
            StaffInvite.State.OPEN: "info",
            StaffInvite.State.USED: "success",
            StaffInvite.State.EXPIRED: "warning",
            StaffInvite.State.REVOKED: "danger",
        },
    )
    def state_badge(self, obj: StaffInvite):
        state = obj.state
        return state, StaffInvite.State(state).label

    def get_fields(self, request, obj=None):
        if obj is None:
            fields = ["shop", "branch", "name", "valid_for"]
            if not is_platform_operator(request):
                fields.remove("shop")
            return fields
        return ["branch", "name", *self.readonly_fields]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "branch":
            kwargs["queryset"] = Branch.objects.filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        # An invite is created or revoked, never edited.
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        shop = obj.shop if is_platform_operator(request) else request.user.shop
        invite, token = staff_invite_create(
            shop=shop,
            branch=obj.branch,
            name=obj.name,
            valid_for=dt.timedelta(days=form.cleaned_data["valid_for"]),
            created_by=request.user,
            device=Device.of(request),
        )
        obj.pk = invite.pk
        obj.public_id = invite.public_id
        obj.expires_at = invite.expires_at
        request._new_invite_token = token

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return self.changelist_view(request)

    def response_add(self, request, obj, post_url_continue=None):
        # The only moment the link exists in clear: show it (and its QR code) once.
        link = absolute_url(request, reverse("staff:join", args=[request._new_invite_token]))
        return TemplateResponse(
            request,
            "admin/shops/staffinvite/created.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Staff invite created"),
                "invite": StaffInvite.objects.select_related("branch").get(pk=obj.pk),
                "link": link,
                "qr_svg": qr_svg(link, scale=5),
                "qr_png": qr_png_data_uri(link),
                "opts": self.model._meta,
            },
        )

    @action(description=_("Revoke selected invites"))
    def revoke_invites(self, request, queryset):
        device = Device.of(request)
        for invite in queryset:
            staff_invite_revoke(invite=invite, actor=request.user, device=device)
        self.message_user(
            request, _("Revoked; these invite links no longer work."), messages.SUCCESS
        )


@admin.register(StaffAction)
class StaffActionAdmin(ShopScopedAdmin, ModelAdmin):
    """What staff did in the staff app, newest first. Read-only."""

    list_display = (
        "created_at",
        "username",
        "branch",
        "kind",
        "object_repr",
        "ip_address",
        "device",
    )
    list_select_related = ("branch",)
    list_filter = ("kind", "branch", ("created_at", admin.DateFieldListFilter))
    search_fields = ("username", "object_repr", "object_id", "ip_address")
    date_hierarchy = "created_at"
    list_per_page = 50
    readonly_fields = [f.name for f in StaffAction._meta.fields if f.name != "id"]

    @display(description=_("device (browser)"))
    def device(self, obj: StaffAction) -> str:
        text = obj.user_agent
        return text if len(text) <= 60 else text[:57] + "…"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
