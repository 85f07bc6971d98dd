"""The ledger in the back office: read-only lists, and the two business actions on a member,
"Adjust points" and "Reverse", as admin views that call the services and record who and why
(as Django's UserAdmin does for passwords)."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from loyalty.errors import ApplicationError
from loyalty.text import TypedTextForm
from members.imports.admin import LedgerExportMixin
from members.ledger import owners, rules, services
from members.ledger.actors import Actor
from members.ledger.errors import EntryOwned
from members.ledger.models import LedgerEntry, Product, Purchase, PurchaseItem
from members.ledger.selectors import member_entries, member_points_summary, tier_progress
from shops.tenancy import (
    ReadOnlyAdminMixin,
    ShopScopedAdmin,
    ShopScopedMixin,
    is_platform_operator,
)


def _signed(points: int) -> str:
    return f"+{points:,}" if points > 0 else f"{points:,}"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(LedgerExportMixin, ReadOnlyAdminMixin, ShopScopedAdmin, ModelAdmin):
    list_display = (
        "created_at",
        "member_link",
        "kind",
        "points_display",
        "balance_after",
        "channel",
        "branch",
        "who",
        "note",
    )
    list_select_related = ("member", "branch", "created_by", "api_key", "approved_by")
    list_filter = (
        "kind",
        "channel",
        "branch",
        "actor_kind",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "member__phone",
        "member__first_name",
        "member__last_name",
        "reference",
        "note",
    )
    date_hierarchy = "created_at"
    list_per_page = 50
    readonly_fields = [f.name for f in LedgerEntry._meta.fields]

    @display(description=_("member"), ordering="member")
    def member_link(self, obj: LedgerEntry):
        url = reverse("admin:members_member_change", args=[obj.member_id])
        return format_html('<a href="{}">{}</a>', url, obj.member)

    @display(description=_("points"), ordering="points")
    def points_display(self, obj: LedgerEntry) -> str:
        return _signed(obj.points)

    @display(description=_("by"))
    def who(self, obj: LedgerEntry) -> str:
        if obj.approved_by_id:
            return _("%(who)s (approved by %(manager)s)") % {
                "who": obj.actor_display(),
                "manager": obj.approved_by.get_username(),
            }
        return obj.actor_display()


def _with_owners(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """``entries``, each with ``owner``: the redemption (or other owner) it belongs to, or None;
    the panel links those to their owner instead of offering "Reverse"."""
    found = owners.entry_owners([e.pk for e in entries])
    for entry in entries:
        entry.owner = found.get(entry.pk)
    return entries


class PurchaseItemInline(ShopScopedMixin, TabularInline):
    model = PurchaseItem
    fields = ("sku", "name", "quantity", "price")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return PurchaseItem.objects.all()


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdminMixin, ShopScopedAdmin, ModelAdmin):
    list_display = (
        "created_at",
        "member",
        "amount",
        "points",
        "channel",
        "branch",
        "external_order_id",
        "status",
    )
    list_select_related = ("member", "branch")
    list_filter = ("status", "channel", "branch")
    search_fields = ("external_order_id", "receipt_no", "member__phone", "member__first_name")
    date_hierarchy = "created_at"
    inlines = [PurchaseItemInline]
    readonly_fields = [f.name for f in Purchase._meta.fields]


@admin.register(Product)
class ProductAdmin(ShopScopedAdmin, ModelAdmin):
    list_display = ("sku", "name", "price")
    search_fields = ("sku", "name")
    fields = ("shop", "sku", "name", "price")

    def save_model(self, request, obj, form, change):
        from shops.services import shop_row_save

        if not is_platform_operator(request):
            obj.shop = request.user.shop
        shop_row_save(row=obj, actor=request.user)


# --- business actions on a member --------------------------------------------------------------


class AdjustPointsForm(TypedTextForm, forms.Form):
    points = forms.IntegerField(
        label=_("points"),
        help_text=_("Positive to add, negative to remove (e.g. -50)."),
        min_value=-rules.MAX_POINTS_PER_ENTRY,
        max_value=rules.MAX_POINTS_PER_ENTRY,
    )
    note = forms.CharField(
        label=_("reason"),
        max_length=500,
        help_text=_("Why? The member's history and the audit show it."),
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than 0."))
        return points


class ReverseEntryForm(TypedTextForm, forms.Form):
    note = forms.CharField(label=_("reason"), max_length=500)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)


class MemberPointsAdminMixin:
    """Adds the points panel, "Adjust points" and "Reverse" to the member admin."""

    change_form_before_template = "admin/members/member/points_panel.html"
    actions_detail = ["adjust_points"]

    def get_urls(self):
        urls = super().get_urls()
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "<path:object_id>/reverse/<uuid:entry_id>/",
                self.admin_site.admin_view(self.reverse_entry_view),
                name="{}_{}_reverse_entry".format(*info),
            ),
            *urls,
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        member = self.get_object(request, object_id)
        if member is not None:
            entries, _next = member_entries(member, limit=30)
            extra_context = {
                **(extra_context or {}),
                "points_summary": member_points_summary(member),
                "points_progress": tier_progress(member),
                "points_entries": _with_owners(entries),
                "reversed_ids": set(
                    LedgerEntry.objects.filter(
                        reversal_of_id__in=[e.pk for e in entries]
                    ).values_list("reversal_of_id", flat=True)
                ),
                "can_change_points": self.has_change_permission(request, member),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def _member_or_404(self, request, object_id):
        member = self.get_object(request, object_id)
        if member is None:
            raise Http404
        if not self.has_change_permission(request, member):
            raise PermissionDenied
        return member

    @action(description=_("Adjust points"), url_path="adjust-points", icon="tune")
    def adjust_points(self, request, object_id):
        member = self._member_or_404(request, object_id)
        form = AdjustPointsForm(request.POST or None, initial={"idempotency_key": uuid.uuid4()})
        if request.method == "POST" and form.is_valid():
            try:
                entry, _replayed = services.points_adjust(
                    member=member,
                    points=form.cleaned_data["points"],
                    note=form.cleaned_data["note"],
                    idempotency_key=f"admin:{form.cleaned_data['idempotency_key']}",
                    actor=Actor.admin(request.user),
                )
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                self.message_user(
                    request,
                    _("%(points)s points recorded. New balance: %(balance)s.")
                    % {"points": _signed(entry.points), "balance": f"{entry.balance_after:,}"},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:members_member_change", args=[member.pk])
                )
        return TemplateResponse(
            request,
            "admin/members/member/points_action.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Adjust points of %(member)s") % {"member": member},
                "member": member,
                "form": form,
                "summary": member_points_summary(member),
                "opts": self.model._meta,
                "submit_label": _("Record adjustment"),
            },
        )

    def reverse_entry_view(self, request, object_id, entry_id):
        member = self._member_or_404(request, object_id)
        entry = get_object_or_404(LedgerEntry, member=member, public_id=entry_id)
        form = ReverseEntryForm(request.POST or None, initial={"idempotency_key": uuid.uuid4()})
        # Points that paid for a redemption are refused before the form is filled in, with a link
        # to the redemption, where cancelling undoes all of it.
        owner = owners.entry_owner(entry.pk)
        refusal = services.reverse_refusal(entry) if owner is not None else None
        if request.method == "POST" and form.is_valid() and refusal is None:
            try:
                reversal, _replayed = services.entry_reverse(
                    entry=entry,
                    note=form.cleaned_data["note"],
                    idempotency_key=f"admin:{form.cleaned_data['idempotency_key']}",
                    actor=Actor.admin(request.user),
                )
            except EntryOwned as exc:  # claimed by its owner since the page was read
                refusal, owner = exc, exc.owner
            except ApplicationError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(
                    request,
                    _("Entry reversed (%(points)s points). New balance: %(balance)s.")
                    % {
                        "points": _signed(reversal.points),
                        "balance": f"{reversal.balance_after:,}",
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:members_member_change", args=[member.pk])
                )
        return TemplateResponse(
            request,
            "admin/members/member/points_action.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Reverse an entry of %(member)s") % {"member": member},
                "member": member,
                "entry": entry,
                "form": form,
                "refusal": refusal,
                "owner": owner,
                "summary": member_points_summary(member),
                "opts": self.model._meta,
                "submit_label": _("Reverse this entry"),
            },
        )
