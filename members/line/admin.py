"""The "LINE friends" page: who added the shop's LINE Official Account, who blocked it, and who of
them the shop knows as a member (bound). A window onto the data the webhook keeps: nothing is
added or changed here (binding is done on the member, and LINE's events decide the state).
The "LINE webhook events" page: what LINE delivered and what became of each event (kept
``LINE_WEBHOOK_EVENT_RETENTION_DAYS``), read-only too.

Bound here means linked to a member of the shop (the member has this LINE user id), with or
without a Customer ID: the shop knows which of its customers this LINE user is.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from unfold.admin import ModelAdmin
from unfold.decorators import display

from loyalty.phones import phone_search
from members.line.models import LineFriend, WebhookEvent
from members.line.selectors import line_friend_counts
from shops.tenancy import ReadOnlyAdminMixin, ShopScopedAdmin, is_platform_operator, request_shop

# The model's "blocked" names both the state and the time it happened ("blocked at" in Thai);
# the page's state labels say what the state is.
STATE_LABELS = {
    LineFriend.State.FRIEND: pgettext_lazy("LINE friend state", "Friend"),
    LineFriend.State.BLOCKED: pgettext_lazy("LINE friend state", "Blocked"),
}


def short_line_user_id(line_user_id: str):
    """The id shortened so that a phone's row has room for its label; the whole id is its title
    (and on the row's own page), and search takes it."""
    if len(line_user_id) <= 16:
        return line_user_id or "—"
    short = line_user_id[:9] + "…" + line_user_id[-6:]
    return format_html(
        '<span title="{}" data-line-user-id="{}">{}</span>', line_user_id, line_user_id, short
    )


class FriendStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return tuple(STATE_LABELS.items())

    def queryset(self, request, queryset):
        if self.value() in STATE_LABELS:
            return queryset.filter(state=self.value())
        return queryset


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
    list_display = ("line_user", "state_badge", "member_link", "followed_at", "unfollowed_at")
    list_filter = (FriendStateFilter, FriendBoundFilter)
    list_select_related = ("member",)
    search_fields = ("line_user_id", "member__first_name", "member__last_name", "member__phone")
    ordering = ("-updated_at",)
    list_before_template = "admin/members/linefriend/counts.html"
    fields = ("line_user_id", "state", "member", "followed_at", "unfollowed_at", "created_at")
    readonly_fields = fields

    @display(description=_("LINE user ID"), ordering="line_user_id")
    def line_user(self, obj: LineFriend):
        return short_line_user_id(obj.line_user_id)

    @display(
        description=_("state"),
        ordering="state",
        label={LineFriend.State.FRIEND: "success", LineFriend.State.BLOCKED: "danger"},
    )
    def state_badge(self, obj: LineFriend):
        return obj.state, STATE_LABELS.get(obj.state, obj.state)

    @display(description=_("member"))
    def member_link(self, obj: LineFriend):
        if not obj.member_id:
            return "—"
        url = reverse("admin:members_member_change", args=[obj.member_id])
        return format_html('<a href="{}" class="text-primary-600">{}</a>', url, obj.member)

    def get_search_results(self, request, queryset, search_term):
        # A member's phone as the shop writes it ("081-234-5678") finds the stored +66812345678.
        wanted = phone_search(search_term)
        if wanted is not None and wanted.exact:
            return queryset.filter(member__phone=wanted.exact), False
        return super().get_search_results(request, queryset, search_term)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        shop = None if is_platform_operator(request) else request_shop(request)
        extra_context = {**(extra_context or {}), "friend_counts": line_friend_counts(shop=shop)}
        if shop is None and not is_platform_operator(request):
            extra_context["friend_counts"] = dict.fromkeys(
                ("friends", "blocked", "bound", "unbound"), 0
            )
        return super().changelist_view(request, extra_context)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, ShopScopedAdmin, ModelAdmin):
    list_display = ("received_at", "event_type", "line_user", "outcome_badge", "is_redelivery")
    list_filter = ("outcome", "event_type", "is_redelivery")
    search_fields = ("line_user_id", "webhook_event_id")
    ordering = ("-received_at", "-pk")
    fields = (
        "received_at",
        "event_type",
        "line_user_id",
        "webhook_event_id",
        "is_redelivery",
        "outcome",
        "processed_at",
        "error",
        "event_json",
    )
    readonly_fields = fields

    @display(description=_("LINE user ID"), ordering="line_user_id")
    def line_user(self, obj: WebhookEvent):
        return short_line_user_id(obj.line_user_id)

    @display(
        description=_("outcome"),
        ordering="outcome",
        label={
            WebhookEvent.Outcome.PENDING: "warning",
            WebhookEvent.Outcome.PROCESSED: "success",
            WebhookEvent.Outcome.UNHANDLED: "info",
            WebhookEvent.Outcome.FAILED: "danger",
        },
    )
    def outcome_badge(self, obj: WebhookEvent):
        return obj.outcome, obj.get_outcome_display()

    @display(description=_("event"))
    def event_json(self, obj: WebhookEvent):
        text = json.dumps(obj.payload, ensure_ascii=False, indent=2)
        return format_html(
            "<pre style='white-space:pre-wrap;overflow-wrap:anywhere'>{}</pre>", text
        )
