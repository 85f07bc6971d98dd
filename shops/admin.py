"""Back office for shop setup: profile and policies, branches, tiers, tags, card backgrounds,
terms and privacy documents, staff accounts. Every class here is scoped by ``ShopScopedAdmin``."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from unfold.widgets import (
    UnfoldAdminPasswordWidget,
    UnfoldBooleanWidget,
)

from loyalty.text import TypedTextForm
from shops import services
from shops.models import (
    Branch,
    ContactChannel,
    PolicyDocument,
    SeasonalBackground,
    Shop,
    Tag,
    Tier,
    User,
)
from shops.tenancy import (
    ColourWidgetsMixin,
    ShopScopedAdmin,
    ShopScopedMixin,
    ShopSettingsAdmin,
    is_platform_operator,
)

admin.site.unregister(Group)


class ContactChannelFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        from django.conf import settings

        kept = [
            f
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("kind")
        ]
        limit = settings.LOYALTY_MAX_CONTACT_CHANNELS
        if len(kept) > limit:
            raise ValidationError(
                _("A shop can list at most %(limit)s contact channels."), params={"limit": limit}
            )


class ContactChannelInline(ShopScopedMixin, TabularInline):
    model = ContactChannel
    formset = ContactChannelFormSet
    extra = 0
    fields = ("kind", "value", "order")
    verbose_name = _("contact channel")
    verbose_name_plural = _("contact channels")
    tab = True

    def get_max_num(self, request, obj=None, **kwargs):
        from django.conf import settings

        return settings.LOYALTY_MAX_CONTACT_CHANNELS

    def get_queryset(self, request):
        # The parent shop is already scoped; list its channels.
        return ContactChannel.objects.all()


@admin.register(Shop)
class ShopAdmin(ColourWidgetsMixin, ShopScopedAdmin, ModelAdmin):
    list_display = ("name", "slug", "line_oa_basic_id", "is_active", "created_at")
    search_fields = ("name", "slug", "line_oa_basic_id")
    inlines = [ContactChannelInline]
    readonly_fields = ("logo_preview",)
    fieldsets = (
        (
            _("Shop profile"),
            {
                "classes": ["tab"],
                "fields": (
                    "name",
                    "slug",
                    "line_oa_basic_id",
                    "description",
                    "logo",
                    "logo_preview",
                    "is_active",
                ),
            },
        ),
        (
            _("Points"),
            {
                "classes": ["tab"],
                "fields": (
                    "thb_per_point",
                    "min_spend",
                    "welcome_points",
                    "expiry_mode",
                    "expiry_months",
                    "pending_days",
                    "coupon_validity_days",
                    "max_points_per_entry",
                    "cashier_amount_limit",
                ),
            },
        ),
        (
            _("Tiers"),
            {"classes": ["tab"], "fields": ("tiers_enabled", "tier_window", "tier_cycle")},
        ),
        (
            _("Theme"),
            {
                "classes": ["tab"],
                "fields": (
                    "primary_colour",
                    "accent_colour",
                    "card_text_colour",
                    "card_background",
                    "use_buddhist_era",
                    "language",
                ),
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not is_platform_operator(request):
            # Member links carry the slug; only the platform operator may change it.
            fields += ["slug", "is_active"]
        return fields

    @display(description=_("logo preview"))
    def logo_preview(self, obj: Shop):
        image = obj.logo_thumbnail or obj.logo
        if not image:
            return "—"
        return format_html('<img src="{}" alt="" style="max-height:96px">', image.url)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # An owner has exactly one shop: open its settings instead of a one-row list.
        if not is_platform_operator(request) and request.user.shop_id:
            return HttpResponseRedirect(
                reverse("admin:shops_shop_change", args=[request.user.shop_id])
            )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        services.shop_save(shop=obj, changed=form.changed_data)

    def save_formset(self, request, form, formset, change):
        if formset.model is ContactChannel:
            # Through the service, so the channel limit is checked again under the shop's lock.
            changed = formset.save(commit=False)
            services.contact_channels_set(
                shop=form.instance,
                save=changed,
                delete=formset.deleted_objects,
                actor=request.user,
            )
            return
        formset.save()


@admin.register(Branch)
class BranchAdmin(ShopSettingsAdmin):
    list_display = ("name", "code", "phone", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "code", "address")
    fields = ("shop", "name", "code", "address", "phone", "is_active")
    ordering = ("name",)


@admin.register(Tier)
class TierAdmin(ShopSettingsAdmin):
    list_display = ("name", "threshold", "earn_multiplier", "colour_swatch")
    search_fields = ("name",)
    fields = (
        "shop",
        "name",
        "threshold",
        "earn_multiplier",
        "benefits",
        "colour",
        "card_background",
    )
    ordering = ("threshold",)

    @display(description=_("colour"))
    def colour_swatch(self, obj: Tier):
        return format_html(
            '<span style="display:inline-block;width:1.5rem;height:1rem;border-radius:.25rem;'
            'background:{}"></span>',
            obj.colour,
        )


@admin.register(Tag)
class TagAdmin(ShopSettingsAdmin):
    list_display = ("name", "colour")
    search_fields = ("name",)
    fields = ("shop", "name", "colour")


@admin.register(SeasonalBackground)
class SeasonalBackgroundAdmin(ShopSettingsAdmin):
    list_display = ("name", "starts_on", "ends_on")
    fields = ("shop", "name", "image", "starts_on", "ends_on")
    date_hierarchy = "starts_on"


@admin.register(PolicyDocument)
class PolicyDocumentAdmin(ShopScopedAdmin, ModelAdmin):
    """Documents are published, never edited: "add" publishes the next version."""

    list_display = ("kind", "version", "title", "published_at", "published_by")
    list_filter = ("kind",)
    search_fields = ("title", "body")
    fields = ("shop", "kind", "title", "body")
    readonly_fields = ("version", "published_at", "published_by")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Members' consents point at these versions; keeping them is the point.
        return False

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is not None:
            fields += ["version", "published_at", "published_by"]
        return fields

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        kind = initial.get("kind") or request.GET.get("kind")
        shop = request.user.shop if request.user.shop_id else None
        if kind and shop:
            current = services.current_document(shop=shop, kind=kind)
            if current:
                initial.setdefault("title", current.title)
                initial.setdefault("body", current.body)
        return initial

    def save_model(self, request, obj, form, change):
        shop = obj.shop if is_platform_operator(request) else request.user.shop
        published = services.policy_document_publish(
            shop=shop, kind=obj.kind, title=obj.title, body=obj.body, actor=request.user
        )
        obj.pk = published.pk
        obj.version = published.version


class ShopUserCreationForm(TypedTextForm, UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username",)


class ShopUserChangeForm(TypedTextForm, UserChangeForm):
    """Django's user form plus the approval PIN: typed here, stored hashed, never shown."""

    new_approval_pin = forms.CharField(
        label=_("new approval PIN"),
        required=False,
        strip=True,
        min_length=6,
        max_length=8,
        widget=UnfoldAdminPasswordWidget(
            render_value=False, attrs={"autocomplete": "new-password", "inputmode": "numeric"}
        ),
        validators=[RegexValidator(r"^\d+$", _("Use digits only."))],
        help_text=_(
            "6 to 8 digits. A manager or owner types it (or their password) on a cashier's phone "
            "to approve a purchase above the shop's cashier amount limit. Never used to sign in."
        ),
    )
    clear_approval_pin = forms.BooleanField(
        label=_("remove the approval PIN"), required=False, widget=UnfoldBooleanWidget
    )

    class Meta(UserChangeForm.Meta):
        model = User

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        has_pin = bool(self.instance and self.instance.approval_pin)
        self.fields["new_approval_pin"].help_text = (
            (_("A PIN is set; type a new one to change it.") if has_pin else _("No PIN yet."))
            + " "
            + str(self.fields["new_approval_pin"].help_text)
        )

    def save(self, commit=True):
        user = super().save(commit=False)
        if self.cleaned_data.get("clear_approval_pin"):
            user.set_approval_pin(None)
        elif self.cleaned_data.get("new_approval_pin"):
            user.set_approval_pin(self.cleaned_data["new_approval_pin"])
        if commit:
            user.save()
            self._save_m2m()
        return user


