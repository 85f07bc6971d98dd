"""A shop's keyword rules, the keywords its LINE friends type, and its greeting."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.autoreplies import rules
from shops.models import Shop


class KeywordRule(models.Model):
    """Text a friend types → one reply, a different one for bound members and for others.

    Rules are tried in ``position`` order; the first active one in its time window that matches
    answers. A default rule (``is_default``) answers any text no other rule took.
    """

    class Match(models.TextChoices):
        EXACT = rules.EXACT, _("is exactly")
        CONTAINS = rules.CONTAINS, _("contains")
        STARTS_WITH = rules.STARTS_WITH, _("starts with")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="keyword_rules", verbose_name=_("shop")
    )
    name = models.CharField(_("name"), max_length=100)
    match = models.CharField(_("match"), max_length=16, choices=Match.choices, default=Match.EXACT)
    keywords = models.TextField(
        _("keywords"), blank=True, help_text=_("One a line. Spaces and Thai digits do not matter.")
    )
    position = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default reply"), default=False, help_text=_("Answers any text no other rule matched.")
    )
    start_time = models.TimeField(_("from (time of day)"), null=True, blank=True)
    end_time = models.TimeField(_("until (time of day)"), null=True, blank=True)
    start_date = models.DateField(_("from (date)"), null=True, blank=True)
    end_date = models.DateField(_("until (date)"), null=True, blank=True)
    reply_bound = models.TextField(
        _("reply to members"),
        blank=True,
        help_text=_("For friends bound to a member. Empty: no reply."),
    )
    reply_unbound = models.TextField(
        _("reply to other friends"),
        blank=True,
        help_text=_("For friends not bound to a member. Empty: no reply."),
    )
    sent_count = models.PositiveIntegerField(_("replies sent"), default=0, editable=False)
    last_sent_at = models.DateTimeField(_("last reply"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("keyword reply")
        verbose_name_plural = _("keyword replies")
        ordering = ["shop", "position", "pk"]
        indexes = [models.Index(fields=["shop", "position"], name="keyword_rule_shop_position")]

    def __str__(self) -> str:
        return self.name


class TypedKeyword(models.Model):
    """One text (normalised) friends typed to a shop: how often, and which rule answered it last."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="typed_keywords", verbose_name=_("shop")
    )
    text = models.CharField(_("text"), max_length=200)
    count = models.PositiveIntegerField(_("times typed"), default=0)
    rule = models.ForeignKey(
        KeywordRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="typed",
        verbose_name=_("matched rule"),
    )
    last_seen_at = models.DateTimeField(_("last typed"), null=True)

    class Meta:
        verbose_name = _("typed keyword")
        verbose_name_plural = _("typed keywords")
        constraints = [
            models.UniqueConstraint(fields=["shop", "text"], name="typed_keyword_once_per_shop")
        ]

    def __str__(self) -> str:
        return self.text


class Greeting(models.Model):
    """What a shop says when someone adds its LINE account: new or returning (unblocked) friend,
    bound to a member or not. Empty = no greeting for that case. Also the built-in keywords."""

    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, related_name="line_greeting", verbose_name=_("shop")
    )
    new_bound = models.TextField(_("new friend, member"), blank=True)
    new_unbound = models.TextField(_("new friend, not a member"), blank=True)
    returning_bound = models.TextField(_("returning friend, member"), blank=True)
    returning_unbound = models.TextField(_("returning friend, not a member"), blank=True)
    points_keyword = models.BooleanField(
        _("answer the points keyword"),
        default=True,
        help_text=_(
            "When a friend types “พอยท์”, “แต้ม” or “points”: the member's balance and the "
            "points about to expire, or the sign-up link."
        ),
    )

    link_keyword = models.BooleanField(
        _("answer the link keyword"),
        default=True,
        help_text=_(
            "When a friend types “ผูกบัญชี” or “link”: a button to link their LINE account to "
            "their member account."
        ),
    )

    class Meta:
        verbose_name = _("LINE greeting")
        verbose_name_plural = _("LINE greetings")

    def __str__(self) -> str:
        return str(self.shop)
