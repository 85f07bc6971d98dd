"""A shop's rich menus, their tap areas, and which menu each LINE user was last linked to."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.richmenus.layout import LAYOUT_CHOICES, Rect, validate_rich_menu_image
from shops.models import Shop, Tag, Tier


def rich_menu_upload_to(instance: RichMenu, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    return f"richmenus/{instance.shop_id}/{uuid.uuid4().hex}.{extension}"


class RichMenu(models.Model):
    class Audience(models.TextChoices):
        DEFAULT = "default", _("Everyone (default menu)")
        UNBOUND = "unbound", _("Friends not bound to a member")
        BOUND = "bound", _("Members bound to LINE")
        TIER = "tier", _("Members of a tier")

    class SyncState(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        FAILED = "failed", _("Failed")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="rich_menus", verbose_name=_("shop")
    )
    name = models.CharField(_("name"), max_length=300)
    chat_bar_text = models.CharField(
        _("chat bar text"), max_length=14, help_text=_("Shown under the chat; up to 14 characters.")
    )
    image = models.ImageField(
        _("picture"),
        upload_to=rich_menu_upload_to,
        validators=[validate_rich_menu_image],
        help_text=_(
            "JPEG or PNG, at most 1 MB: 2500×1686, 2500×843, 1200×810, 1200×405 or 800×540."
        ),
    )
    layout = models.PositiveSmallIntegerField(_("areas"), choices=LAYOUT_CHOICES, default=6)
    audience = models.CharField(
        _("audience"), max_length=16, choices=Audience.choices, default=Audience.DEFAULT
    )
    tier = models.ForeignKey(
        Tier,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tier"),
    )
    sync_state = models.CharField(
        _("sync state"), max_length=16, choices=SyncState.choices, default=SyncState.DRAFT
    )
    line_error = models.TextField(_("LINE's message"), blank=True, editable=False)
    line_rich_menu_id = models.CharField(
        _("LINE rich menu ID"), max_length=100, blank=True, editable=False
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("rich menu")
        verbose_name_plural = _("rich menus")
        constraints = [
            models.CheckConstraint(
                condition=Q(audience="tier", tier__isnull=False)
                | (~Q(audience="tier") & Q(tier__isnull=True)),
                name="rich_menu_tier_only_for_tier_audience",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (self.audience == self.Audience.TIER) != (self.tier_id is not None):
            raise ValidationError({"tier": _("Choose a tier for a tier menu, and only for one.")})


class RichMenuArea(models.Model):
    """One tap area of a menu: its action, its rectangle (custom layouts only: grid layouts cut
    the picture evenly, see ``layout.area_rects``) and the action tags a member who taps it gets."""

    class Action(models.TextChoices):
        CARD = "card", _("Member card")
        REWARDS = "rewards", _("Rewards")
        HISTORY = "history", _("Points history")
        COUPONS = "coupons", _("My coupons")
        PROFILE = "profile", _("Profile")
        SIGNUP = "signup", _("Sign up")
        URL = "url", _("Web address")
        MESSAGE = "message", _("Send a message")
        POSTBACK = "postback", _("Postback")

    # Actions whose tap can reach us and tag the member: a link (through the tracked redirect) or a
    # postback (through the webhook). A message action is typed by the user as text: no tags.
    TAGGABLE = frozenset(
        {
            Action.CARD,
            Action.REWARDS,
            Action.HISTORY,
            Action.COUPONS,
            Action.PROFILE,
            Action.SIGNUP,
            Action.URL,
            Action.POSTBACK,
        }
    )

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop")
    )
    menu = models.ForeignKey(
        RichMenu, on_delete=models.CASCADE, related_name="areas", verbose_name=_("rich menu")
    )
    index = models.PositiveSmallIntegerField(_("area"), help_text=_("1 is top left."))
    action = models.CharField(
        _("action"), max_length=16, choices=Action.choices, default=Action.CARD
    )
    value = models.CharField(
        _("value"),
        max_length=1000,
        blank=True,
        help_text=_("The web address, the message or the postback data; empty for member pages."),
    )
    x = models.PositiveIntegerField(_("x"), null=True, blank=True)
    y = models.PositiveIntegerField(_("y"), null=True, blank=True)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    tags = models.ManyToManyField(
        Tag,
        blank=True,
        related_name="+",
        verbose_name=_("action tags"),
        help_text=_("A member who taps this area gets these tags."),
    )
    tap_count = models.PositiveIntegerField(_("taps"), default=0, editable=False)

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["menu", "index"], name="rich_menu_area_once"),
            models.CheckConstraint(
                condition=Q(x__isnull=True, y__isnull=True, width__isnull=True, height__isnull=True)
                | Q(
                    x__isnull=False,
                    y__isnull=False,
                    width__gte=1,
                    height__gte=1,
                ),
                name="rich_menu_area_rect_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.index}: {self.get_action_display()}"

    def clean(self) -> None:
        if self.action == self.Action.URL and not self.value.startswith(("https://", "http://")):
            raise ValidationError({"value": _("Enter a web address starting with https://.")})
        if self.action in (self.Action.MESSAGE, self.Action.POSTBACK) and not self.value:
            raise ValidationError({"value": _("Enter the message or postback data.")})
        given = [v is not None for v in (self.x, self.y, self.width, self.height)]
        if any(given) and not all(given):
            raise ValidationError(
                {"x": _("Give the area's x, y, width and height, or none of them.")}
            )

    @property
    def rect(self) -> Rect | None:
        """The custom rectangle, or None (grid layouts)."""
        if self.x is None or self.y is None or self.width is None or self.height is None:
            return None
        return Rect(self.x, self.y, self.width, self.height)


class RichMenuLink(models.Model):
    """The rich menu a LINE user of the shop was last linked to at LINE ("" = none: LINE shows
    the default menu). Kept so that an unchanged audience costs no LINE call."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop")
    )
    line_user_id = models.CharField(_("LINE user ID"), max_length=64)
    line_rich_menu_id = models.CharField(_("LINE rich menu ID"), max_length=100, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("rich menu link")
        verbose_name_plural = _("rich menu links")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "line_user_id"], name="rich_menu_link_once_per_user"
            )
        ]

    def __str__(self) -> str:
        return self.line_user_id
