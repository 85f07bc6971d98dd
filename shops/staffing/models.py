"""Staff invites and the audit log of what staff do in the staff app.

- ``StaffInvite``: a manager invites a cashier to one branch with a link (and its QR code). Only the
  SHA-256 of the link's token is stored; the link is shown once. An invite expires, can be revoked
  and is used at most once (``used_at``), which the accepting service decides under the row's lock.
- ``StaffAction``: one row per thing a person did in the staff app (who, shop, branch, when, what,
  on which object, from which device and IP). Written only by ``staff_action_record``; never
  changed. Managers read it in the back office.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.dates import format_people_date
from shops.models.setup import Branch
from shops.models.shop import Shop


class StaffInvite(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("Waiting to be used")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="staff_invites", verbose_name=_("shop")
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    branch = models.ForeignKey(
        Branch,
        on_delete=models.CASCADE,
        related_name="staff_invites",
        verbose_name=_("branch"),
        help_text=_("The new cashier will work at this branch."),
    )
    name = models.CharField(
        _("for whom"),
        max_length=100,
        blank=True,
        help_text=_("A note so you know which invite is whose, e.g. 'Nok, morning shift'."),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True, editable=False)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("account created"),
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("staff invite")
        verbose_name_plural = _("staff invites")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(revoked_at__isnull=True),
                name="staffinvite_not_used_and_revoked",
            ),
        ]

    def __str__(self) -> str:
        label = self.name or self.branch.name
        return f"{label} ({format_people_date(self.created_at)})"

    def state_at(self, now=None) -> str:
        if self.used_at is not None:
            return self.State.USED
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at <= (now or timezone.now()):
            return self.State.EXPIRED
        return self.State.OPEN

    @property
    def state(self) -> str:
        return self.state_at()


class StaffAction(models.Model):
    """One action of a person in the staff app. Immutable."""

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", _("Signed in")
        SIGN_OUT = "sign_out", _("Signed out")
        JOIN = "join", _("Created an account from an invite")
        BRANCH = "branch", _("Chose a branch")
        FIND = "find", _("Looked up a member")
        POINTS_ADD = "points_add", _("Added points")
        CLAIM_CREATE = "claim_create", _("Made a points QR code")
        CLAIM_CANCEL = "claim_cancel", _("Cancelled a points QR code")
        VOID = "void", _("Voided a transaction")
        APPROVE = "approve", _("Approved a purchase above the cashier limit")
        APPROVE_REFUSED = "approve_refused", _("Manager approval refused")
        INVITE_CREATE = "invite_create", _("Created a staff invite")
        INVITE_REVOKE = "invite_revoke", _("Revoked a staff invite")
        COUPON_USE = "coupon_use", _("Used a coupon")
        SPOT_CONFIRM = "spot_confirm", _("Confirmed a reward at the counter")
        DELIVERY_HANDOVER = "delivery_handover", _("Handed over a delivered reward")
        PHONE_CONFIRM = "phone_confirm", _("Confirmed a member's phone number")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="staff_actions", verbose_name=_("shop")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    # Kept as text too, so the log still says who after an account is deleted.
    username = models.CharField(_("username"), max_length=150)
    branch = models.ForeignKey(
        Branch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("branch"),
    )
    kind = models.CharField(_("what"), max_length=20, choices=Kind)
    object_type = models.CharField(_("object type"), max_length=30, blank=True)
    object_id = models.CharField(_("object ID"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    detail = models.JSONField(_("details"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("device (browser)"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("staff action")
        verbose_name_plural = _("staff activity")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["shop", "-created_at"], name="staffaction_shop_time"),
            models.Index(fields=["shop", "user", "-created_at"], name="staffaction_shop_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.username}: {self.get_kind_display()}"
