"""A shop's connection to LINE: the LINE Login channel (and its LIFF app) that members sign in
with, and the Messaging API channel access token later issues push messages with.

One row per shop. The channel secret and the access token are write-only in the back office: the
form never shows them back, and an empty field keeps the stored value.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from shops.models.shop import Shop

validate_channel_id = RegexValidator(
    r"^\d{6,20}$", _("A LINE channel ID is a number, e.g. 1650000000.")
)
validate_liff_id = RegexValidator(
    r"^\d{6,20}-[A-Za-z0-9]{4,20}$", _("A LIFF ID looks like 1650000000-AbCdEfGh.")
)


class ShopLineChannel(models.Model):
    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, related_name="line_channel", verbose_name=_("shop")
    )
    login_channel_id = models.CharField(
        _("LINE Login channel ID"),
        max_length=20,
        blank=True,
        validators=[validate_channel_id],
        help_text=_("LINE Developers console → your LINE Login channel → Basic settings."),
    )
    login_channel_secret = models.CharField(
        _("LINE Login channel secret"),
        max_length=64,
        blank=True,
        help_text=_("Stored, never shown again. Leave empty to keep the saved secret."),
    )
    liff_id = models.CharField(
        _("LIFF ID"),
        max_length=64,
        blank=True,
        validators=[validate_liff_id],
        help_text=_(
            "Optional. The LIFF app of the LINE Login channel, so that members who open the "
            "pages inside LINE are signed in without a LINE Login screen."
        ),
    )
    messaging_access_token = models.CharField(
        _("Messaging API channel access token"),
        max_length=255,
        blank=True,
        help_text=_(
            "Optional, for messages to members (later). Stored, never shown again. Leave empty "
            "to keep the saved token."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("LINE settings")
        verbose_name_plural = _("LINE settings")

    def __str__(self) -> str:
        return str(_("LINE settings of %(shop)s") % {"shop": self.shop})

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        self.login_channel_id = (self.login_channel_id or "").strip()
        self.login_channel_secret = (self.login_channel_secret or "").strip()
        self.liff_id = (self.liff_id or "").strip()
        self.messaging_access_token = (self.messaging_access_token or "").strip()
        errors = {}
        if self.login_channel_id and not self.login_channel_secret:
            errors["login_channel_secret"] = _(
                "Enter the channel secret of this LINE Login channel."
            )
        if self.liff_id and not self.login_channel_id:
            errors["login_channel_id"] = _("A LIFF app needs the LINE Login channel it belongs to.")
        if (
            self.liff_id
            and self.login_channel_id
            and not self.liff_id.startswith(f"{self.login_channel_id}-")
        ):
            errors["liff_id"] = _(
                "This LIFF ID belongs to another channel: it starts with that channel's ID."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def login_ready(self) -> bool:
        """Whether members can sign in: a LINE Login channel with its secret."""
        return bool(self.login_channel_id and self.login_channel_secret)
