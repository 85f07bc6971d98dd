"""Rewards in the back office: the catalogue (with code pools), redemptions, coupons and deliveries
(bulk status changes and the list of what to ship); redemptions and deliveries export to Excel."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from loyalty.dates import format_people_date
from loyalty.errors import ApplicationError
from loyalty.exports import ExportAdminMixin, xlsx_response
from loyalty.text import TypedTextForm
from members.ledger.actors import Actor
from rewards import exports, services
from rewards.models import Coupon, Delivery, Redemption, Reward
from rewards.rules import normalise_code
from rewards.selectors import redemption_parts
from shops.services import shop_row_save
from shops.tenancy import ReadOnlyAdminMixin, ShopScopedAdmin, is_platform_operator


class AddCodesForm(TypedTextForm, forms.Form):
    file = forms.FileField(
        label=_("file of codes"),
        required=False,
        help_text=_(".xlsx (first column), .csv or .txt, one code per row."),
    )
    pasted = forms.CharField(
        label=_("or paste codes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("One code per line."),
    )

    def clean(self):
        data = super().clean()
        if not data.get("file") and not (data.get("pasted") or "").strip():
            raise forms.ValidationError(_("Choose a file or paste the codes."))
        return data


class CancelRedemptionForm(TypedTextForm, forms.Form):
    note = forms.CharField(
        label=_("reason"),
        max_length=300,
        help_text=_("Why? The member's history shows it."),
    )


@admin.register(Reward)
class RewardAdmin(ShopScopedAdmin, ModelAdmin):
    list_display = (
        "name",
        "kind",
        "points_cost",
        "stock_display",
        "free_codes",
        "per_member_limit",
        "window",
        "is_active",
        "redeemed",
    )
    list_filter = ("kind", "is_active", "spot_redemption")
    search_fields = ("name", "description", "platform")
    filter_horizontal = ("allowed_tiers",)
    ordering = ("order", "points_cost")
    actions_detail = ["add_codes"]
    fieldsets = (
        (
            _("Reward"),
            {
                "fields": (
                    "shop",
                    "name",
                    "kind",
                    "description",
                    "image",
                    "points_cost",
                    "terms",
                    "order",
                    "is_active",
                )
            },
        ),
        (
            _("Who may redeem, when and how many"),
            {
                "fields": (
                    "stock",
                    "low_stock_warning",
                    "per_member_limit",
                    "allowed_tiers",
                    "active_from",
                    "active_until",
                    "visible_from",
                    "visible_until",
                    "coupon_validity_days",
                    "spot_redemption",
                )
            },
        ),
        (
            _("Codes for another platform"),
            {"fields": ("platform", "code_source", "shared_code")},
        ),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                redeemed_count=Count(
                    "redemptions", filter=Q(redemptions__status=Redemption.Status.COMPLETED)
                ),
                free_code_count=Count("codes", filter=Q(codes__redemption__isnull=True)),
            )
        )

    @display(description=_("stock"), ordering="stock")
    def stock_display(self, obj: Reward):
        if obj.stock is None:
            return _("unlimited")
        if obj.is_low_on_stock:
            return format_html('<span class="text-red-600 font-semibold">{} ⚠</span>', obj.stock)
        return obj.stock

    @display(description=_("free codes"))
    def free_codes(self, obj: Reward):
        return obj.free_code_count if obj.uses_pool else "—"

    @display(description=_("open"))
    def window(self, obj: Reward):
        if not obj.active_from and not obj.active_until:
            return _("always")
        start = format_people_date(obj.active_from) or "…"
        end = format_people_date(obj.active_until) or "…"
        return f"{start} – {end}"

    @display(description=_("redeemed"), ordering="redeemed_count")
    def redeemed(self, obj: Reward):
        return obj.redeemed_count

    def changelist_view(self, request, extra_context=None):
        low = [r.name for r in self.get_queryset(request) if r.is_active and r.is_low_on_stock]
        if low and request.method == "GET":
            self.message_user(
                request,
                _("Low stock: %(names)s") % {"names": ", ".join(low[:10])},
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        if not is_platform_operator(request):
            obj.shop = request.user.shop
        shop_row_save(row=obj, actor=request.user)

    @action(description=_("Add codes"), url_path="add-codes", icon="playlist_add")
    def add_codes(self, request, object_id):
        reward = self.get_object(request, object_id)
        if reward is None:
            raise Http404
        if not self.has_change_permission(request, reward):
            raise PermissionDenied
        form = AddCodesForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                codes = (
                    services.parse_code_file(form.cleaned_data["file"])
                    if form.cleaned_data.get("file")
                    else form.cleaned_data["pasted"].splitlines()
                )
                added = services.reward_codes_add(reward=reward, codes=codes)
            except ApplicationError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, _("%(n)s codes added.") % {"n": added}, messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:rewards_reward_change", args=[reward.pk])
                )
        return TemplateResponse(
            request,
            "admin/rewards/reward/add_codes.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Add codes to %(reward)s") % {"reward": reward},
                "reward": reward,
                "form": form,
                "opts": self.model._meta,
            },
        )


@admin.register(Redemption)
class RedemptionAdmin(ExportAdminMixin, ReadOnlyAdminMixin, ShopScopedAdmin, ModelAdmin):
    export_key = exports.REDEMPTIONS.key
    list_display = (
        "created_at",
        "member",
        "reward_name",
        "reward_kind",
        "cost",
        "status",
        "branch",
    )
    list_select_related = ("member", "branch")
    list_filter = ("status", "reward_kind", "reward", "branch")
    search_fields = ("reward_name", "member__phone", "member__first_name", "member__last_name")
    date_hierarchy = "created_at"
    actions = ["cancel_redemptions"]
    actions_detail = ["cancel_redemption"]

    @display(description=_("points"), ordering="points")
    def cost(self, obj: Redemption):
        """The points paid, or that it was the shop's gift (a coupon push: no points)."""
        return _("Gift from the shop") if obj.is_gift else obj.points

    @action(
        description=_("Cancel and return the points"),
        url_path="cancel",
        icon="undo",
        permissions=["cancel"],
    )
    def cancel_redemption(self, request, object_id):
        """One redemption: where the points panel's and the ledger's refusal to reverse a
        redemption's points send the manager."""
        redemption = self.get_object(request, object_id)
        if redemption is None:
            raise Http404
        form = CancelRedemptionForm(request.POST or None)
        page = reverse("admin:rewards_redemption_change", args=[redemption.pk])
        if request.method == "POST" and form.is_valid():
            try:
                services.redemption_cancel(
                    redemption=redemption,
                    note=form.cleaned_data["note"],
                    actor=Actor.admin(request.user),
                )
            except ApplicationError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(
                    request,
                    _("Gift cancelled: the stock and the member's limit are back.")
                    if redemption.is_gift and redemption.status == Redemption.Status.COMPLETED
                    else _(
                        "Redemption cancelled: the points, the stock and the member's limit are back."
                    )
                    if redemption.status == Redemption.Status.COMPLETED
                    else _("This redemption was already cancelled."),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(page)
        coupon, delivery = redemption_parts(redemption)
        return TemplateResponse(
            request,
            "admin/rewards/redemption/cancel.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Cancel %(redemption)s") % {"redemption": redemption},
                "redemption": redemption,
                "coupon": coupon,
                "delivery": delivery,
                "form": form,
                "page": page,
                "opts": self.model._meta,
            },
        )

    @admin.action(description=_("Cancel and return the points"), permissions=["cancel"])
    def cancel_redemptions(self, request, queryset):
        _bulk(
            self,
            request,
            queryset,
            lambda r: services.redemption_cancel(
                redemption=r,
                note=_("Cancelled in the back office"),
                actor=Actor.admin(request.user),
            ),
        )

    def has_cancel_permission(self, request, object_id=None):
        return request.user.has_perm("rewards.change_redemption")


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdminMixin, ShopScopedAdmin, ModelAdmin):
    list_display = ("code", "member", "reward", "status", "expires_on", "used_at", "used_branch")
    list_select_related = ("member", "redemption", "used_branch")
    list_filter = ("status", "used_branch")
    search_fields = ("code", "external_code", "member__phone", "member__first_name")
    actions = ["cancel_coupons"]

    @display(description=_("reward"))
    def reward(self, obj: Coupon):
        return obj.redemption.reward_name

    def get_search_results(self, request, queryset, search_term):
        code = normalise_code(search_term)
        if code and len(code) == 8:
            exact = queryset.filter(code=code)
            if exact.exists():
                return exact, False
        return super().get_search_results(request, queryset, search_term)

    @admin.action(description=_("Cancel and return the points"), permissions=["cancel"])
    def cancel_coupons(self, request, queryset):
        _bulk(
            self,
            request,
            queryset,
            lambda c: services.redemption_cancel(
                redemption=c.redemption,
                note=_("Coupon cancelled in the back office"),
                actor=Actor.admin(request.user),
            ),
        )

    def has_cancel_permission(self, request):
        return request.user.has_perm("rewards.change_coupon")


