"""A member's claim on a pending member's phone, and the one-time codes that prove it.

Anyone can type a phone number at sign-up, so typing the phone of a *pending* member (points
collected at the store with a phone alone) proves nothing. The sign-up makes the new account at
once, without that phone, and records a ``PhoneClaim``; the pending member keeps its phone, points
and history until the claim is proven:

- by SMS: a ``PhoneCode`` (6 digits, only its keyed hash stored) sent to the phone and typed back
  on the member pages; or
- at the counter: a cashier scans the member's card, checks the customer's phone or ID, and
  confirms (who and where are recorded on the claim and in the staff activity log).

The first proof wins: the pending member is merged into the proving account
(``members.phone_claims.merge``), and every other open claim on it is lost. Codes are kept
``OTP_RETENTION_DAYS`` for the rate limits and the record, then purged.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.phones import format_phone_local
from shops.models import Branch, Shop


class PhoneClaim(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for proof")
        PROVEN = "proven", _("Proven, points moved")
        LOST = "lost", _("Proven by another account")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Method(models.TextChoices):
        SMS = "sms", _("Code by SMS")
        COUNTER = "counter", _("Confirmed at the counter")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="phone_claims", verbose_name=_("shop")
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="phone_claims",
        verbose_name=_("member"),
        help_text=_("The account that says the phone number is theirs."),
    )
    pending = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("pending member"),
        help_text=_("The record with the phone number and its points."),
    )
    phone = models.CharField(_("phone"), max_length=16, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.OPEN)
    method = models.CharField(_("proven by"), max_length=10, choices=Method, blank=True)
    points_moved = models.BigIntegerField(_("points moved"), default=0)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    # Kept as text too, so the record still says who after a staff account is deleted.
    confirmed_by_name = models.CharField(_("confirmed by (username)"), max_length=150, blank=True)
    branch = models.ForeignKey(
        Branch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("branch"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("phone claim")
        verbose_name_plural = _("phone claims")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open claim per account; one proof per pending member (exactly one merge).
            models.UniqueConstraint(
                fields=["member"], condition=Q(status="open"), name="phoneclaim_one_open_per_member"
            ),
            models.UniqueConstraint(
                fields=["pending"],
                condition=Q(status="proven"),
                name="phoneclaim_one_proof_per_pending",
            ),
            models.CheckConstraint(
                condition=~Q(member=models.F("pending")), name="phoneclaim_not_self"
            ),
        ]
        indexes = [models.Index(fields=["pending", "status"], name="phoneclaim_pending_status")]

    def __str__(self) -> str:
        return f"{format_phone_local(self.phone)} ({self.get_status_display()})"

    @property
    def phone_local(self) -> str:
        return format_phone_local(self.phone)


class PhoneCode(models.Model):
    """One one-time code sent by SMS. Only an HMAC of the code (keyed with ``SECRET_KEY`` and
    this row's ``salt``) is stored, so the table alone does not give the codes away."""

    class Purpose(models.TextChoices):
        PHONE_CLAIM = "phone_claim", _("Prove a phone number")
        # Who a LINE user is, on the shop's account-link page (members.line.accountlink).
        ACCOUNT_LINK = "account_link", _("Link a LINE account")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    # The claim a phone-claim code proves; none for an account-link code.
    claim = models.ForeignKey(
        PhoneClaim,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="codes",
        verbose_name=_("claim"),
    )
    purpose = models.CharField(
        _("purpose"), max_length=20, choices=Purpose, default=Purpose.PHONE_CLAIM
    )
    phone = models.CharField(_("phone"), max_length=16, blank=True)
    # The LINE account that asked, for the per-account rate limit (across shops).
    line_user_id = models.CharField(_("LINE user ID"), max_length=64, blank=True)
    salt = models.UUIDField(default=uuid.uuid4, editable=False)
    code_hash = models.CharField(max_length=64, editable=False)
    attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    message_id = models.CharField(_("gateway message ID"), max_length=64, blank=True)
    send_error = models.CharField(_("sending failed"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The rate limits count recent codes per phone and per LINE account; the purge
            # deletes by age.
            models.Index(fields=["phone", "created_at"], name="phonecode_phone_time"),
            models.Index(fields=["line_user_id", "created_at"], name="phonecode_line_time"),
            models.Index(fields=["created_at"], name="phonecode_time"),
        ]

    def __str__(self) -> str:
        return f"{format_phone_local(self.phone)} {self.created_at:%Y-%m-%d %H:%M}"
