"""Webhook events as LINE delivered them, and the LINE friends of each shop's Official Account.

``WebhookEvent`` keeps each event once per shop (``webhookEventId`` is the same on LINE's
redeliveries), with the raw JSON, until the task has processed it. ``LineFriend`` is the state a
user's follow and unfollow events leave: the later event by LINE's timestamp wins, whatever order
they arrive in.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from shops.models import Shop


class WebhookEvent(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", _("waiting")
        PROCESSED = "processed", _("processed")
        UNHANDLED = "unhandled", _("no handler")
        FAILED = "failed", _("failed")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="line_webhook_events", verbose_name=_("shop")
    )
    webhook_event_id = models.CharField(_("webhook event ID"), max_length=64)
    event_type = models.CharField(_("event type"), max_length=32)
    line_user_id = models.CharField(_("LINE user ID"), max_length=64, blank=True)
    # LINE's event time in milliseconds since the epoch: the order events are applied in.
    timestamp_ms = models.BigIntegerField(_("event time (ms)"))
    is_redelivery = models.BooleanField(_("redelivered"), default=False)
    payload = models.JSONField(_("event"))
    received_at = models.DateTimeField(_("received"))
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.PENDING
    )
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("LINE webhook event")
        verbose_name_plural = _("LINE webhook events")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "webhook_event_id"], name="line_webhook_event_once_per_shop"
            )
        ]
        indexes = [
            models.Index(fields=["shop", "outcome"], name="line_webhook_event_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_event_id}"


class LineFriend(models.Model):
    class State(models.TextChoices):
        FRIEND = "friend", _("friend")
        BLOCKED = "blocked", _("blocked")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="line_friends", verbose_name=_("shop")
    )
    line_user_id = models.CharField(_("LINE user ID"), max_length=64)
    state = models.CharField(_("state"), max_length=16, choices=State.choices)
    followed_at = models.DateTimeField(_("added as friend"), null=True, blank=True)
    unfollowed_at = models.DateTimeField(_("blocked"), null=True, blank=True)
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="line_friends",
        verbose_name=_("member"),
    )
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("LINE friend")
        verbose_name_plural = _("LINE friends")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "line_user_id"], name="line_friend_once_per_shop"
            )
        ]
        indexes = [models.Index(fields=["shop", "state"], name="line_friend_state")]

    def __str__(self) -> str:
        return self.line_user_id

    @property
    def is_bound(self) -> bool:
        """Bound: the shop knows which of its members this LINE user is."""
        return self.member_id is not None


class BindingRecord(models.Model):
    """One change of a member's LINE binding: who bound or unbound which LINE user, how, when.

    Written by ``members.line.binding`` only, once per actual change (binding the id a member
    already has writes none). The LINE and Customer IDs are copied, so the record still reads
    after the member is merged or its identifiers change; erasing the member blanks them.
    """

    class Action(models.TextChoices):
        BOUND = "bound", _("bound")
        UNBOUND = "unbound", _("unbound")

    class Via(models.TextChoices):
        API = "api", _("Open API")
        ADMIN = "admin", _("back office")
        IMPORT = "import", _("import")
        SIGNUP = "signup", _("sign-up")
        ACCOUNT_LINK = "account_link", _("LINE account link")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="binding_records", verbose_name=_("shop")
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="binding_records",
        verbose_name=_("member"),
    )
    line_user_id = models.CharField(_("LINE user ID"), max_length=64, blank=True)
    customer_id = models.CharField(_("Customer ID"), max_length=100, blank=True)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    via = models.CharField(_("via"), max_length=16, choices=Via.choices)
    actor = models.CharField(_("by"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("LINE binding record")
        verbose_name_plural = _("LINE binding records")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["shop", "-created_at"], name="binding_record_shop_time")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.line_user_id}"


class AccountLinkNonce(models.Model):
    """The one-time nonce of LINE's account-link flow: made when the member proved who they are
    on the shop's link page, sent to LINE with the link token, and back in the ``accountLink``
    event, which binds the event's LINE user to ``member`` once, within ten minutes."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="account_link_nonces", verbose_name=_("shop")
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.CASCADE,
        related_name="account_link_nonces",
        verbose_name=_("member"),
    )
    nonce = models.CharField(_("nonce"), max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("account-link nonce")
        verbose_name_plural = _("account-link nonces")

    def __str__(self) -> str:
        return self.nonce[:8]
