"""Points claims: the cashier types a spend and shows a one-time QR code; the member who opens it
in LINE gets the points.

A claim is single use and lives a few minutes. Its token is stored as is (unlike invite tokens):
the cashier's screen must be able to redraw the QR code after a reload, the token is worth a few
points for a few minutes, and it stops working the moment it is used.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.dates import format_people_date
from shops.models import Branch, Shop


class PointsClaim(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("Waiting for the member")
        CLAIMED = "claimed", _("Points collected")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="points_claims", verbose_name=_("shop")
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cashier"),
    )
    amount = models.DecimalField(
        _("amount (THB)"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    # The manager who approved an amount above the shop's cashier amount limit; the entry made
    # when the code is collected records it too.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    receipt_no = models.CharField(_("receipt number"), max_length=64, blank=True)
    token = models.CharField(max_length=64, unique=True, editable=False)
    # The hidden UUID of the cashier's form: a double tap makes one claim.
    create_key = models.CharField(max_length=200, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    claimed_by = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("collected by"),
    )
    claimed_at = models.DateTimeField(_("collected"), null=True, blank=True)
    entry = models.OneToOneField(
        "members.LedgerEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_claim",
        verbose_name=_("points entry"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("points QR code")
        verbose_name_plural = _("points QR codes")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "create_key"], name="pointsclaim_create_key_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="pointsclaim_amount_positive"),
            models.CheckConstraint(
                condition=Q(claimed_by__isnull=True, claimed_at__isnull=True, entry__isnull=True)
                | Q(claimed_by__isnull=False, claimed_at__isnull=False, entry__isnull=False),
                name="pointsclaim_claimed_together",
            ),
        ]
        indexes = [models.Index(fields=["shop", "branch", "-created_at"], name="claim_branch_time")]

    def __str__(self) -> str:
        return f"{self.amount} THB ({format_people_date(self.created_at, with_time=True)})"

    def state_at(self, now=None) -> str:
        if self.claimed_by_id is not None:
            return self.State.CLAIMED
        if self.cancelled_at is not None:
            return self.State.CANCELLED
        if self.expires_at <= (now or timezone.now()):
            return self.State.EXPIRED
        return self.State.OPEN

    @property
    def state(self) -> str:
        return self.state_at()
