"""Sign-up questions (with their choices and tags) and consent records in the back office.

Questions are shop settings: saved through ``shops.services.shop_row_save`` under the shop's lock,
so the limit of ``LOYALTY_MAX_SIGNUP_QUESTIONS`` holds even for two owners adding the last one at
once. Consent records are evidence (PDPA): read-only here.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from members.models import Member
from members.signup.models import (
    MAX_CHOICES_PER_QUESTION,
    ConsentRecord,
    SignupAnswer,
    SignupChoice,
    SignupQuestion,
)
from shops.tenancy import ShopScopedAdmin, ShopScopedMixin, ShopSettingsAdmin


class ChoiceFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            f
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("label")
        ]
        kind = getattr(self.instance, "kind", None)
        if kind in SignupQuestion.CHOICE_KINDS and len(kept) < 2:
            raise ValidationError(_("A choice question needs at least 2 choices."))
        if len(kept) > MAX_CHOICES_PER_QUESTION:
            raise ValidationError(
                _("A question can have at most %(limit)s choices."),
                params={"limit": MAX_CHOICES_PER_QUESTION},
            )


class SignupChoiceInline(ShopScopedMixin, TabularInline):
    model = SignupChoice
    formset = ChoiceFormSet
    extra = 0
    fields = ("label", "tag", "order")
    verbose_name = _("choice")
    verbose_name_plural = _("choices (for single and multiple choice questions)")

    def get_max_num(self, request, obj=None, **kwargs):
        return MAX_CHOICES_PER_QUESTION

    def get_queryset(self, request):
        # The parent question is already scoped to the shop; list its choices.
        return SignupChoice.objects.all()


@admin.register(SignupQuestion)
class SignupQuestionAdmin(ShopSettingsAdmin):
    list_display = ("label", "kind", "required", "is_active", "order", "choice_count")
    list_filter = ("kind", "required", "is_active")
    search_fields = ("label",)
    fields = ("shop", "label", "kind", "required", "help_text", "order", "is_active")
    ordering = ("order", "id")
    inlines = [SignupChoiceInline]

    @display(description=_("choices"))
    def choice_count(self, obj: SignupQuestion) -> int:
        return obj.choices.count() if obj.has_choices else 0

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "subtitle": _("Up to %(limit)s questions of your own, asked after the base questions.")
            % {"limit": settings.LOYALTY_MAX_SIGNUP_QUESTIONS},
        }
        return super().changelist_view(request, extra_context)

    @transaction.atomic
    def save_formset(self, request, form, formset, change):
        if formset.model is not SignupChoice:
            formset.save()
            return
        question = form.instance
        changed = formset.save(commit=False)
        for choice in formset.deleted_objects:
            choice.delete()
        for choice in changed:
            choice.question = question
            choice.shop_id = question.shop_id
            choice.full_clean()
            choice.save()
        # Choices of a question whose type is no longer a choice are kept but not asked.


class SignupAnswerInline(ShopScopedMixin, TabularInline):
    """The member's answers on the member's page in the back office (read-only)."""

    model = SignupAnswer
    extra = 0
    fields = ("question", "answer")
    readonly_fields = ("question", "answer")
    verbose_name_plural = _("sign-up answers")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return SignupAnswer.objects.select_related("question").prefetch_related("choices")

    @display(description=_("answer"))
    def answer(self, obj: SignupAnswer) -> str:
        return obj.display_value(list(obj.choices.all()))


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ShopScopedAdmin, ModelAdmin):
    list_display = ("recorded_at", "member", "kind", "version", "granted", "method")
    list_filter = ("kind", "granted", "method", ("recorded_at", admin.DateFieldListFilter))
    list_select_related = ("member",)
    search_fields = ("member__phone", "member__first_name", "member__last_name")
    date_hierarchy = "recorded_at"
    readonly_fields = [f.name for f in ConsentRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Show the answers on the member's page: added to the registered MemberAdmin rather than edited
# into members/admin.py, which belongs to the foundation.
_member_admin = admin.site._registry.get(Member)
if _member_admin is not None and SignupAnswerInline not in _member_admin.inlines:
    _member_admin.inlines = [*_member_admin.inlines, SignupAnswerInline]