class ShipForm(TypedTextForm, forms.Form):
    carrier = forms.CharField(
        label=_("carrier"), max_length=60, help_text=_("e.g. Kerry, Flash, ไปรษณีย์ไทย")
    )
    tracking_number = forms.CharField(label=_("tracking number"), max_length=60)


@admin.register(Delivery)
class DeliveryAdmin(ExportAdminMixin, ShopScopedAdmin, ModelAdmin):
    export_key = exports.DELIVERIES.key
    list_display = (
        "created_at",
        "reward",
        "member",
        "recipient",
        "postcode",
        "status",
        "carrier",
        "tracking_number",
    )
    list_select_related = ("member", "redemption")
    list_filter = ("status",)
    search_fields = (
        "recipient",
        "phone",
        "tracking_number",
        "member__phone",
        "redemption__reward_name",
    )
    date_hierarchy = "created_at"
    actions = ["mark_preparing", "mark_delivered", "cancel_deliveries", "export_to_ship"]
    actions_detail = ["mark_shipped"]
    readonly_fields = [f.name for f in Delivery._meta.fields if f.name not in ("id",)]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @display(description=_("reward"))
    def reward(self, obj: Delivery):
        return obj.redemption.reward_name

    def _move(self, request, queryset, status):
        _bulk(
            self,
            request,
            queryset,
            lambda d: services.delivery_set_status(
                delivery=d,
                status=status,
                actor=Actor.admin(request.user),
                note=_("Cancelled in the back office"),
            ),
        )

    @admin.action(description=_("Mark as preparing"))
    def mark_preparing(self, request, queryset):
        self._move(request, queryset, Delivery.Status.PREPARING)

    @admin.action(description=_("Mark as delivered"))
    def mark_delivered(self, request, queryset):
        self._move(request, queryset, Delivery.Status.DELIVERED)

    @admin.action(description=_("Cancel and return the points"))
    def cancel_deliveries(self, request, queryset):
        self._move(request, queryset, Delivery.Status.CANCELLED)

    @admin.action(description=_("Download what to ship (xlsx)"))
    def export_to_ship(self, request, queryset):
        return xlsx_response(exports.DELIVERIES, queryset)

    @action(description=_("Mark as shipped"), url_path="ship", icon="local_shipping")
    def mark_shipped(self, request, object_id):
        delivery = self.get_object(request, object_id)
        if delivery is None:
            raise Http404
        if not self.has_change_permission(request, delivery):
            raise PermissionDenied
        form = ShipForm(request.POST or None, initial={"carrier": delivery.carrier})
        if request.method == "POST" and form.is_valid():
            try:
                services.delivery_set_status(
                    delivery=delivery,
                    status=Delivery.Status.SHIPPED,
                    carrier=form.cleaned_data["carrier"],
                    tracking_number=form.cleaned_data["tracking_number"],
                    actor=Actor.admin(request.user),
                )
            except ApplicationError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, _("Marked as shipped."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:rewards_delivery_change", args=[delivery.pk])
                )
        return TemplateResponse(
            request,
            "admin/rewards/reward/add_codes.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Ship %(delivery)s") % {"delivery": delivery},
                "form": form,
                "opts": self.model._meta,
                "submit_label": _("Mark as shipped"),
            },
        )


def _bulk(model_admin, request, queryset, operation) -> None:
    """Run ``operation`` on each selected row; report successes and each refusal by name."""
    done, refused = 0, []
    for obj in queryset:
        try:
            operation(obj)
            done += 1
        except ApplicationError as exc:
            refused.append(f"{obj}: {exc}")
    if done:
        model_admin.message_user(request, _("%(n)s done.") % {"n": done}, messages.SUCCESS)
    for line in refused[:20]:
        model_admin.message_user(request, line, messages.ERROR)
