"""A shop's rich menus, their tap areas, and which menu each LINE user was last linked to."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.richmenus.layout import LAYOUT_CHOICES, Rect, validate_rich_menu_image
from shops.models import Shop, Tag, Tier

# LINE's richMenuAliasId: 1 to 32 of a-z, 0-9, "_" and "-"; unique per channel (here per shop).
ALIAS_ID_PATTERN = r"^[a-z0-9_-]{1,32}$"


def rich_menu_upload_to(instance: RichMenu, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    return f"richmenus/{instance.shop_id}/{uuid.uuid4().hex}.{extension}"


class RichMenu(models.Model):
    class Audience(models.TextChoices):
        DEFAULT = "default", _("Everyone (default menu)")
        UNBOUND = "unbound", _("Friends not bound to a member")
        BOUND = "bound", _("Members bound to LINE")
        TIER = "tier", _("Members of a tier")
        TAG = "tag", _("Members with a tag")
        TAB = "tab", _("Nobody: opened only as a tab")

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
    tag = models.ForeignKey(
        Tag,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tag"),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        blank=True,
        help_text=_(
            "When a LINE user matches several published menus, the highest priority wins; on a "
            "tie, the menu published last. Leave empty for the usual order: tier 30, tag 20, "
            "bound or not bound 10, everyone 0."
        ),
    )
    alias_id = models.CharField(
        _("tab alias"),
        max_length=32,
        blank=True,
        validators=[
            RegexValidator(
                ALIAS_ID_PATTERN,
                _("Use 1 to 32 lowercase letters a-z, digits, “_” or “-”."),
            )
        ],
        help_text=_(
            "Optional. A name other menus' “switch to another menu” areas use to open this "
            "menu as a tab: lowercase a-z, 0-9, “_” and “-”, up to 32, once per shop."
        ),
    )
    sync_state = models.CharField(
        _("sync state"), max_length=16, choices=SyncState.choices, default=SyncState.DRAFT
    )
    line_alias_id = models.CharField(_("alias at LINE"), max_length=32, blank=True, editable=False)
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
            ),
            models.CheckConstraint(
                condition=Q(audience="tag", tag__isnull=False)
                | (~Q(audience="tag") & Q(tag__isnull=True)),
                name="rich_menu_tag_only_for_tag_audience",
            ),
            models.UniqueConstraint(
                fields=["shop", "alias_id"],
                condition=~Q(alias_id=""),
                name="rich_menu_alias_once_per_shop",
                violation_error_message=_("Another menu of this shop already uses this alias."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if self.priority is None:
            self.priority = self.default_priority()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if (self.audience == self.Audience.TIER) != (self.tier_id is not None):
            raise ValidationError({"tier": _("Choose a tier for a tier menu, and only for one.")})
        if (self.audience == self.Audience.TAG) != (self.tag_id is not None):
            raise ValidationError({"tag": _("Choose a tag for a tag menu, and only for one.")})
        if self.shop_id is not None:
            for name in ("tier", "tag"):
                related = getattr(self, name)
                if related is not None and related.shop_id != self.shop_id:
                    raise ValidationError({name: _("Choose one of this shop's own.")})
        if self.priority is None:
            self.priority = self.default_priority()

    def default_priority(self) -> int:
        """The usual order of audiences: tier, then tag, then bound/not bound, then everyone."""
        return DEFAULT_PRIORITY.get(self.audience, 0)


DEFAULT_PRIORITY = {
    RichMenu.Audience.TIER: 30,
    RichMenu.Audience.TAG: 20,
    RichMenu.Audience.BOUND: 10,
    RichMenu.Audience.UNBOUND: 10,
    RichMenu.Audience.DEFAULT: 0,
    RichMenu.Audience.TAB: 0,
}


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
        SWITCH = "switch", _("Switch to another menu (tab)")

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
        if self.action == self.Action.SWITCH:
            self._clean_switch()
        given = [v is not None for v in (self.x, self.y, self.width, self.height)]
        if any(given) and not all(given):
            raise ValidationError(
                {"x": _("Give the area's x, y, width and height, or none of them.")}
            )

    def _clean_switch(self) -> None:
        """A switch opens another menu of the same shop by its alias (LINE's richmenuswitch)."""
        menu = self.menu if self.menu_id is not None or "menu" in self._state.fields_cache else None
        if menu is not None and self.value and self.value == menu.alias_id:
            return
        shop_id = menu.shop_id if menu is not None else self.shop_id
        if (
            not self.value
            or not RichMenu.objects.filter(shop_id=shop_id, alias_id=self.value).exists()
        ):
            raise ValidationError({"value": _("Enter the tab alias of another menu of this shop.")})

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
