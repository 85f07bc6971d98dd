"""The back office's segments: the list (each segment's size now and its reach on LINE), the
builder (conditions combined with AND, one row per condition with the controls of its kind, a live
count and the first members as you edit: ``js/segment-builder.js`` over ``admin_views``), and the
RFM grid (``admin_views_rfm``). Saving goes through ``segment_create`` / ``segment_update``."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from campaigns.segments import admin_views, admin_views_rfm
from campaigns.segments.conditions import parse_conditions
from campaigns.segments.models import Segment
from campaigns.segments.rfm import RfmGroup
from campaigns.segments.selectors import segment_count
from campaigns.segments.services import segment_create, segment_update
from loyalty.text import TypedTextForm
from shops.tenancy import ShopScopedAdmin, is_platform_operator, request_shop


class SegmentForm(TypedTextForm, forms.ModelForm):
    """Shape only: a name, and conditions that ``parse_conditions`` accepts for the shop. Each
    condition's problems are kept in ``condition_rows`` so the builder shows them on its row."""

    conditions = forms.JSONField(
        label=Segment._meta.get_field("conditions").verbose_name,
        widget=forms.HiddenInput,
        required=False,
    )

    class Meta:
        model = Segment
        fields = ("name", "conditions")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.condition_rows: list[list[str]] = []

    def builder_shop(self):
        shop = getattr(self, "scoped_shop", None)
        return shop if shop is not None else getattr(self.instance, "shop", None)

    def clean_name(self):
        name = (self.cleaned_data.get("name") or "").strip()
        shop = self.builder_shop()
        taken = Segment.objects.filter(shop=shop, name=name).exclude(pk=self.instance.pk)
        if shop is not None and name and taken.exists():
            # The service's own words (it refuses the same under its transaction).
            raise ValidationError(
                gettext("The shop already has a segment named “%(name)s”.") % {"name": name}
            )
        return name

    def validate_unique(self):
        # The one per-shop constraint (the name) is checked by clean_name with a whole sentence.
        pass

    def clean_conditions(self):
        conditions = self.cleaned_data.get("conditions")
        if conditions is None:
            conditions = []
        shop = self.builder_shop()
        if shop is None:
            return conditions
        problems, self.condition_rows = admin_views.condition_errors(shop.pk, conditions)
        errors = list(problems)
        for number, messages in enumerate(self.condition_rows, start=1):
            errors.extend(
                _("Condition %(n)s: %(message)s") % {"n": number, "message": message}
                for message in messages
            )
        if errors:
            raise ValidationError(errors)
        return conditions


@admin.register(Segment)
class SegmentAdmin(ShopScopedAdmin, ModelAdmin):
    form = SegmentForm
    change_form_template = "admin/campaigns/segment/change_form.html"
    list_display = ("name", "members_now", "updated_at")
    search_fields = ("name",)
    ordering = ("name",)
    actions_list = ["rfm_link"]

    class Media:
        css = {"all": ["css/segment-builder.css"]}
        js = ["js/segment-builder.js"]

    # --- permissions: a segment belongs to a shop -------------------------------------------------

    def has_add_permission(self, request) -> bool:
        # A platform operator has no shop whose members a new segment would count.
        return request_shop(request) is not None and super().has_add_permission(request)

    def get_readonly_fields(self, request, obj=None):
        return ("shop",) if is_platform_operator(request) else ()

    # --- the list ---------------------------------------------------------------------------------

    @display(description=_("members now"))
    def members_now(self, obj: Segment):
        try:
            conditions = parse_conditions(obj.shop_id, obj.conditions)
        except ValidationError:
            return format_html(
                '<span class="text-red-600" data-testid="segment-broken">{}</span>',
                _("conditions need fixing"),
            )
        count = segment_count(obj.shop_id, conditions)
        return format_html(
            '<span data-testid="segment-count">{}</span> <span class="text-xs">({})</span>',
            f"{count.total:,}",
            _("LINE %(line)s") % {"line": f"{count.line:,}"},
        )

    @action(description=_("RFM groups"), url_path="rfm-link", icon="grid_view")
    def rfm_link(self, request):
        return HttpResponseRedirect(reverse("admin:campaigns_segment_rfm"))

    # --- the builder ------------------------------------------------------------------------------

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        group = request.GET.get("rfm")
        if group in RfmGroup.values:
            initial["conditions"] = [{"kind": "rfm", "groups": [group]}]
            initial["name"] = str(RfmGroup(group).label)
        return initial

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        shop = form.builder_shop() or request_shop(request)
        if shop is not None:
            if form.is_bound:
                conditions = form.data.get("conditions")
                try:
                    conditions = forms.JSONField().to_python(conditions)
                except ValidationError:
                    conditions = []
            else:
                conditions = form.initial.get("conditions") or []
            context["builder"] = admin_views.builder_data(shop, conditions, form.condition_rows)
            context["builder_segment"] = str(obj.public_id) if obj is not None else ""
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        """Through the services; a refusal under their checks (a name taken a moment ago) is an
        ``ApplicationError`` that ``ShopScopedAdmin.changeform_view`` shows as a message."""
        if change:
            segment_update(segment=obj, name=obj.name, conditions=obj.conditions)
            return
        shop = request_shop(request)
        saved = segment_create(shop=shop, name=obj.name, conditions=obj.conditions)
        # The admin goes on with the form's instance (messages, history, redirect): make it the
        # saved row.
        obj.pk, obj.shop, obj.public_id = saved.pk, saved.shop, saved.public_id
        obj.created_at, obj.updated_at = saved.created_at, saved.updated_at
        obj._state.adding, obj._state.db = False, saved._state.db

    # --- the builder's endpoints and the RFM grid -------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view

        def shop_admin(function):
            def wrapped(request, *args, **kwargs):
                if not self.has_view_permission(request):
                    raise PermissionDenied
                return function(request, *args, **kwargs)

            return wrapped

        return [
            path(
                "count/",
                view(require_POST(shop_admin(admin_views.count_view))),
                name="campaigns_segment_count",
            ),
            path(
                "members/",
                view(require_GET(shop_admin(admin_views.member_search_view))),
                name="campaigns_segment_member_search",
            ),
            path(
                "members/resolve/",
                view(require_POST(shop_admin(admin_views.member_resolve_view))),
                name="campaigns_segment_member_resolve",
            ),
            path(
                "products/",
                view(require_GET(shop_admin(admin_views.product_suggest_view))),
                name="campaigns_segment_products",
            ),
            path(
                "rfm/",
                view(shop_admin(admin_views_rfm.RfmGridView(self).dispatch)),
                name="campaigns_segment_rfm",
            ),
            *super().get_urls(),
        ]
