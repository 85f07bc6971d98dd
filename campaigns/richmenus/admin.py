"""The back office's rich menus: the list with each menu's sync state and how many LINE users are
linked to it, the editor (picture, layout, audience, one action per area, a preview of the picture
with its areas drawn), and the actions "Publish to LINE" and "Re-sync all members" (both safe to
repeat: a publish replaces the LINE menu, a re-sync links everyone again)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from campaigns.richmenus import selectors, services
from campaigns.richmenus.layout import (
    CUSTOM,
    LAYOUT_GRIDS,
    MAX_AREAS,
    Rect,
    area_rects,
    custom_rect_errors,
)
from campaigns.richmenus.models import RichMenu, RichMenuArea
from loyalty.errors import ApplicationError
from loyalty.text import TypedTextForm
from shops.images import SafeImageField
from shops.tenancy import ShopScopedAdmin, ShopScopedMixin, request_shop

SYNC_BADGES = {
    RichMenu.SyncState.DRAFT: "secondary",
    RichMenu.SyncState.PUBLISHED: "success",
    RichMenu.SyncState.FAILED: "danger",
}


class RichMenuAreaForm(TypedTextForm, forms.ModelForm):
    class Meta:
        model = RichMenuArea
        fields = ("index", "action", "value", "x", "y", "width", "height", "tags")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("tags") and cleaned.get("action") not in RichMenuArea.TAGGABLE:
            self.add_error(
                "tags",
                _(
                    "Action tags work on member pages, web addresses and postbacks: a message "
                    "is typed by the member and never reaches us as a tap."
                ),
            )
        return cleaned


class RichMenuAreaFormSet(BaseInlineFormSet):
    """The areas of one menu. With the custom layout every area needs its rectangle, inside the
    picture and not overlapping another (``layout.custom_rect_errors``)."""

    def clean(self):
        super().clean()
        menu = self.instance
        if menu.layout != CUSTOM or any(form.errors for form in self.forms):
            return
        size = _picture_size(menu)
        if size is None:
            return  # the picture's own error is on the menu's form
        areas = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not (form.has_changed() or form.instance.pk):
                continue
            numbers = [data.get(name) for name in ("x", "y", "width", "height")]
            rect = None if None in numbers else Rect(*numbers)
            areas.append((data.get("index"), rect))
        errors = custom_rect_errors(
            sorted(areas, key=lambda a: a[0] or 0), width=size[0], height=size[1]
        )
        if errors:
            raise forms.ValidationError(errors)


def _picture_size(menu: RichMenu) -> tuple[int, int] | None:
    if not menu.image:
        return None
    try:
        return menu.image.width, menu.image.height
    except (OSError, ValueError, TypeError):
        return None


class RichMenuAreaInline(ShopScopedMixin, TabularInline):
    model = RichMenuArea
    form = RichMenuAreaForm
    formset = RichMenuAreaFormSet
    fields = ("index", "action", "value", "x", "y", "width", "height", "tags", "tap_count")
    readonly_fields = ("tap_count",)
    max_num = MAX_AREAS

    def get_extra(self, request, obj=None, **kwargs):
        # A new menu gets a row for each area of the largest grid; unused rows are left blank.
        return 0 if obj else 6

    def get_queryset(self, request):
        # The parent menu is already scoped; list its areas.
        return RichMenuArea.objects.prefetch_related("tags")


@admin.register(RichMenu)
class RichMenuAdmin(ShopScopedAdmin, ModelAdmin):
    list_display = (
        "name",
        "audience_display",
        "priority",
        "alias_id",
        "sync_display",
        "linked_count",
        "published_at",
    )
    list_filter = ("audience", "sync_state")
    search_fields = ("name",)
    inlines = [RichMenuAreaInline]
    actions = ["publish_menus", "resync_all"]
    actions_detail = ["publish_menu"]
    readonly_fields = (
        "preview",
        "sync_state",
        "line_error",
        "line_rich_menu_id",
        "line_alias_id",
        "published_at",
    )
    formfield_overrides = {
        # Re-encoded like every upload, at LINE's largest width so the size is kept.
        models.ImageField: {"form_class": SafeImageField, "max_side": 2500}
    }
    fieldsets = (
        (
            _("Rich menu"),
            {
                "fields": (
                    "shop",
                    "name",
                    "chat_bar_text",
                    "image",
                    "layout",
                    "audience",
                    "tier",
                    "tag",
                    "priority",
                    "alias_id",
                    "preview",
                )
            },
        ),
        (
            _("At LINE"),
            {
                "fields": (
                    "sync_state",
                    "line_error",
                    "line_rich_menu_id",
                    "line_alias_id",
                    "published_at",
                )
            },
        ),
    )

    def get_queryset(self, request):
        return selectors.rich_menus_for_list(super().get_queryset(request))

    class Media:
        css = {"all": ["css/richmenu-editor.css"]}
        js = ["js/richmenu-editor.js"]

    def save_formset(self, request, form, formset, change):
        custom = form.instance.layout == CUSTOM
        for area in formset.save(commit=False):
            area.shop_id = form.instance.shop_id
            if not custom:
                # Grid layouts cut the picture evenly: the rectangles are the custom layout's.
                area.x = area.y = area.width = area.height = None
            area.save()
        formset.save_m2m()
        for area in formset.deleted_objects:
            area.delete()

    def delete_model(self, request, obj):
        try:
            services.rich_menu_delete(menu_id=obj.pk)
        except ApplicationError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def delete_queryset(self, request, queryset):
        for menu in queryset:
            self.delete_model(request, menu)

    @display(description=_("audience"))
    def audience_display(self, obj: RichMenu):
        if obj.audience == RichMenu.Audience.TIER and obj.tier_id:
            return f"{obj.get_audience_display()}: {obj.tier.name}"
        if obj.audience == RichMenu.Audience.TAG and obj.tag_id:
            return f"{obj.get_audience_display()}: {obj.tag.name}"
        return obj.get_audience_display()

    @display(description=_("sync state"), label=SYNC_BADGES)
    def sync_display(self, obj: RichMenu):
        return obj.sync_state, obj.get_sync_state_display()

    @display(description=_("linked members"), ordering="linked_count")
    def linked_count(self, obj: RichMenu) -> int:
        return obj.linked_count

    @display(description=_("preview"))
    def preview(self, obj: RichMenu):
        """The picture with its areas drawn and numbered. ``js/richmenu-editor.js`` redraws it
        live from the form (the picture picked, the layout, the rectangles and actions, before
        saving); this server-side drawing of the saved menu is what shows without scripts."""
        labels = {value: str(label) for value, label in RichMenuArea.Action.choices}
        live = format_html(
            '<div class="rm-live" data-rich-menu-live data-grids="{}" data-custom="{}" '
            'data-labels="{}" data-image-url="{}" data-empty="{}" hidden></div>',
            json.dumps({str(n): grid for n, grid in LAYOUT_GRIDS.items()}),
            CUSTOM,
            json.dumps(labels, ensure_ascii=False),
            obj.image.url if obj and obj.pk and obj.image else "",
            _("Pick a picture to see it here with its areas."),
        )
        if not (obj and obj.pk and obj.image):
            return format_html(
                '{}<p class="rm-fallback">{}</p>',
                live,
                _("Save the menu with its picture to see it here with its areas."),
            )
        width, height = obj.image.width, obj.image.height
        areas = list(obj.areas.all())
        labels = {area.index: area.get_action_display() for area in areas}
        if obj.layout == CUSTOM:
            numbered = [(area.index, area.rect) for area in areas if area.rect is not None]
        else:
            numbered = list(
                enumerate(area_rects(width=width, height=height, areas=obj.layout), start=1)
            )
        shapes = format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="rgba(37,99,235,0.12)" '
            'stroke="#2563eb" stroke-width="{}"/><text x="{}" y="{}" font-size="{}" '
            'fill="#1e3a8a" text-anchor="middle" font-family="sans-serif">{}</text>',
            (
                (
                    r.x,
                    r.y,
                    r.width,
                    r.height,
                    max(width // 250, 2),
                    r.x + r.width // 2,
                    r.y + r.height // 2,
                    max(height // 14, 16),
                    f"{i}. {labels.get(i, '—')}",
                )
                for i, r in numbered
            ),
        )
        return format_html(
            '{}<svg class="rm-fallback" data-rich-menu-preview viewBox="0 0 {} {}" width="100%" '
            'style="max-width:640px;height:auto" role="img" aria-label="{}">'
            '<image href="{}" width="{}" height="{}"/>{}</svg>',
            live,
            width,
            height,
            obj.name,
            obj.image.url,
            width,
            height,
            shapes,
        )

    def _publish(self, request, menus) -> None:
        for menu in menus:
            try:
                services.rich_menu_publish(menu_id=menu.pk)
            except ApplicationError as exc:
                self.message_user(
                    request,
                    _("%(menu)s was not published: %(error)s") % {"menu": menu, "error": exc},
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request, _("%(menu)s is published at LINE.") % {"menu": menu}, messages.SUCCESS
                )

    @admin.action(description=_("Publish to LINE"))
    def publish_menus(self, request, queryset):
        self._publish(request, queryset)

    @action(description=_("Publish to LINE"), url_path="publish", icon="publish")
    def publish_menu(self, request, object_id):
        menu = self.get_object(request, object_id)
        if menu is None:
            raise Http404
        if request.method == "POST":
            self._publish(request, [menu])
        return HttpResponseRedirect(reverse("admin:campaigns_richmenu_change", args=[menu.pk]))

    @admin.action(description=_("Re-sync all members' menus"))
    def resync_all(self, request, queryset):
        shop = request_shop(request)
        shop_ids = [shop.pk] if shop else sorted({menu.shop_id for menu in queryset})
        for shop_id in shop_ids:
            try:
                result = services.rich_menus_resync(shop_id=shop_id)
            except ApplicationError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _(
                        "Menus re-synced: %(linked)s users on a menu of their own, "
                        "%(unlinked)s on the default menu."
                    )
                    % {"linked": result.linked, "unlinked": result.unlinked},
                    messages.SUCCESS,
                )
