"""What a shop sends its members on LINE, per kind of notice: on or off, and the Thai and English
texts when the shop has edited them (empty = the product's default text, ``texts.DEFAULT_TEXTS``)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from shops.models import Shop


class NoticeKind(models.TextChoices):
    EARNED = "earned", _("Points earned")
    REDEEMED = "redeemed", _("Reward redeemed")
    SHIPPED = "shipped", _("Reward shipped")
    TIER_UP = "tier_up", _("New tier")
    EXPIRING = "expiring", _("Points expiring soon")
    WELCOME = "welcome", _("Welcome")


# Confirmations of something the member did or is owed: sent even to members who turned off
# notices. The others are news a member may turn off on the profile page.
ESSENTIAL_KINDS = frozenset({NoticeKind.EARNED, NoticeKind.REDEEMED, NoticeKind.SHIPPED})


class NotificationSetting(models.Model):
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="notification_settings", verbose_name=_("shop")
    )
    kind = models.CharField(_("notice"), max_length=16, choices=NoticeKind.choices)
    enabled = models.BooleanField(_("send it"), default=True)
    text_th = models.TextField(_("Thai text"), blank=True)
    text_en = models.TextField(_("English text"), blank=True)
    days_before = models.PositiveSmallIntegerField(
        _("days before the points expire"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("Only for “Points expiring soon”."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("LINE notification")
        verbose_name_plural = _("LINE notifications")
        ordering = ["shop", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "kind"], name="notification_setting_per_kind")
        ]

    def __str__(self) -> str:
        return str(NoticeKind(self.kind).label)
