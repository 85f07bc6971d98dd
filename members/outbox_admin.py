"""The LINE outbox in the back office (``loyalty.outbox``): what was sent, to how many, what
failed and why, and "Retry" for failed or quota-stopped rows. Registered from members because the
shop scoping lives in ``shops.tenancy`` and loyalty does not import shops."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin
from unfold.decorators import display

from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.selectors import outbox_totals
from loyalty.outbox.services import outbox_retry
from shops.tenancy import ReadOnlyAdminMixin, ShopScopedAdmin, is_platform_operator, request_shop

STATE_COLOURS = {
    OutboxMessage.State.PENDING: "info",
    OutboxMessage.State.SENDING: "info",
    OutboxMessage.State.SENT: "success",
    OutboxMessage.State.SKIPPED: "warning",
    OutboxMessage.State.FAILED: "danger",
    OutboxMessage.State.QUOTA: "danger",
}


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, ShopScopedAdmin, ModelAdmin):
    list_display = (
        "created_at",
        "state_label",
        "kind",
        "recipient_count",
        "sent_count",
        "skipped_count",
        "attempts",
        "error_short",
        "sent_at",
    )
    list_filter = ("state", "kind")
    search_fields = ("source", "request_id", "error")
    date_hierarchy = "created_at"
    actions = ["retry"]
    fields = (
        "shop",
        "state",
        "kind",
        "source",
        "recipient_count",
        "sent_count",
        "skipped_count",
        "attempts",
        "next_attempt_at",
        "error",
        "messages_pretty",
        "retry_key",
        "request_id",
        "accepted_request_id",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields

    list_select_related = ("shop",)
    list_before_template = "admin/loyalty/outboxmessage/summary.html"

    def changelist_view(self, request, extra_context=None):
        shop = None if is_platform_operator(request) else request_shop(request)
        totals = outbox_totals(shop_id=None if shop is None else shop.pk)
        summary = [
            (state, label, totals[state])
            for state, label in OutboxMessage.State.choices
            if state in totals
        ]
        extra_context = {
            **(extra_context or {}),
            "outbox_summary": summary,
            "outbox_quota_stopped": OutboxMessage.State.QUOTA in totals,
        }
        return super().changelist_view(request, extra_context)

    @display(description=_("state"), label=STATE_COLOURS)
    def state_label(self, obj: OutboxMessage):
        return obj.state, obj.get_state_display()

    @display(description=_("recipients"))
    def recipient_count(self, obj: OutboxMessage) -> int:
        return obj.recipient_count

    @display(description=_("error"))
    def error_short(self, obj: OutboxMessage) -> str:
        return obj.error if len(obj.error) <= 80 else obj.error[:79] + "…"

    @display(description=_("messages"))
    def messages_pretty(self, obj: OutboxMessage):
        return format_html(
            "<pre style='white-space:pre-wrap'>{}</pre>",
            json.dumps(obj.messages, ensure_ascii=False, indent=2),
        )

    @admin.action(description=_("Retry (failed or stopped by the quota)"), permissions=["retry"])
    def retry(self, request, queryset):
        shop = None if is_platform_operator(request) else request_shop(request)
        queued = outbox_retry(
            message_ids=list(queryset.values_list("pk", flat=True)),
            shop_id=None if shop is None else shop.pk,
        )
        if queued:
            self.message_user(
                request,
                ngettext(
                    "%(n)s message will be sent again (same retry key: LINE never sends it twice).",
                    "%(n)s messages will be sent again (same retry key: LINE never sends them twice).",
                    queued,
                )
                % {"n": queued},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                _("Only failed or quota-stopped messages can be retried."),
                messages.WARNING,
            )

    def has_retry_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("loyalty.change_outboxmessage")
