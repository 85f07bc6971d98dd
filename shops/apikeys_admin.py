"""API keys in the back office (owners only): create one and see it once, revoke it."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from shops.apikeys import api_key_create, api_key_revoke
from shops.models import ApiKey
from shops.tenancy import ShopScopedAdmin, is_platform_operator


@admin.register(ApiKey)
class ApiKeyAdmin(ShopScopedAdmin, ModelAdmin):
    list_display = ("name", "prefix", "created_at", "created_by", "last_used_at", "state")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    fields = ("shop", "name")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ["revoke_keys"]

    @display(description=_("state"), label={True: "success", False: "danger"})
    def state(self, obj: ApiKey):
        return obj.is_active, _("active") if obj.is_active else _("revoked")

    def get_fields(self, request, obj=None):
        if obj is None:
            return super().get_fields(request, obj)
        return ["name", *self.readonly_fields]

    def has_change_permission(self, request, obj=None):
        # A key is created or revoked, never edited.
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        shop = obj.shop if is_platform_operator(request) else request.user.shop
        key, raw = api_key_create(shop=shop, name=obj.name, actor=request.user)
        obj.pk = key.pk
        request._new_api_key = raw

    def response_add(self, request, obj, post_url_continue=None):
        # The only moment the key exists in clear: show it on a page of its own, never again.
        return TemplateResponse(
            request,
            "admin/shops/apikey/created.html",
            {
                **self.admin_site.each_context(request),
                "title": _("API key created"),
                "key": obj,
                "raw_key": request._new_api_key,
                "opts": self.model._meta,
            },
        )

    @action(description=_("Revoke selected keys"))
    def revoke_keys(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key)
        self.message_user(
            request, _("Revoked; requests with these keys now get 401."), messages.SUCCESS
        )
