"""Tenant scoping for the admin: nothing of one shop is visible or changeable from another.

Every ModelAdmin of a shop-owned model inherits ``ShopScopedAdmin``. It scopes the changelist, the
change form (another shop's id is a "does not exist"), every foreign-key and many-to-many choice, the
autocomplete results (Django's autocomplete view asks the target admin's ``get_queryset``), actions
(they receive the scoped queryset) and exports (they start from ``get_queryset`` too).

Every shop-owned model carries a direct ``shop`` foreign key, so one rule scopes them all.
``tests/shops/test_admin_isolation.py`` walks every registered admin model to prove it.

``ShopSettingsAdmin`` is the base of every admin of a shop's settings rows (any app's): it saves
through ``shops.services.shop_row_save`` so per-shop limits hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.db import models
from django.http import HttpRequest, HttpResponseRedirect
from unfold.admin import ModelAdmin
from unfold.widgets import UnfoldAdminColorInputWidget

from loyalty.admin_dates import PeopleDatesAdminMixin
from loyalty.errors import ApplicationError
from loyalty.text import TypedTextForm
from shops import services
from shops.images import SafeImageField

if TYPE_CHECKING:
    from shops.models import Shop


def request_shop(request: HttpRequest) -> Shop | None:
    """The shop the signed-in user works for (None for platform operators and anonymous users)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return user.shop if user.shop_id else None


def is_platform_operator(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def shop_field_of(model: type[models.Model]) -> models.Field | None:
    """The model's ``shop`` foreign key, or None when the model is not shop-owned."""
    from shops.models import Shop

    try:
        field = model._meta.get_field("shop")
    except Exception:
        return None
    if getattr(field, "related_model", None) is Shop:
        return field
    return None


def scope_queryset(queryset: models.QuerySet, shop: Shop | None) -> models.QuerySet:
    """Restrict ``queryset`` to rows of ``shop``; rows of unscoped models are hidden entirely."""
    from shops.models import Shop

    model = queryset.model
    if shop is None:
        return queryset.none()
    if model is Shop:
        return queryset.filter(pk=shop.pk)
    if shop_field_of(model) is not None:
        return queryset.filter(shop=shop)
    return queryset.none()


class ShopRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-field filter that offers only the user's own shop's choices (Django's default
    lists every tier, tag and branch in the database, which would show other shops' names)."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        limit = None
        if not is_platform_operator(request):
            shop = request_shop(request)
            related = field.remote_field.model
            if related.__name__ == "Shop":
                limit = {"pk": shop.pk if shop else None}
            elif shop_field_of(related) is not None:
                limit = {"shop": shop}
            else:
                return []
        return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to=limit)


class ShopScopedForm(TypedTextForm):
    """Mixin for admin model forms: puts the shop on the instance before validation so that the
    per-shop unique constraints are checked with a clear message instead of failing at save; and
    every text field refuses the characters ``loyalty.text`` refuses."""

    scoped_shop: Shop | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if (
            self.scoped_shop is not None
            and shop_field_of(type(self.instance)) is not None
            and self.instance.shop_id is None
        ):
            self.instance.shop = self.scoped_shop

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        if self.scoped_shop is not None:
            exclude.discard("shop")
        return exclude


class ShopScopedMixin:
    """Scoping shared by model admins and inlines."""

    formfield_overrides = {models.ImageField: {"form_class": SafeImageField}}

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request)
        if is_platform_operator(request):
            return queryset
        user = request.user
        if not (user.is_authenticated and user.is_shop_admin):
            return queryset.none()
        return scope_queryset(queryset, user.shop)

    def _scope_choices(self, db_field, request: HttpRequest, kwargs: dict) -> None:
        if is_platform_operator(request):
            return
        base = kwargs.get("queryset")
        if base is None:
            base = db_field.remote_field.model._default_manager.all()
        kwargs["queryset"] = scope_queryset(base, request_shop(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._scope_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._scope_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_formset(self, request: HttpRequest, obj=None, **kwargs):
        # Inlines: their forms refuse what typed text may not contain, as the admin's own form.
        form = kwargs.get("form", self.form)
        if not issubclass(form, TypedTextForm):
            kwargs["form"] = type(form.__name__, (TypedTextForm, form), {})
        return super().get_formset(request, obj, **kwargs)

    def get_exclude(self, request: HttpRequest, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not is_platform_operator(request) and shop_field_of(self.model) is not None:
            exclude.append("shop")
        return exclude

    def get_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_fields(request, obj))
        if not is_platform_operator(request) and "shop" in fields:
            fields.remove("shop")
        return fields

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if is_platform_operator(request):
            return fieldsets
        cleaned = []
        for name, options in fieldsets:
            fields = [f for f in options.get("fields", ()) if f != "shop"]
            cleaned.append((name, {**options, "fields": fields}))
        return cleaned


class ShopScopedAdmin(PeopleDatesAdminMixin, ShopScopedMixin):
    """Base for every ModelAdmin of a shop-owned model (combine with unfold's ModelAdmin). Its
    date columns show Buddhist Era years in Thai (``loyalty.admin_dates``)."""

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        shop = None if is_platform_operator(request) else request_shop(request)
        return type(form.__name__, (ShopScopedForm, form), {"scoped_shop": shop})

    def get_list_filter(self, request: HttpRequest):
        filters = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and get_fields_from_path(self.model, item)[-1].is_relation:
                item = (item, ShopRelatedFieldListFilter)
            filters.append(item)
        if is_platform_operator(request) and shop_field_of(self.model) is not None:
            filters.insert(0, "shop")
        return filters

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        if not is_platform_operator(request) and shop_field_of(type(obj)) is not None:
            obj.shop = request.user.shop
        super().save_model(request, obj, form, change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A service may refuse under its lock what the form allowed (two owners adding the 5th
        # tier at the same moment). The transaction is rolled back; say why instead of a 500.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


COLOUR_FIELDS = ("primary_colour", "accent_colour", "card_text_colour", "colour")


class ColourWidgetsMixin:
    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in COLOUR_FIELDS:
            kwargs["widget"] = UnfoldAdminColorInputWidget
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ShopSettingsAdmin(ColourWidgetsMixin, ShopScopedAdmin, ModelAdmin):
    """Settings rows: saved through ``shop_row_save`` so per-shop limits hold under concurrency."""

    def save_model(self, request, obj, form, change):
        if not is_platform_operator(request):
            obj.shop = request.user.shop
        services.shop_row_save(row=obj, actor=request.user)


class ReadOnlyAdminMixin:
    """A window onto the data (the ledger, redemptions, coupons): nothing is added, changed or
    deleted in the admin; changes go through a service (an adjustment, a cancellation)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
