"""The "LINE friends" page: who added the shop's LINE Official Account, who blocked it, and who of
them the shop knows as a member (bound). A window onto the data the webhook keeps: nothing is
added or changed here (binding is done on the member, and LINE's events decide the state).
The "LINE webhook events" page: what LINE delivered and what became of each event (kept
``LINE_WEBHOOK_EVENT_RETENTION_DAYS``), read-only too.

Also the "LINE binding records" page (every bind and unbind, read-only) and the member page's
"Bind LINE account" / "Unbind LINE account" (``MemberBindingAdminMixin``).

Bound here means linked to a member of the shop (the member has this LINE user id), with or
without a Customer ID: the shop knows which of its customers this LINE user is.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from loyalty.errors import ApplicationError
from loyalty.phones import phone_search
from loyalty.text import TypedTextForm
from members.line import binding
from members.line.models import BindingRecord, LineFriend, WebhookEvent
from members.line.selectors import line_friend_counts, unbound_friends
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


@admin.register(BindingRecord)
class BindingRecordAdmin(ReadOnlyAdminMixin, ShopScopedAdmin, ModelAdmin):
    """Every bind and unbind of a LINE account, by which path and by whom (read-only)."""

    list_display = ("created_at", "action", "via", "member_link", "line_user_id", "actor")
    list_filter = ("action", "via")
    list_select_related = ("member",)
    search_fields = ("line_user_id", "customer_id", "member__first_name", "member__phone")
    ordering = ("-created_at", "-pk")
    fields = (
        "created_at",
        "action",
        "via",
        "member",
        "line_user_id",
        "customer_id",
        "actor",
    )
    readonly_fields = fields

    @display(description=_("member"))
    def member_link(self, obj: BindingRecord):
        return str(obj.member) if obj.member_id else "—"


class BindLineForm(TypedTextForm, forms.Form):
    """The LINE account to bind: typed, or one of the shop's LINE friends not bound yet."""

    friend = forms.ModelChoiceField(
        label=_("LINE friend not bound yet"),
        queryset=LineFriend.objects.none(),
        required=False,
    )
    line_user_id = forms.CharField(
        label=_("or LINE user ID"),
        max_length=64,
        required=False,
        help_text=_("U followed by 32 characters, as in the LINE friends list or the Open API."),
    )

    def __init__(self, *args, shop_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["friend"].queryset = unbound_friends(shop_id=shop_id)

    def clean(self):
        data = super().clean()
        friend, typed = data.get("friend"), (data.get("line_user_id") or "").strip()
        if bool(friend) == bool(typed):
            raise forms.ValidationError(_("Choose a LINE friend or type a LINE user ID (one)."))
        data["chosen"] = friend.line_user_id if friend else typed
        return data


class MemberBindingAdminMixin:
    """ "Bind LINE account" and "Unbind LINE account" on the member's page, and the member's
    binding records below its form; both write through ``members.line.binding``, recorded with
    the admin user."""

    change_form_after_template = "admin/members/member/binding_panel.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        member = self.get_object(request, object_id)
        if member is not None:
            extra_context = {
                **(extra_context or {}),
                "binding_records": BindingRecord.objects.filter(member=member)[:20],
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def _bindable_or_404(self, request, object_id):
        member = self.get_object(request, object_id)
        if member is None:
            raise Http404
        if not self.has_change_permission(request, member):
            raise PermissionDenied
        return member

    def _back(self, member):
        return HttpResponseRedirect(reverse("admin:members_member_change", args=[member.pk]))

    def _binding_page(self, request, member, **context):
        return TemplateResponse(
            request,
            "admin/members/member/binding_action.html",
            {
                **self.admin_site.each_context(request),
                "member": member,
                "opts": self.model._meta,
                **context,
            },
        )

    @action(description=_("Bind LINE account"), url_path="bind-line", icon="link")
    def bind_line(self, request, object_id):
        member = self._bindable_or_404(request, object_id)
        form = BindLineForm(request.POST or None, shop_id=member.shop_id)
        if request.method == "POST" and form.is_valid():
            try:
                binding.member_bind(
                    member=member,
                    line_user_id=form.cleaned_data["chosen"],
                    via=BindingRecord.Via.ADMIN,
                    actor=admin_actor(request),
                )
            except ApplicationError as exc:
                form.add_error("line_user_id" if exc.field == "line_user_id" else None, str(exc))
            else:
                self.message_user(request, _("LINE account bound."), messages.SUCCESS)
                return self._back(member)
        return self._binding_page(
            request,
            member,
            form=form,
            title=_("Bind a LINE account to %(member)s") % {"member": member},
            submit_label=_("Bind"),
        )

    @action(description=_("Unbind LINE account"), url_path="unbind-line", icon="link_off")
    def unbind_line(self, request, object_id):
        member = self._bindable_or_404(request, object_id)
        if not member.line_user_id:
            self.message_user(request, _("This member is not bound to a LINE account."))
            return self._back(member)
        if request.method == "POST":
            binding.member_unbind(
                member=member, via=BindingRecord.Via.ADMIN, actor=admin_actor(request)
            )
            self.message_user(request, _("LINE account unbound."), messages.SUCCESS)
            return self._back(member)
        return self._binding_page(
            request,
            member,
            confirm=True,
            title=_("Unbind the LINE account of %(member)s?") % {"member": member},
            submit_label=_("Yes, unbind"),
        )


def admin_actor(request: HttpRequest) -> str:
    """How a binding record names an admin user."""
    return f"admin: {request.user.get_username()}"
