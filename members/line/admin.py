"""The "LINE friends" page: who added the shop's LINE Official Account, who blocked it, and who of
them the shop knows as a member (bound). A window onto the data the webhook keeps: nothing is
added or changed here (binding is done on the member, and LINE's events decide the state).

Bound here means linked to a member of the shop (the member has this LINE user id), with or
without a Customer ID: the shop knows which of its customers this LINE user is.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from members.line.models import LineFriend
from members.line.selectors import line_friend_counts
from shops.tenancy import ReadOnlyAdminMixin, ShopScopedAdmin, is_platform_operator, request_shop


class FriendBoundFilter(admin.SimpleListFilter):
    title = _("bound to a member")
    parameter_name = "bound"

    def lookups(self, request, model_admin):
        return (("yes", _("Bound")), ("no", _("Not bound")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(member__isnull=False)
        if self.value() == "no":
            return queryset.filter(member__isnull=True)
        return queryset


@admin.register(LineFriend)
class LineFriendAdmin(ReadOnlyAdminMixin, ShopScopedAdmin, ModelAdmin):
    list_display = ("line_user_id", "state", "member_link", "followed_at", "unfollowed_at")
    list_filter = ("state", FriendBoundFilter)
    list_select_related = ("member",)
    search_fields = ("line_user_id", "member__first_name", "member__last_name", "member__phone")
    ordering = ("-updated_at",)
    list_before_template = "admin/members/linefriend/counts.html"
    fields = ("line_user_id", "state", "member", "followed_at", "unfollowed_at", "created_at")
    readonly_fields = fields

    @display(description=_("member"))
    def member_link(self, obj: LineFriend):
        return str(obj.member) if obj.member_id else "—"

    def changelist_view(self, request: HttpRequest, extra_context=None):
        shop = None if is_platform_operator(request) else request_shop(request)
        extra_context = {**(extra_context or {}), "friend_counts": line_friend_counts(shop=shop)}
        if shop is None and not is_platform_operator(request):
            extra_context["friend_counts"] = dict.fromkeys(
                ("friends", "blocked", "bound", "unbound"), 0
            )
        return super().changelist_view(request, extra_context)
