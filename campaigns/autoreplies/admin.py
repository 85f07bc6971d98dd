"""The back office's "LINE chat" pages: keyword replies (in order, with how each one matches and
what each audience gets), the greeting and built-in keyword, and the texts friends typed most."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from PIL import Image
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display
from unfold.widgets import UnfoldAdminImageFieldWidget

from campaigns.autoreplies import messages as line_messages
from campaigns.autoreplies import rules
from campaigns.autoreplies.models import Greeting, KeywordRule, KeywordTierReply, TypedKeyword
from campaigns.autoreplies.services import reply_image_url, sample_reply
from loyalty.text import TypedTextForm
from members.notifications.texts import COMMON, check_text
from shops.tenancy import ReadOnlyAdminMixin, ShopScopedAdmin, ShopScopedMixin, request_shop

PREVIEW_CHARS = 40
TEXT_WIDGET = forms.Textarea(attrs={"rows": 3, "cols": 20, "style": "width:100%;max-width:42rem"})


def _checked(text: str) -> str:
    text = (text or "").strip()
    try:
        check_text("autoreply", text)  # the notices' common placeholders
    except ValidationError as exc:
        raise ValidationError(exc.messages, code=exc.code) from None
    return text


class PictureWidget(UnfoldAdminImageFieldWidget):
    """Choose a picture, always drawn as an empty chooser: the current picture is shown in
    "picture as LINE shows it", and unfold's row with the stored path and a clear box is wider
    than a 390 px phone. A text reply simply ignores the picture, so it needs no clearing."""

    def is_initial(self, value) -> bool:
        return False


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
            "kind",
            "image",
            "imagemap_areas",
            "start_time",
            "end_time",
            "start_date",
            "end_date",
        )
        widgets = {
            "keywords": TEXT_WIDGET,
            "reply_bound": TEXT_WIDGET,
            "reply_unbound": TEXT_WIDGET,
            "image": PictureWidget(attrs={"accept": "image/jpeg,image/png,image/webp"}),
            "imagemap_areas": forms.Textarea(
                attrs={
                    "rows": 3,
                    "cols": 20,
                    "style": "width:100%;max-width:42rem",
                    "placeholder": "0, 0, 520, 520, https://example.com/menu\n"
                    "520, 0, 520, 520, เมนู",
                }
            ),
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

    def _image_size(self, image) -> tuple[int, int] | None:
        """The picture's size: a new upload's, else the saved one's; None without a picture."""
        if not image:
            return None
        try:
            image.seek(0)
            with Image.open(image) as opened:
                return opened.size
        except (AttributeError, OSError, ValueError):
            try:
                return image.width, image.height
            except (OSError, ValueError):
                return None

    def clean(self):
        data = super().clean()
        if not data.get("is_default") and not rules.keywords_of(data.get("keywords") or ""):
            self.add_error(
                "keywords", _("Write at least one keyword, or make this the default reply.")
            )
        kind = data.get("kind")
        image = data.get("image")
        if kind in (KeywordRule.Kind.IMAGE, KeywordRule.Kind.IMAGEMAP) and not image:
            self.add_error("image", _("Choose a picture for this kind of reply."))
        if kind == KeywordRule.Kind.IMAGEMAP:
            size = self._image_size(image)
            raw = data.get("imagemap_areas") or ""
            if not rules.keywords_of(raw):  # no non-empty line
                self.add_error(
                    "imagemap_areas", _("Write at least one area for the tappable picture.")
                )
            else:
                height = line_messages.imagemap_height(*size) if size else None
                try:
                    line_messages.parse_areas(raw, base_height=height)
                except ValidationError as exc:
                    self.add_error("imagemap_areas", exc)
        elif kind == KeywordRule.Kind.TEXT and not (
            data.get("reply_bound") or data.get("reply_unbound")
        ):
            self.add_error(
                "reply_unbound", _("Write a reply for members, for other friends, or both.")
            )
        return data

    def save(self, commit=True):
        # A new picture gets a new public key: LINE caches pictures by their URL.
        if "image" in self.changed_data and self.instance.pk:
            self.instance.image_key = uuid.uuid4()
        return super().save(commit)


class KeywordTierReplyForm(TypedTextForm, forms.ModelForm):
    class Meta:
        model = KeywordTierReply
        fields = ("tier", "text")
        widgets = {"text": TEXT_WIDGET}

    def clean_text(self) -> str:
        return _checked(self.cleaned_data.get("text"))


class KeywordTierReplyInline(ShopScopedMixin, TabularInline):
    model = KeywordTierReply
    form = KeywordTierReplyForm
    extra = 0
    verbose_name = _("reply for a tier")
    verbose_name_plural = _("replies for a tier (they win over the reply to members for that tier)")

    def get_queryset(self, request):
        # The replies have no shop column: scope them through their rule.
        queryset = KeywordTierReply.objects.select_related("tier")
        shop = request_shop(request)
        return queryset if shop is None else queryset.filter(rule__shop=shop)


@admin.register(KeywordRule)
class KeywordRuleAdmin(ShopScopedAdmin, ModelAdmin):
    form = KeywordRuleForm
    list_display = (
        "position",
        "name",
        "matching",
        "reply_preview",
        "kind_shown",
        "active",
        "sent_count",
        "last_sent_at",
    )
    list_display_links = ("name",)
    list_editable = ("position", "active")
    list_filter = ("active", "match", "kind")
    search_fields = ("name", "keywords")
    readonly_fields = ("matching", "preview", "picture", "sent_count", "last_sent_at")
    inlines = [KeywordTierReplyInline]

    @display(description=_("reply kind"))
    def kind_shown(self, obj: KeywordRule):
        return format_html(
            '<span data-testid="kind" data-kind="{}">{}</span>', obj.kind, obj.get_kind_display()
        )

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

    @display(description=_("picture as LINE shows it"))
    def picture(self, obj: KeywordRule):
        if obj is None or not obj.pk or not obj.image or obj.kind == KeywordRule.Kind.TEXT:
            return "-"
        return format_html(
            '<img src="{}" alt="" data-testid="picture" style="max-width:240px;height:auto">',
            reply_image_url(obj, line_messages.PREVIEW_SIDE),
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
            "coupons_keyword",
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
    list_display = ("__str__", "points_keyword", "coupons_keyword", "link_keyword")

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
