"""SMS from the shop to its members: the shop's settings (sender name, monthly budget), the
numbers that opted out, and the outbox of messages to send.

An SMS is written as a row (queued) in the transaction that decides it, then a job sends queued
rows through the configured gateway (``loyalty.sms``) after that transaction committed. A message
the shop's monthly budget cannot pay for waits as *held* until the budget allows (next month, or
a raised budget).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shops.models import Shop

# Gateways (ThaiBulkSMS among them) register sender names of up to 11 ASCII letters and digits.
validate_sender_name = RegexValidator(
    r"^[A-Za-z0-9]{1,11}$",
    _("A sender name is 1 to 11 English letters or digits, without spaces (e.g. CAFEAROI)."),
    code="sender_name",
)


class SmsSettings(models.Model):
    """A shop's SMS: the sender name its messages show and what it may spend a month."""

    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, related_name="sms_settings", verbose_name=_("shop")
    )
    sender_name = models.CharField(
        _("sender name"),
        max_length=11,
        blank=True,
        validators=[validate_sender_name],
        help_text=_(
            "The name members see as the sender, as registered with the SMS provider: up to 11 "
            "English letters or digits (e.g. CAFEAROI). Empty: the system's default sender."
        ),
    )
    monthly_budget = models.PositiveIntegerField(
        _("monthly budget (SMS credits)"),
        default=0,
        help_text=_(
            "SMS credits the shop may use each calendar month. A long message costs more than one "
            "credit: a Thai SMS holds 70 characters, or 67 per part when longer. When the budget "
            "is used up, the other messages wait until next month or until the budget is raised. "
            "0: no SMS."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("SMS settings")
        verbose_name_plural = _("SMS settings")

    def __str__(self) -> str:
        return str(_("SMS settings"))


class SmsOptOut(models.Model):
    """A phone number that asked for no more marketing SMS from the shop (honoured on every
    later send, and checked again just before each message goes out)."""

    class How(models.TextChoices):
        LINK = "link", _("The link in an SMS")
        STAFF = "staff", _("Added by staff")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="sms_opt_outs", verbose_name=_("shop")
    )
    phone = models.CharField(_("phone"), max_length=16)
    how = models.CharField(_("how"), max_length=5, choices=How)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("SMS opt-out")
        verbose_name_plural = _("SMS opt-outs")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "phone"],
                name="sms_opt_out_once_per_shop",
                violation_error_message=_("This number has already opted out of the shop's SMS."),
            )
        ]

    def __str__(self) -> str:
        return self.phone


class SmsMessage(models.Model):
    """One SMS to one number: queued → sending (claimed by the job) → sent, failed, held (over
    the monthly budget; sent when it allows) or skipped (the number opted out meanwhile)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        HELD = "held", _("Held: over the monthly budget")
        SKIPPED = "skipped", _("Not sent")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="sms_messages", verbose_name=_("shop")
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sms_messages",
        verbose_name=_("member"),
    )
    phone = models.CharField(_("phone"), max_length=16)
    text = models.TextField(_("text"))
    credits = models.PositiveSmallIntegerField(_("credits"), default=1)
    marketing = models.BooleanField(
        _("marketing"),
        default=True,
        help_text=_(
            "Marketing messages carry an opt-out link and are not sent to opted-out numbers."
        ),
    )
    source = models.CharField(_("source"), max_length=80, blank=True)
    dedupe_key = models.CharField(max_length=120, blank=True, editable=False)
    state = models.CharField(_("state"), max_length=8, choices=State, default=State.QUEUED)
    provider_message_id = models.CharField(_("provider's message ID"), max_length=64, blank=True)
    error = models.TextField(_("why not sent"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("tries"), default=0)
    next_attempt_at = models.DateTimeField(_("next try"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("handed to the provider"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="sms_message_dedupe",
            ),
            models.CheckConstraint(condition=Q(credits__gte=1), name="sms_message_credits"),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="sms_message_due"),
            models.Index(fields=["shop", "state", "claimed_at"], name="sms_message_spent"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} · {self.get_state_display()}"
