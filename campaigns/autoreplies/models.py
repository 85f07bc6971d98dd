"""A shop's keyword rules, the keywords its LINE friends type, and its greeting."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.autoreplies import rules
from shops.models import Shop, Tier


def reply_image_upload_to(instance: KeywordRule, filename: str) -> str:
    # An unguessable name: the file is public (LINE fetches it) but no one can list or guess it.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    return f"autoreplies/{instance.shop_id}/{uuid.uuid4().hex}.{extension}"


class KeywordRule(models.Model):
    """Text a friend types → one reply, a different one for bound members and for others.

    Rules are tried in ``position`` order; the first active one in its time window that matches
    answers. A default rule (``is_default``) answers any text no other rule took.
    """

    class Match(models.TextChoices):
        EXACT = rules.EXACT, _("is exactly")
        CONTAINS = rules.CONTAINS, _("contains")
        STARTS_WITH = rules.STARTS_WITH, _("starts with")

    class Kind(models.TextChoices):
        TEXT = "text", _("Text only")
        IMAGE = "image", _("Text and a picture")
        IMAGEMAP = "imagemap", _("Text and a tappable picture")
        CARD = "card", _("Text and the member's points card")

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
        help_text=_(
            "For friends bound to a member. Empty: only the rule's picture or card, if it has one."
        ),
    )
    reply_unbound = models.TextField(
        _("reply to other friends"),
        blank=True,
        help_text=_(
            "For friends not bound to a member. Empty: only the rule's picture or card, if it has "
            "one."
        ),
    )
    kind = models.CharField(
        _("reply kind"),
        max_length=10,
        choices=Kind.choices,
        default=Kind.TEXT,
        help_text=_(
            "What follows the text: a picture, a picture with tappable areas, or a card with the "
            "member's points (a sign-up invitation for other friends)."
        ),
    )
    image = models.ImageField(
        _("picture"),
        upload_to=reply_image_upload_to,
        blank=True,
        help_text=_(
            "JPEG, PNG or WebP, at most 5 MB. LINE shows it up to 1040 px wide: a tappable "
            "picture looks best at least that wide."
        ),
    )
    image_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    imagemap_areas = models.TextField(
        _("tappable areas"),
        blank=True,
        help_text=_(
            "One area a line: x, y, width, height, then a link (https://…) or the text the friend "
            "sends. The picture counts as 1040 px wide."
        ),
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


class KeywordTierReply(models.Model):
    """A rule's reply to the members of one tier: it wins over the rule's reply to members."""

    rule = models.ForeignKey(
        KeywordRule, on_delete=models.CASCADE, related_name="tier_replies", verbose_name=_("rule")
    )
    tier = models.ForeignKey(
        Tier, on_delete=models.CASCADE, related_name="+", verbose_name=_("tier")
    )
    text = models.TextField(_("reply to members of this tier"))

    class Meta:
        verbose_name = _("reply for a tier")
        verbose_name_plural = _("replies for a tier")
        constraints = [
            models.UniqueConstraint(fields=["rule", "tier"], name="keyword_tier_reply_once")
        ]

    def __str__(self) -> str:
        return str(self.tier)


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

    coupons_keyword = models.BooleanField(
        _("answer the coupons keyword"),
        default=True,
        help_text=_(
            "When a friend types “คูปอง” or “coupons”: the member's usable coupons with the day "
            "each runs out, or the sign-up link."
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
