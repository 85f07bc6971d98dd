"""The outbox table: one row per LINE push, or per multicast batch of up to 500 recipients."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_RECIPIENTS = 500  # LINE: a multicast reaches at most 500 users
MAX_MESSAGES = 5  # LINE: a push or multicast carries at most 5 message objects


class OutboxMessage(models.Model):
    """A message on its way to LINE: who, what, and what LINE answered.

    ``retry_key`` is sent as ``X-Line-Retry-Key`` on every attempt, so LINE accepts the row once
    whatever happens to the worker; a replay is answered 409 and counts as sent. ``dedupe_key``
    (with ``batch``) makes one cause enqueue once per shop.
    """

    class Kind(models.TextChoices):
        PUSH = "push", _("Push")
        MULTICAST = "multicast", _("Multicast")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")
        QUOTA = "quota", _("Stopped: monthly quota")

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.CASCADE, related_name="+", verbose_name=_("shop")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    recipients = models.JSONField(_("recipients"), default=list)
    messages = models.JSONField(_("messages"), default=list)
    retry_key = models.UUIDField(_("retry key"), default=uuid.uuid4, unique=True, editable=False)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    request_id = models.CharField(_("LINE request id"), max_length=64, blank=True)
    accepted_request_id = models.CharField(_("accepted request id"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    sent_count = models.PositiveIntegerField(_("recipients reached"), default=0)
    skipped_count = models.PositiveIntegerField(_("recipients skipped"), default=0)
    source = models.CharField(_("source"), max_length=200, blank=True)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, blank=True)
    batch = models.PositiveIntegerField(_("batch"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("LINE message")
        verbose_name_plural = _("LINE outbox")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "dedupe_key", "batch"],
                condition=~Q(dedupe_key=""),
                name="outbox_dedupe_key_unique_per_shop",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_state_display()})"

    @property
    def recipient_count(self) -> int:
        return len(self.recipients)
