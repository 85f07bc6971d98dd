"""The "LINE friends" page: who added the shop's LINE Official Account, who blocked it, and who of
them the shop knows as a member (bound). A window onto the data the webhook keeps: nothing is
added or changed here (binding is done on the member, and LINE's events decide the state).

Also the "LINE binding records" page (every bind and unbind, read-only) and the member page's
"Bind LINE account" / "Unbind LINE account" (``MemberBindingAdminMixin``).

Bound here means linked to a member of the shop (the member has this LINE user id), with or
without a Customer ID: the shop knows which of its customers this LINE user is.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from loyalty.errors import ApplicationError
from loyalty.text import TypedTextForm
from members.line import binding
from members.line.models import BindingRecord, LineFriend
from members.line.selectors import line_friend_counts, unbound_friends
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
