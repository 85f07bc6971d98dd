"""Members of a shop's loyalty programme.

A member is identified inside the shop by one of: phone (E.164), LINE user id, or Customer ID (the
shop's own id for the person). Each is unique per shop when present. A member is *bound* when the
shop knows which LINE user it is: ``line_user_id`` is set, and ``bound_at`` says since when (null =
not bound). Both are written only by ``members.line.binding``.
A *pending* member was created by a purchase at the store with a phone alone; its points and
history move to the member who proves that phone (a code by SMS, or a cashier at the counter:
``members.phone_claims``), and it is then *merged*.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.phones import format_phone_local, mask_phone, normalise_phone
from shops.models import Branch, Shop, Tag, Tier


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")


class Member(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending (not yet registered)")
        REGISTERED = "registered", _("Registered")
        BLOCKED = "blocked", _("Blocked")
        ERASED = "erased", _("Erased (account deleted)")
        # A pending member whose points and history moved to the account that proved its phone.
        MERGED = "merged", _("Merged into the member who proved the phone")

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="members", verbose_name=_("shop")
    )
    public_id = models.UUIDField(_("member ID"), default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=12, choices=Status, default=Status.PENDING, db_index=True
    )
    phone = models.CharField(_("phone"), max_length=16, null=True, blank=True)  # noqa: DJ001 - NULL = none; unique when set
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    tier = models.ForeignKey(
        Tier,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tier"),
    )
    manual_tier = models.ForeignKey(
        Tier,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("minimum tier (set by hand)"),
        help_text=_("The member never drops below this tier at evaluation."),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="members", verbose_name=_("tags"))
    signup_branch = models.ForeignKey(
        Branch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sign-up branch"),
    )
    line_user_id = models.CharField(_("LINE user ID"), max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL = none; unique when set
    line_display_name = models.CharField(_("LINE name"), max_length=100, blank=True)
    customer_id = models.CharField(  # noqa: DJ001 - NULL = not bound; unique when set
        _("Customer ID"),
        max_length=100,
        null=True,
        blank=True,
        help_text=_("The member's ID in the shop's own system."),
    )
    # When the LINE id was bound; null = not bound. Set and cleared with ``line_user_id`` by
    # members.line.binding only; later features filter on it (``bound_at__isnull=False``).
    bound_at = models.DateTimeField(_("bound to LINE"), null=True, blank=True, editable=False)
    note = models.TextField(_("note"), blank=True)
    notices_opt_out = models.BooleanField(
        _("turned off LINE news"),
        default=False,
        help_text=_(
            "The member turned off non-essential LINE notices (new tier, points expiring, "
            "welcome). Confirmations of points earned, rewards and deliveries are still sent."
        ),
    )
    # Points, cached: written only by members.ledger.services in the transaction that writes the
    # entry. balance = Σ entries = Σ open lots − debt; debt is what reversals could not take back.
    # 64-bit: sums of many entries (see members.ledger.models).
    balance = models.BigIntegerField(_("points balance"), default=0, editable=False)
    debt = models.PositiveBigIntegerField(_("points debt"), default=0, editable=False)
    tier_changed_at = models.DateTimeField(_("tier changed"), null=True, blank=True, editable=False)
    # The member's latest completed purchase (time and branch), cached like the balance: written
    # by members.ledger (earn, reversal, merge; ``members.ledger.visits``) in the transaction that
    # writes the purchase, so that "last visit" segments read one row per member instead of ten
    # million purchases (bench/segments.py). Not indexed: an earn's UPDATE of the member stays a
    # HOT update, and a count reads every member of the shop anyway.
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True, editable=False)
    last_visit_branch = models.ForeignKey(
        Branch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        db_index=False,
        related_name="+",
        verbose_name=_("branch of last visit"),
    )
    registered_at = models.DateTimeField(_("registered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "phone"],
                condition=Q(phone__isnull=False),
                name="member_phone_unique_per_shop",
                violation_error_message=_("Another member of this shop has this phone number."),
            ),
            models.UniqueConstraint(
                fields=["shop", "line_user_id"],
                condition=Q(line_user_id__isnull=False),
                name="member_line_user_unique_per_shop",
                violation_error_message=_("Another member of this shop has this LINE account."),
            ),
            models.UniqueConstraint(
                fields=["shop", "customer_id"],
                condition=Q(customer_id__isnull=False),
                name="member_customer_id_unique_per_shop",
                violation_error_message=_("Another member of this shop has this Customer ID."),
            ),
            models.CheckConstraint(condition=Q(debt__gte=0), name="member_debt_nonnegative"),
        ]
        indexes = [
            models.Index(fields=["shop", "status"], name="member_shop_status"),
            models.Index(fields=["shop", "-created_at"], name="member_shop_created"),
            models.Index(fields=["shop", "bound_at"], name="member_shop_bound"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        errors: dict[str, list] = {}
        # Empty identifiers are NULL, so that "not set" never collides with another "not set".
        self.customer_id = (self.customer_id or "").strip() or None
        self.line_user_id = (self.line_user_id or "").strip() or None
        self.first_name = (self.first_name or "").strip()
        self.last_name = (self.last_name or "").strip()
        if self.phone:
            try:
                self.phone = normalise_phone(self.phone)
            except ValidationError as exc:
                errors["phone"] = exc.messages
        else:
            self.phone = None
        if self.birthday and self.birthday > timezone.localdate():
            errors["birthday"] = [_("A birthday cannot be in the future.")]
        for field in ("tier", "manual_tier", "signup_branch"):
            related = getattr(self, field)
            if related is not None and self.shop_id and related.shop_id != self.shop_id:
                errors[field] = [_("Choose one of your shop's own.")]
        if errors:
            raise ValidationError(errors)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def display_name(self) -> str:
        return (
            self.full_name
            or self.line_display_name
            or mask_phone(self.phone)
            or str(self.public_id)[:8]
        )

    @property
    def phone_local(self) -> str:
        return format_phone_local(self.phone)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def is_bound(self) -> bool:
        """Bound: the shop knows which LINE user this member is (a LINE id was bound)."""
        return self.bound_at is not None


# The ledger's models live in their own module; importing them here registers them with the app.
from members.imports.models import ImportJob, ImportRowError  # noqa: E402, F401 - member imports
from members.ledger.models import (  # noqa: E402, F401
    JobRun,
    LedgerEntry,
    LotAllocation,
    PointLot,
    Product,
    Purchase,
    PurchaseItem,
    PurchaseProduct,
)
from members.line.models import (  # noqa: E402, F401 - LINE webhook, friends, binding
    AccountLinkNonce,
    BindingRecord,
    LineFriend,
    WebhookEvent,
)
from members.notifications.models import NotificationSetting  # noqa: E402, F401 - LINE notices
from members.phone_claims.models import (  # noqa: E402, F401 - proof of a pending member's phone
    PhoneClaim,
    PhoneCode,
)
from members.qr_models import MemberCode  # noqa: E402, F401 - the member card's one-time QR codes
from members.signup.models import (  # noqa: E402, F401 - sign-up questions, answers, consents
    ConsentRecord,
    SignupAnswer,
    SignupChoice,
    SignupQuestion,
)
from members.staff.models import PointsClaim  # noqa: E402, F401 - the staff app's points QR codes
