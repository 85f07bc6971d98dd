"""The back office's broadcasts: the list (by state, with the send time in the shop's time and the
recipients confirmed), the composer (``admin_views.composer_view``: add and change of a draft), a
summary of a confirmed one, and the steps around it: test send, confirm (counts and LINE's
quota), copy, cancel, and a link to the results page once it is sending or sent.

Every view finds the broadcast through ``get_queryset``, which ``ShopScopedAdmin`` scopes to the
user's shop: another shop's broadcast is a 404, and every choice offered is the shop's own."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from campaigns.broadcasts import admin_views
from campaigns.broadcasts.admin_urls import urlpatterns_for
from campaigns.broadcasts.models import Broadcast
from loyalty.dates import format_display_date
from shops.tenancy import ShopScopedAdmin, request_shop

State = Broadcast.State
STATE_BADGES = {
    State.DRAFT: "info",
    State.SCHEDULED: "warning",
    State.SENDING: "warning",
    State.SENT: "success",
    State.CANCELLED: "danger",
}
RESULTS_URL = "admin:campaigns_broadcast_results"


def results_url(broadcast: Broadcast) -> str | None:
    """The results page of a sending or sent broadcast (None before, or while the results page is
    not installed: it is built apart)."""
    if broadcast.state not in (State.SENDING, State.SENT):
        return None
    try:
        return reverse(RESULTS_URL, args=[broadcast.pk])
    except NoReverseMatch:
        return None


@admin.register(Broadcast)
class BroadcastAdmin(ShopScopedAdmin, ModelAdmin):
    list_display = ("name", "state_badge", "send_time", "recipients", "links")
    list_filter = ("state",)
    search_fields = ("name",)
    list_per_page = 50
    ordering = ("-created_at", "-pk")

    def has_add_permission(self, request, obj=None):
        # A broadcast belongs to a shop: a platform operator has none to write for.
        return super().has_add_permission(request) and request_shop(request) is not None

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or obj.state == State.DRAFT
        )

    def has_delete_permission(self, request, obj=None):
        # Only what never reached anyone: a sent broadcast's recipients are its results.
        return super().has_delete_permission(request, obj) and (
            obj is None or obj.state in (State.DRAFT, State.CANCELLED)
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a bulk delete would skip the rule above
        return actions

    @display(description=_("state"), ordering="state", label=STATE_BADGES)
    def state_badge(self, obj: Broadcast):
        return obj.state, obj.get_state_display()

    @display(description=_("send time"), ordering="send_at")
    def send_time(self, obj: Broadcast) -> str:
        when = obj.started_at if obj.state in (State.SENDING, State.SENT) else obj.send_at
        if when is None:
            return str(_("now, once confirmed")) if obj.state == State.DRAFT else "—"
        return format_display_date(timezone.localtime(when), with_time=True)

    @display(description=_("recipients"), ordering="confirmed_recipients")
    def recipients(self, obj: Broadcast):
        return obj.confirmed_recipients if obj.confirmed_at else "—"

    @display(description=_("next step"))
    def links(self, obj: Broadcast):
        url = results_url(obj)
        if url:
            return format_html('<a class="text-primary-600" href="{}">{}</a>', url, _("Results"))
        if obj.state == State.DRAFT:
            return format_html(
                '<a class="text-primary-600" href="{}">{}</a>',
                reverse("admin:campaigns_broadcast_confirm", args=[obj.pk]),
                _("Check and confirm"),
            )
        return ""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/confirm/",
                view(self._with(admin_views.confirm_view)),
                name="campaigns_broadcast_confirm",
            ),
            path(
                "<int:object_id>/test-send/",
                view(self._with(admin_views.test_send_view)),
                name="campaigns_broadcast_test_send",
            ),
            path(
                "<int:object_id>/copy/",
                view(self._with(admin_views.copy_view)),
                name="campaigns_broadcast_copy",
            ),
            path(
                "<int:object_id>/cancel/",
                view(self._with(admin_views.cancel_view)),
                name="campaigns_broadcast_cancel",
            ),
            path(
                "media/",
                view(lambda request: admin_views.media_upload_view(self, request)),
                name="campaigns_broadcast_media",
            ),
            *urlpatterns_for(self.admin_site),
            *super().get_urls(),
        ]

    def _with(self, view):
        def wrapped(request, object_id):
            return view(self, request, self.broadcast_or_404(request, object_id))

        return wrapped

    def broadcast_or_404(self, request, object_id) -> Broadcast:
        if not self.has_view_permission(request):
            raise Http404
        broadcast = (
            self.get_queryset(request)
            .select_related("shop", "coupon_reward")
            .filter(pk=object_id)
            .first()
        )
        if broadcast is None:
            raise Http404
        return broadcast

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        return admin_views.composer_view(self, request, None)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        broadcast = self.broadcast_or_404(request, object_id)
        if broadcast.state == State.DRAFT and self.has_change_permission(request, broadcast):
            return admin_views.composer_view(self, request, broadcast)
        return admin_views.summary_view(self, request, broadcast)

    def changelist_url(self) -> str:
        return reverse("admin:campaigns_broadcast_changelist")

    def redirect_to(self, broadcast: Broadcast, step: str = "change") -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse(f"admin:campaigns_broadcast_{step}", args=[broadcast.pk])
        )
