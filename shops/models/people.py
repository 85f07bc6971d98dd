"""The people of a shop in the back office and the API: staff users (with their role and branches)
and Open API keys."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shops.models.setup import Branch
from shops.models.shop import Shop


class User(AbstractUser):
    """A person who signs in: a platform operator (superuser, no shop), or a shop's owner, manager
    or cashier. Owners and managers use the admin; cashiers only the staff app, at their branches."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MANAGER = "manager", _("Manager")
        CASHIER = "cashier", _("Cashier")

    shop = models.ForeignKey(
        Shop,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("shop"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role, blank=True)
    branches = models.ManyToManyField(
        Branch,
        blank=True,
        related_name="staff",
        verbose_name=_("branches"),
        help_text=_("Branches where a cashier may work."),
    )
    # Hashed like the password; only ever checked where a manager approves a cashier's entry
    # (``shops.backends.ApprovalPinBackend``), never to sign in.
    approval_pin = models.CharField(_("approval PIN"), max_length=128, blank=True, editable=False)

    class Meta(AbstractUser.Meta):
        verbose_name = _("staff account")
        verbose_name_plural = _("staff accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(role="") | Q(shop__isnull=False), name="user_role_needs_shop"
            ),
        ]

    def clean(self) -> None:
        super().clean()
        # Said here in words; the database constraint backs it but its message is technical.
        if self.role and self.shop_id is None:
            raise ValidationError({"shop": _("A staff account with a role needs a shop.")})

    def set_approval_pin(self, raw_pin: str | None) -> None:
        """Store the PIN's hash (like ``set_password``); an empty PIN removes it."""
        self.approval_pin = make_password(raw_pin) if raw_pin else ""

    def check_approval_pin(self, raw_pin: str) -> bool:
        if not self.approval_pin or not raw_pin:
            return False
        return check_password(raw_pin, self.approval_pin)

    @property
    def is_shop_admin(self) -> bool:
        return (
            self.is_active
            and self.shop_id is not None
            and self.role
            in (
                self.Role.OWNER,
                self.Role.MANAGER,
            )
        )


class ApiKey(models.Model):
    """A shop's key for the Open API. The key is shown once when created; only its SHA-256 is
    stored (keys are 32 random bytes, so a fast hash is enough), with a short prefix to find it."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("shop")
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("Who uses this key, e.g. 'Web shop' or 'POS'.")
    )
    prefix = models.CharField(_("key starts with"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
