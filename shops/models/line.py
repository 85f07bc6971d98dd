"""A shop's connection to LINE: the LINE Login channel (and its LIFF app) that members sign in
with, and the Messaging API channel: its secret signs the webhook events LINE posts, its access
token (long-lived, or v2.1 tokens issued from the channel's assertion key) sends messages.

One row per shop. The secrets, tokens and the private key are write-only in the back office (the
form never shows them back, an empty field keeps the stored value) and encrypted at rest
(``loyalty.crypto.EncryptedTextField``).
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty.crypto import EncryptedTextField
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
    login_channel_secret = EncryptedTextField(
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
    messaging_channel_id = models.CharField(
        _("Messaging API channel ID"),
        max_length=20,
        blank=True,
        validators=[validate_channel_id],
        help_text=_("LINE Developers console → your Messaging API channel → Basic settings."),
    )
    messaging_channel_secret = EncryptedTextField(
        _("Messaging API channel secret"),
        max_length=64,
        blank=True,
        help_text=_(
            "Checks that webhook events really come from LINE. Stored, never shown again. Leave "
            "empty to keep the saved secret."
        ),
    )
    messaging_access_token = EncryptedTextField(
        _("Messaging API channel access token"),
        max_length=255,
        blank=True,
        help_text=_(
            "A long-lived token (Messaging API tab → Channel access token). Stored, never shown "
            "again. Leave empty to keep the saved token."
        ),
    )
    assertion_kid = models.CharField(
        _("assertion signing key ID (kid)"),
        max_length=64,
        blank=True,
        help_text=_(
            "Optional, instead of a long-lived token: the kid LINE gave for your public key; "
            "short-lived channel access tokens (v2.1) are then issued from the private key."
        ),
    )
    assertion_private_key = EncryptedTextField(
        _("assertion private key (JWK)"),
        max_length=4000,
        blank=True,
        help_text=_(
            "The private key (JWK JSON) that matches the kid. Stored, never shown again. Leave "
            "empty to keep the saved key."
        ),
    )
    # The last v2.1 token issued from the assertion key, reused until shortly before it expires
    # (``shops.services.line_channel_access_token``); never shown in the back office.
    issued_access_token = EncryptedTextField(_("issued channel access token"), blank=True)
    issued_access_token_expires_at = models.DateTimeField(
        _("issued token expires"), null=True, blank=True
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
        self.messaging_channel_id = (self.messaging_channel_id or "").strip()
        self.messaging_channel_secret = (self.messaging_channel_secret or "").strip()
        self.assertion_kid = (self.assertion_kid or "").strip()
        self.assertion_private_key = (self.assertion_private_key or "").strip()
        errors = {}
        if self.messaging_channel_secret and not self.messaging_channel_id:
            errors["messaging_channel_id"] = _(
                "Enter the ID of the Messaging API channel this secret belongs to."
            )
        if self.assertion_kid and not self.assertion_private_key:
            errors["assertion_private_key"] = _("Enter the private key that matches this kid.")
        if self.assertion_private_key and not self.assertion_kid:
            errors["assertion_kid"] = _("Enter the kid LINE gave for this key.")
        if self.assertion_kid and not self.messaging_channel_id:
            errors["messaging_channel_id"] = _(
                "Tokens are issued for a channel: enter the Messaging API channel ID."
            )
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

    @property
    def webhook_ready(self) -> bool:
        """Whether webhook events can be verified: a Messaging API channel with its secret."""
        return bool(self.messaging_channel_id and self.messaging_channel_secret)
