"""The shop's LINE notifications in the back office ("Shop setup" → "LINE notifications"): each
kind on or off, its Thai and English texts, and a preview with a sample member.

Every kind has a row per shop (made when the page is first opened, ``notification_settings_ensure``)
so the list always shows all of them; rows are never added or deleted by hand. Saving goes through
``notification_setting_save``, which checks the placeholders and drops the cached settings.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from loyalty.text import TypedTextForm
from members.notifications.models import ESSENTIAL_KINDS, NoticeKind, NotificationSetting
from members.notifications.rendering import notice_preview
from members.notifications.services import notification_setting_save, notification_settings_ensure
from members.notifications.texts import PLACEHOLDERS, check_text, default_text
from shops.tenancy import ShopScopedAdmin, is_platform_operator, request_shop

# A list row's preview: what one line of a 360-px phone's card holds.
LIST_PREVIEW_CHARS = 40


class NotificationSettingForm(TypedTextForm, forms.ModelForm):
    class Meta:
        model = NotificationSetting
        fields = ("enabled", "text_th", "text_en", "days_before")
        widgets = {
            "text_th": forms.Textarea(attrs={"rows": 4}),
            "text_en": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kind = self.instance.kind
        # The default text is shown (and kept) until the shop writes its own. (Rows are made per
        # kind by ``notification_settings_ensure``; a form without a kind has nothing to show.)
        for name, language in (("text_th", "th"), ("text_en", "en")):
            if name in self.fields and kind in PLACEHOLDERS:
                self.fields[name].required = False
                # As wide as the column allows, also on a phone (a fixed 40 columns is not).
                self.fields[name].widget.attrs.update(
                    {"rows": 4, "cols": 20, "style": "width:100%;max-width:42rem"}
                )
                if not getattr(self.instance, name):
                    self.initial[name] = default_text(kind, language)
                self.fields[name].help_text = _(
                    "Placeholders: %(names)s. Empty = the default text."
                ) % {"names": ", ".join("{" + p + "}" for p in PLACEHOLDERS[kind])}
        if kind != NoticeKind.EXPIRING and "days_before" in self.fields:
            del self.fields["days_before"]

    def _clean_text(self, name: str) -> str:
        text = (self.cleaned_data.get(name) or "").strip()
        try:
            check_text(self.instance.kind, text)
        except ValidationError as exc:
            raise ValidationError(exc.messages, code=exc.code) from None
        return text

    def clean_text_th(self) -> str:
        return self._clean_text("text_th")

    def clean_text_en(self) -> str:
        return self._clean_text("text_en")


@admin.register(NotificationSetting)
class NotificationSettingAdmin(ShopScopedAdmin, ModelAdmin):
    form = NotificationSettingForm
    list_display = ("kind_label", "enabled", "essential", "preview_th", "preview_en")
    list_display_links = ("kind_label",)
    list_filter = ("enabled",)
    list_select_related = ("shop",)
    readonly_fields = ("kind_label", "essential", "preview")
    ordering = ("kind",)

    def get_fields(self, request: HttpRequest, obj=None):
        fields = ["kind_label", "essential", "enabled", "text_th", "text_en"]
        if obj is not None and obj.kind == NoticeKind.EXPIRING:
            fields.append("days_before")
        fields.append("preview")
        if is_platform_operator(request):
            fields.insert(0, "shop")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "shop"] if is_platform_operator(request) else readonly

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        shop = request_shop(request)
        if shop is not None and self.has_view_or_change_permission(request):
            notification_settings_ensure(shop=shop)
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        notification_setting_save(
            shop=obj.shop,
            kind=obj.kind,
            enabled=form.cleaned_data["enabled"],
            text_th=form.cleaned_data.get("text_th", ""),
            text_en=form.cleaned_data.get("text_en", ""),
            days_before=form.cleaned_data.get("days_before") or obj.days_before,
        )

    @display(description=_("notice"), ordering="kind")
    def kind_label(self, obj: NotificationSetting) -> str:
        return NoticeKind(obj.kind).label

    @display(description=_("sent to members who turned news off"), boolean=True)
    def essential(self, obj: NotificationSetting) -> bool:
        return obj.kind in ESSENTIAL_KINDS

    def _preview(self, obj: NotificationSetting, language: str) -> str:
        text = getattr(obj, f"text_{language}") or default_text(obj.kind, language)
        return notice_preview(obj.shop, obj.kind, text, language)

    @display(description=_("Thai"))
    def preview_th(self, obj: NotificationSetting):
        return _message_line(self._preview(obj, "th"), "th")

    @display(description=_("English"))
    def preview_en(self, obj: NotificationSetting):
        return _message_line(self._preview(obj, "en"), "en")

    @display(description=_("preview with a sample member"))
    def preview(self, obj: NotificationSetting):
        if obj is None or not obj.pk:
            return ""
        return format_html_join(
            "",
            '<p class="mb-2"><strong>{}</strong><br>{}</p>',
            (
                (_("Thai"), _message_html(self._preview(obj, "th"), "th")),
                (_("English"), _message_html(self._preview(obj, "en"), "en")),
            ),
        )


def _message_line(text: str, language: str):
    """The list's preview: the message's first line, cut to fit one line of a phone's card (the
    whole message is its tooltip and on the notice's own page)."""
    first = text.split("\n", 1)[0]
    return format_html(
        '<span lang="{}" title="{}" data-testid="list-preview-{}">{}</span>',
        language,
        text,
        language,
        Truncator(first).chars(LIST_PREVIEW_CHARS),
    )


def _message_html(text: str, language: str):
    """A LINE text as the member's chat shows it: its line breaks kept, a long link wrapped."""
    lines = format_html_join(mark_safe("<br>"), "{}", ((line,) for line in text.split("\n")))
    return format_html(
        '<span lang="{}" data-testid="preview-{}" style="overflow-wrap:anywhere">{}</span>',
        language,
        language,
        lines,
    )