@admin.register(User)
class StaffUserAdmin(ShopScopedAdmin, DjangoUserAdmin, ModelAdmin):
    form = ShopUserChangeForm
    add_form = ShopUserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("username", "full_name", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "first_name", "last_name", "email")
    filter_horizontal = ("branches",)
    operator_fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "email")}),
        (_("Shop and role"), {"fields": ("shop", "role", "branches")}),
        (_("Manager approval"), {"fields": ("new_approval_pin", "clear_approval_pin")}),
        (
            _("Platform access"),
            {"fields": ("is_active", "is_staff", "is_superuser", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    shop_fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "email")}),
        (_("Role"), {"fields": ("role", "branches", "is_active")}),
        (_("Manager approval"), {"fields": ("new_approval_pin", "clear_approval_pin")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"fields": ("username", "password1", "password2")},
        ),
    )
    # The role is chosen when the account is made: a new account is never a cashier by accident.
    operator_add_fieldsets = (
        *add_fieldsets,
        (_("Shop and role"), {"fields": ("shop", "role", "branches")}),
    )
    shop_add_fieldsets = (
        *add_fieldsets,
        (_("Role"), {"fields": ("role", "branches")}),
    )
    readonly_fields = ("last_login", "date_joined")

    @display(description=_("name"))
    def full_name(self, obj: User) -> str:
        return obj.get_full_name()

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            if is_platform_operator(request):
                return self.operator_add_fieldsets
            return self.shop_add_fieldsets
        if is_platform_operator(request):
            return self.operator_fieldsets
        return self.shop_fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk == request.user.pk and not is_platform_operator(request):
            # Nobody demotes or deactivates themselves by accident (a shop left with no owner,
            # a manager whose form only offers "cashier").
            fields += ["role", "is_active"]
        return fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if "role" in form.base_fields and not is_platform_operator(request):
            allowed = (
                User.Role.choices
                if request.user.role == User.Role.OWNER
                else [(User.Role.CASHIER, User.Role.CASHIER.label)]
            )
            form.base_fields["role"].choices = allowed
            form.base_fields["role"].required = True
        return form

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None or is_platform_operator(request):
            return allowed
        # Managers may change cashiers (e.g. deactivate one) and themselves, not owners or peers.
        if request.user.role == User.Role.MANAGER:
            return obj.role == User.Role.CASHIER or obj.pk == request.user.pk
        return True

    def save_model(self, request, obj, form, change):
        if not is_platform_operator(request):
            obj.shop = request.user.shop
            obj.role = obj.role or User.Role.CASHIER
        services.staff_account_save(user=obj)


from shops import apikeys_admin  # noqa: E402, F401 - registers ApiKeyAdmin
from shops.staffing import admin as staffing_admin  # noqa: E402, F401 - registers invites and activity
