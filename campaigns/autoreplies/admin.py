"""The back office's "LINE chat" pages: keyword replies (in order, with how each one matches and
what each audience gets), the greeting and built-in keyword, and the texts friends typed most."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from campaigns.autoreplies import rules
from campaigns.autoreplies.models import Greeting, KeywordRule, TypedKeyword
from campaigns.autoreplies.services import sample_reply
from loyalty.text import TypedTextForm
from members.notifications.texts import COMMON, check_text
from shops.tenancy import ReadOnlyAdminMixin, ShopScopedAdmin, request_shop

PREVIEW_CHARS = 40
TEXT_WIDGET = forms.Textarea(attrs={"rows": 3, "cols": 20, "style": "width:100%;max-width:42rem"})


def _checked(text: str) -> str:
    text = (text or "").strip()
    try:
        check_text("autoreply", text)  # the notices' common placeholders
    except ValidationError as exc:
        raise ValidationError(exc.messages, code=exc.code) from None
    return text


class KeywordRuleForm(TypedTextForm, forms.ModelForm):
    class Meta:
        model = KeywordRule
        fields = (
            "name",
            "match",
            "keywords",
            "position",
            "active",
            "is_default",
            "reply_bound",
            "reply_unbound",
            "start_time",
            "end_time",
            "start_date",
            "end_date",
        )
        widgets = {
            "keywords": TEXT_WIDGET,
            "reply_bound": TEXT_WIDGET,
            "reply_unbound": TEXT_WIDGET,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = ", ".join("{" + p + "}" for p in COMMON if p != "points")
        for name in ("reply_bound", "reply_unbound"):
            self.fields[name].help_text = f"{self.fields[name].help_text} " + _(
                "Placeholders: %(names)s."
            ) % {"names": names}

    def clean_reply_bound(self) -> str:
        return _checked(self.cleaned_data.get("reply_bound"))

    def clean_reply_unbound(self) -> str:
        return _checked(self.cleaned_data.get("reply_unbound"))

    def clean(self):
        data = super().clean()
        if not data.get("is_default") and not rules.keywords_of(data.get("keywords") or ""):
            self.add_error(
                "keywords", _("Write at least one keyword, or make this the default reply.")
            )
        return data


@admin.register(KeywordRule)
class KeywordRuleAdmin(ShopScopedAdmin, ModelAdmin):
    form = KeywordRuleForm
    list_display = (
        "position",
        "name",
        "matching",
        "reply_preview",
        "active",
        "sent_count",
        "last_sent_at",
    )
    list_display_links = ("name",)
    list_editable = ("position", "active")
    list_filter = ("active", "match")
    search_fields = ("name", "keywords")
    readonly_fields = ("matching", "preview", "sent_count", "last_sent_at")
    ordering = ("position", "pk")

    @display(description=_("matches"))
    def matching(self, obj: KeywordRule):
        if obj.is_default:
            return _("any text no other rule matched")
        keywords = rules.keywords_of(obj.keywords)
        return format_html(
            '<span data-testid="matching">{} {}</span>',
            obj.get_match_display(),
            format_html_join(_(" or "), "“{}”", ((kw,) for kw in keywords)),
        )

    @display(description=_("preview with a sample member"))
    def preview(self, obj: KeywordRule):
        if obj is None or not obj.pk:
            return ""
        language = "en" if obj.shop.language == "en" else "th"
        return format_html_join(
            "",
            '<p class="mb-2"><strong>{}</strong><br><span data-testid="preview-{}">{}</span></p>',
            (
                (label, audience, sample_reply(obj.shop, text, language, bound=bound))
                for label, audience, text, bound in (
                    (_("members"), "bound", obj.reply_bound, True),
                    (_("other friends"), "unbound", obj.reply_unbound, False),
                )
                if text
            ),
        )

    @display(description=_("reply"))
    def reply_preview(self, obj: KeywordRule):
        text = obj.reply_bound or obj.reply_unbound
        return format_html(
            '<span title="{}">{}</span>',
            text,
            Truncator(text.split("\n", 1)[0]).chars(PREVIEW_CHARS),
        )


class GreetingForm(TypedTextForm, forms.ModelForm):
    class Meta:
        model = Greeting
        fields = (
            "new_unbound",
            "new_bound",
            "returning_unbound",
            "returning_bound",
            "points_keyword",
            "link_keyword",
        )
        widgets = dict.fromkeys(fields[:4], TEXT_WIDGET)

    def clean(self):
        data = super().clean()
        for name in self.Meta.fields[:4]:
            if name in data:
                try:
                    data[name] = _checked(data[name])
                except ValidationError as exc:
                    self.add_error(name, exc)
        return data


@admin.register(Greeting)
class GreetingAdmin(ShopScopedAdmin, ModelAdmin):
    form = GreetingForm
    list_display = ("__str__", "points_keyword", "link_keyword")

    def has_add_permission(self, request: HttpRequest) -> bool:
        shop = request_shop(request)
        if shop is not None and Greeting.objects.filter(shop=shop).exists():
            return False
        return super().has_add_permission(request)


class MatchedFilter(admin.SimpleListFilter):
    title = _("matched")
    parameter_name = "matched"

    def lookups(self, request, model_admin):
        return (("yes", _("matched a rule")), ("no", _("no rule matched")))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(rule__isnull=self.value() == "no")
        return queryset


@admin.register(TypedKeyword)
class TypedKeywordAdmin(ReadOnlyAdminMixin, ShopScopedAdmin, ModelAdmin):
    list_display = ("text", "count", "rule", "last_seen_at")
    list_filter = (MatchedFilter,)
    list_select_related = ("rule",)
    search_fields = ("text",)
    ordering = ("-count", "text")
