"""A broadcast and its recipients.

A broadcast is written (draft), confirmed with the count the shop saw (scheduled: now or at
``send_at``), then sent by a job: the job first writes one recipient row per member of its
segments (who gets it, on which channel, or why not), then hands the recipients to the outbox in
batches, marking each batch in the same transaction that queues it, so a job killed midway goes
on where it stopped and nobody is queued twice (the outbox's retry keys do the same for LINE).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.segments.models import Segment
from shops.models import Shop


class Broadcast(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="broadcasts", verbose_name=_("shop")
    )
    public_id = models.UUIDField(_("broadcast ID"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(
        _("name"), max_length=200, help_text=_("For the back office only; members never see it.")
    )
    segments = models.ManyToManyField(
        Segment,
        related_name="broadcasts",
        verbose_name=_("segments"),
        help_text=_("Members of any of these segments get it (each once)."),
    )
    messages = models.JSONField(_("messages"), default=list)
    sms_text = models.TextField(
        _("SMS text"),
        blank=True,
        help_text=_(
            "Sent by SMS to members LINE cannot reach (not bound, blocked, not a friend) who have "
            "a phone number. Empty: no SMS."
        ),
    )
    coupon_reward = models.ForeignKey(
        "rewards.Reward",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("coupon to give"),
        help_text=_("Each recipient gets one coupon of this reward, free (no points)."),
    )
    consent_only = models.BooleanField(
        _("only members who agreed to marketing messages"),
        default=True,
        help_text=_(
            "PDPA: marketing messages go to members whose latest answer to “marketing messages” "
            "is yes. Untick only for messages that are not marketing (a change of opening hours)."
        ),
    )
    holdout_percent = models.PositiveSmallIntegerField(
        _("hold-out share (%)"),
        default=0,
        validators=[MaxValueValidator(50)],
        help_text=_(
            "This share of the segment, picked at random, does not get the broadcast, so its "
            "results can be compared with theirs. 0: everyone gets it."
        ),
    )
    attribution_days = models.PositiveSmallIntegerField(
        _("results window (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_(
            "Points earned and coupons used this many days after sending count as results."
        ),
    )
    link_urls = models.JSONField(_("tracked links"), default=dict, blank=True, editable=False)
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.DRAFT)
    confirmed_recipients = models.PositiveIntegerField(_("recipients confirmed"), default=0)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("handed to LINE"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    copied_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("copied from"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "send_at"], name="broadcast_due_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        """The outbox's, SMS's and tracked links' ``source`` for this broadcast."""
        return f"broadcast:{self.public_id}"


class BroadcastRecipient(models.Model):
    """One member of a broadcast's audience, written when sending starts: the channel chosen, and
    what became of it.

    A million rows are written at once and each is updated once when handed to the sender, so
    the table keeps few indexes (one per member, the waiting ones, the member's: a merge moves
    them) and its keys to the broadcast, the member and
    the outbox row carry no database constraint (Django still cascades and nulls): the rows are
    written from the broadcast's locked row, the shop's members and the outbox rows just made, and
    the constraint checks were a third of the send's time (bench/broadcast.py)."""

    class Channel(models.TextChoices):
        LINE = "line", _("LINE")
        SMS = "sms", _("SMS")
        NONE = "none", _("Not sent")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        QUEUED = "queued", _("Handed to the sender")
        SKIPPED = "skipped", _("Skipped")
        HOLDOUT = "holdout", _("Held out")

    class Reason(models.TextChoices):
        NONE = "", _("—")
        NOT_BOUND = "not_bound", _("Not bound to LINE")
        BLOCKED = "blocked", _("Blocked the OA")
        NOT_FRIEND = "not_friend", _("Not a friend of the OA")
        NO_PHONE = "no_phone", _("No LINE and no phone")
        NO_CONSENT = "no_consent", _("No marketing consent")
        SMS_OPTED_OUT = "sms_opt_out", _("Opted out of SMS")
        COUPON_LIMIT = "coupon_limit", _("Coupon limit reached")
        COUPON_STOCK = "coupon_stock", _("Coupons ran out")

    broadcast = models.ForeignKey(
        Broadcast,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,  # broadcast_recipient_once starts with it
        related_name="recipients",
        verbose_name=_("broadcast"),
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="broadcasts_received",
        verbose_name=_("member"),
    )
    channel = models.CharField(_("channel"), max_length=4, choices=Channel)
    state = models.CharField(_("state"), max_length=8, choices=State, default=State.PENDING)
    reason = models.CharField(_("why not"), max_length=12, choices=Reason, blank=True)
    line_user_id = models.CharField(_("LINE user ID"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=16, blank=True)
    outbox_message = models.ForeignKey(
        "loyalty.OutboxMessage",
        on_delete=models.SET_NULL,
        db_constraint=False,
        db_index=False,  # read from the recipient's side only (results); outbox rows stay
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("LINE message"),
    )
    sms_message = models.ForeignKey(
        "campaigns.SmsMessage",
        on_delete=models.SET_NULL,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SMS message"),
    )
    coupon = models.ForeignKey(
        "rewards.Coupon",
        on_delete=models.SET_NULL,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("coupon"),
    )

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "member"], name="broadcast_recipient_once")
        ]
        indexes = [
            # The waiting ones in member order, for the send's batches: partial, so that marking a
            # recipient queued adds nothing to it.
            models.Index(
                fields=["broadcast", "member"],
                condition=Q(state="pending"),
                name="broadcast_recipient_todo",
            )
        ]

    def __str__(self) -> str:
        return f"{self.broadcast_id}:{self.member_id}"


def media_upload_to(instance: BroadcastMedia, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"broadcasts/{instance.shop_id}/{instance.key}.{extension}"


def preview_upload_to(instance: BroadcastMedia, filename: str) -> str:
    return f"broadcasts/{instance.shop_id}/{instance.key}-preview.jpg"


class BroadcastMedia(models.Model):
    """A picture or a video a broadcast's messages show. Served to LINE at an address with the
    random ``key`` (LINE's servers fetch it without cookies); a video has a preview picture."""

    class Kind(models.TextChoices):
        IMAGE = "image", _("Picture")
        VIDEO = "video", _("Video")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop")
    )
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=5, choices=Kind)
    file = models.FileField(_("file"), upload_to=media_upload_to)
    preview = models.ImageField(_("preview picture"), upload_to=preview_upload_to, blank=True)
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("broadcast picture or video")
        verbose_name_plural = _("broadcast pictures and videos")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}"
