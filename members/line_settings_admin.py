"""The shop's LINE settings in the back office ("Shop setup" → "LINE settings"): the LINE Login
channel and LIFF app members sign in with, and the links to paste into the LINE OA rich menu.

It lives in ``members`` (the model is ``shops.ShopLineChannel``) because the page shows the member
pages' rich-menu links, and shops, a lower layer, never imports members.

Secrets are write-only: the form never shows them, and an empty field keeps the saved value.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.widgets import UnfoldAdminPasswordWidget

from loyalty.links import absolute_url
from loyalty.text import TypedTextForm
from members.pages.selectors import rich_menu_links
from shops.models import ShopLineChannel
from shops.services import line_channel_save
from shops.tenancy import ShopScopedAdmin, is_platform_operator, request_shop

SECRET_FIELDS = (
    "login_channel_secret",
    "messaging_channel_secret",
    "messaging_access_token",
    "assertion_private_key",
)


def _secret_widget():
    return UnfoldAdminPasswordWidget(render_value=False, attrs={"autocomplete": "new-password"})


class ShopLineChannelForm(TypedTextForm, forms.ModelForm):
    class Meta:
        model = ShopLineChannel
        fields = (
            "login_channel_id",
            "login_channel_secret",
            "liff_id",
            "messaging_channel_id",
            "messaging_channel_secret",
            "messaging_access_token",
            "assertion_kid",
            "assertion_private_key",
        )
        widgets = {name: _secret_widget() for name in SECRET_FIELDS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            if name in self.fields:
                self.fields[name].required = False
                stored = getattr(self.instance, name, "") if self.instance.pk else ""
                if stored:
                    self.fields[name].help_text = _(
                        "Saved (ends in …%(tail)s). Leave empty to keep it; type a new one to "
                        "replace it."
                    ) % {"tail": stored[-4:]}

    def clean(self):
        cleaned = super().clean()
        # Write-only: an empty field keeps what is stored.
        for name in SECRET_FIELDS:
            if name in cleaned and not cleaned.get(name) and self.instance.pk:
                stored = (
                    type(self.instance)
                    .objects.filter(pk=self.instance.pk)
                    .values_list(name, flat=True)
                )
                cleaned[name] = stored.first() or ""
        return cleaned


@admin.register(ShopLineChannel)
class ShopLineChannelAdmin(ShopScopedAdmin, ModelAdmin):
    form = ShopLineChannelForm
    list_display = ("shop", "login_channel_id", "liff_id", "updated_at")
    search_fields = ("shop__name", "login_channel_id", "liff_id")
    change_form_after_template = "admin/shops/shoplinechannel/links.html"
    fieldsets = (
        (
            _("LINE Login (members sign in)"),
            {"fields": ("shop", "login_channel_id", "login_channel_secret", "liff_id")},
        ),
        (
            _("Messaging API (messages to members)"),
            {
                "fields": (
                    "messaging_channel_id",
                    "messaging_channel_secret",
                    "messaging_access_token",
                    "assertion_kid",
                    "assertion_private_key",
                )
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        if not super().has_add_permission(request):
            return False
        if is_platform_operator(request):
            return True
        shop = request_shop(request)
        return shop is not None and not ShopLineChannel.objects.filter(shop=shop).exists()

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # A shop has one row: open it (or the form to create it) instead of a one-row list.
        if not is_platform_operator(request) and request.user.shop_id:
            row = ShopLineChannel.objects.filter(shop_id=request.user.shop_id).first()
            if row is not None:
                return HttpResponseRedirect(
                    reverse("admin:shops_shoplinechannel_change", args=[row.pk])
                )
            if self.has_add_permission(request):
                return HttpResponseRedirect(reverse("admin:shops_shoplinechannel_add"))
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        obj = self.get_object(request, object_id) if object_id else None
        shop = obj.shop if obj is not None else request_shop(request)
        extra_context = dict(extra_context or {})
        if shop is not None:
            home = reverse("member:home", kwargs={"shop_slug": shop.slug})
            extra_context.update(
                {
                    "line_shop": shop,
                    "member_home_url": absolute_url(request, home),
                    "callback_url": absolute_url(
                        request, reverse("member:callback", kwargs={"shop_slug": shop.slug})
                    ),
                    "webhook_url": absolute_url(
                        request, reverse("line-webhook", kwargs={"shop_slug": shop.slug})
                    ),
                    "rich_menu_links": rich_menu_links(
                        shop,
                        base_url=absolute_url(request, "/"),
                        liff_id=obj.liff_id if obj is not None else "",
                    ),
                }
            )
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if not is_platform_operator(request):
            obj.shop = request.user.shop
        line_channel_save(channel=obj)
