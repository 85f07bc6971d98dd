"""Members in the back office: list, search (a phone in any form), filters, profile."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from loyalty.phones import PhoneSearch, phone_search
from members import services
from members.imports.admin import MemberImportExportMixin
from members.ledger.admin import MemberPointsAdminMixin
from members.line.admin import MemberBindingAdminMixin
from members.models import Member
from shops.tenancy import ShopScopedAdmin, is_platform_operator


def phone_search_filter(wanted: PhoneSearch) -> Q:
    """The members whose stored phone begins or ends as ``wanted`` says.

    A beginning is also written as a range (``>= "+66812"`` and ``< "+66813"``) so the database can
    walk the (shop, phone) index instead of reading every member of the shop; the range and the
    ``LIKE 'x%'`` select the same rows. An end (``LIKE '%5678'``) cannot use that index: it reads
    the shop's members only (the queryset is already the shop's).
    """
    condition = Q(pk__in=[])
    for prefix in wanted.prefixes:
        after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        condition |= Q(phone__gte=prefix, phone__lt=after, phone__startswith=prefix)
    if wanted.suffix:
        condition |= Q(phone__endswith=wanted.suffix)
    return condition


class BoundFilter(admin.SimpleListFilter):
    title = _("account binding")
    parameter_name = "bound"

    def lookups(self, request, model_admin):
        return (("yes", _("Bound to a LINE account")), ("no", _("Not bound")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(bound_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(bound_at__isnull=True)
        return queryset


@admin.register(Member)
class MemberAdmin(
    MemberImportExportMixin,
    MemberBindingAdminMixin,
    MemberPointsAdminMixin,
    ShopScopedAdmin,
    ModelAdmin,
):
    list_display = (
        "name_display",
        "phone_display",
        "status_badge",
        "balance",
        "tier",
        "bound",
        "signup_branch",
        "created_at",
    )
    list_select_related = ("tier", "signup_branch")
    list_filter = ("status", "tier", "tags", BoundFilter, "signup_branch", "gender")
    # The phone is searched by get_search_results (any typed form, a beginning or the last digits).
    search_fields = (
        "first_name",
        "last_name",
        "customer_id",
        "line_display_name",
        "email",
    )
    search_help_text = _(
        "Name, phone (any form, its first digits or its last 4), Customer ID, LINE name or e-mail"
    )
    autocomplete_fields = ()
    filter_horizontal = ("tags",)
    actions_detail = ["adjust_points", "bind_line", "unbind_line"]
    # The LINE id is bound and unbound by the actions (recorded), never typed into the form.
    readonly_fields = (
        "public_id",
        "line_user_id",
        "bound_at",
        "notices_opt_out",  # the member's own choice, on their profile page
        "registered_at",
        "created_at",
        "updated_at",
        "last_visit_at",
        "last_visit_branch",
    )
    fieldsets = (
        (
            _("Profile"),
            {
                "fields": (
                    "shop",
                    "public_id",
                    "status",
                    "first_name",
                    "last_name",
                    "phone",
                    "gender",
                    "birthday",
                    "email",
                    "signup_branch",
                )
            },
        ),
        (_("Tier and tags"), {"fields": ("tier", "manual_tier", "tags")}),
        (_("Purchases"), {"fields": ("last_visit_at", "last_visit_branch")}),
        (
            _("LINE and account binding"),
            {
                "fields": (
                    "line_user_id",
                    "bound_at",
                    "line_display_name",
                    "customer_id",
                    "notices_opt_out",
                )
            },
        ),
        (_("Notes"), {"fields": ("note", "registered_at", "created_at", "updated_at")}),
    )
    date_hierarchy = "created_at"
    list_per_page = 50

    @display(description=_("name"), ordering="first_name")
    def name_display(self, obj: Member) -> str:
        return obj.display_name

    @display(description=_("phone"), ordering="phone")
    def phone_display(self, obj: Member) -> str:
        return obj.phone_local or "—"

    @display(
        description=_("status"),
        ordering="status",
        label={
            Member.Status.REGISTERED: "success",
            Member.Status.PENDING: "warning",
            Member.Status.BLOCKED: "danger",
            Member.Status.ERASED: "info",
        },
    )
    def status_badge(self, obj: Member):
        return obj.status, obj.get_status_display()

    @display(description=_("bound"), boolean=True, ordering="bound_at")
    def bound(self, obj: Member) -> bool:
        return obj.is_bound

    def get_search_results(self, request, queryset, search_term):
        # "081-234-5678", "0812345678" and "+66 81 234 5678" all find the stored +66812345678;
        # "081" or "0812" the numbers that begin so, "5678" those that end so (the last digits a
        # customer tells). Phones are matched here only, never as a substring anywhere.
        wanted = phone_search(search_term)
        if wanted is not None and wanted.exact:
            return queryset.filter(phone=wanted.exact), False
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if wanted is None:
            return found, may_have_duplicates
        return found | queryset.filter(phone_search_filter(wanted)), may_have_duplicates

    def save_model(self, request, obj, form, change):
        if not is_platform_operator(request):
            obj.shop = request.user.shop
        services.member_save(member=obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)


# The shop's LINE settings page, the LINE outbox (loyalty.outbox) and LINE friends:
from members import line_settings_admin, outbox_admin  # noqa: E402, F401
from members.line import admin as line_admin  # noqa: E402, F401
from members.notifications import admin as notifications_admin  # noqa: E402, F401 - LINE notices
from members.signup import admin as signup_admin  # noqa: E402, F401 - sign-up questions, consents
