"""Reward catalogue, code pools, redemptions, coupons, deliveries and spot codes.

Three kinds of reward (MyCustomer, step 12): an auto-generated code used in the store; a delivered
gift (address, then pending → preparing → shipped → delivered, or cancelled with points returned);
a shop-supplied code for another platform (Shopee, Lazada, LINE SHOPPING, TikTok) from a pool or one
shared code. A redemption moves points, stock and a code together or not at all
(``rewards.services.reward_redeem``) and keeps a snapshot of what the member redeemed.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.dates import format_people_date
from shops.models import Branch, Shop, Tier

# Letters and digits that cannot be mistaken for one another when read aloud or typed from a
# screen: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8


def reward_image_upload_to(instance, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"shops/{instance.shop.public_id}/rewards/{uuid.uuid4().hex}.{ext}"


class Reward(models.Model):
    class Kind(models.TextChoices):
        AUTO_CODE = "auto_code", _("Code used in the store (auto-generated)")
        DELIVERY = "delivery", _("Delivered to the member")
        CUSTOM_CODE = "custom_code", _("Code for another platform (Shopee, Lazada…)")

    class CodeSource(models.TextChoices):
        POOL = "pool", _("A pool of codes, one per redemption")
        SHARED = "shared", _("One code shared by everyone")

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="rewards", verbose_name=_("shop")
    )
    public_id = models.UUIDField(_("reward ID"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind, default=Kind.AUTO_CODE)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    image = models.ImageField(_("image"), upload_to=reward_image_upload_to, blank=True)
    points_cost = models.PositiveIntegerField(
        _("points"), validators=[MinValueValidator(1)], help_text=_("Points a member pays.")
    )
    stock = models.PositiveIntegerField(
        _("stock"),
        null=True,
        blank=True,
        help_text=_("How many are left. Empty = unlimited."),
    )
    low_stock_warning = models.PositiveIntegerField(
        _("warn when stock falls to"), default=5, help_text=_("0 = no warning.")
    )
    per_member_limit = models.PositiveIntegerField(
        _("limit per member"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("How many times one member may redeem it. Empty = no limit."),
    )
    allowed_tiers = models.ManyToManyField(
        Tier,
        blank=True,
        related_name="+",
        verbose_name=_("tiers allowed"),
        help_text=_("Only members of these tiers may redeem. None chosen = every tier."),
    )
    active_from = models.DateTimeField(_("redeemable from"), null=True, blank=True)
    active_until = models.DateTimeField(_("redeemable until"), null=True, blank=True)
    visible_from = models.DateTimeField(
        _("shown from"),
        null=True,
        blank=True,
        help_text=_(
            "Members see the reward from this time (e.g. before it opens). Empty = always."
        ),
    )
    visible_until = models.DateTimeField(_("shown until"), null=True, blank=True)
    coupon_validity_days = models.PositiveIntegerField(
        _("coupon valid for (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty = the shop's default."),
    )
    terms = models.TextField(_("terms and conditions"), blank=True)
    order = models.PositiveIntegerField(_("order"), default=0, help_text=_("Lower first."))
    is_active = models.BooleanField(_("active"), default=True)
    code_source = models.CharField(
        _("codes"),
        max_length=10,
        choices=CodeSource,
        default=CodeSource.POOL,
        help_text=_("For codes for another platform."),
    )
    shared_code = models.CharField(_("shared code"), max_length=100, blank=True)
    platform = models.CharField(
        _("platform"),
        max_length=40,
        blank=True,
        help_text=_("Where the code is used, e.g. Shopee, Lazada, LINE SHOPPING, TikTok."),
    )
    spot_redemption = models.BooleanField(
        _("redeem at the counter"),
        default=False,
        help_text=_(
            "The member shows a code valid for 5 minutes; points are deducted only when the "
            "cashier confirms it."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["order", "points_cost", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_cost_positive"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="reward_stock_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.active_from and self.active_until and self.active_until <= self.active_from:
            errors["active_until"] = _("The end must be after the start.")
        if self.visible_from and self.visible_until and self.visible_until <= self.visible_from:
            errors["visible_until"] = _("The end must be after the start.")
        if (
            self.kind == self.Kind.CUSTOM_CODE
            and self.code_source == self.CodeSource.SHARED
            and not self.shared_code.strip()
        ):
            errors["shared_code"] = _("Enter the code everyone receives.")
        if self.kind != self.Kind.AUTO_CODE and self.spot_redemption:
            errors["spot_redemption"] = _(
                "Only rewards used in the store can be redeemed at the counter."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def uses_pool(self) -> bool:
        return self.kind == self.Kind.CUSTOM_CODE and self.code_source == self.CodeSource.POOL

    @property
    def is_low_on_stock(self) -> bool:
        return (
            self.stock is not None
            and self.low_stock_warning
            and self.stock <= self.low_stock_warning
        )


class RewardCode(models.Model):
    """A shop-supplied code in a reward's pool; handed to exactly one redemption."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    reward = models.ForeignKey(
        Reward, on_delete=models.CASCADE, related_name="codes", verbose_name=_("reward")
    )
    code = models.CharField(_("code"), max_length=100)
    redemption = models.OneToOneField(
        "Redemption",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pool_code",
        verbose_name=_("given with redemption"),
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("reward code")
        verbose_name_plural = _("reward codes")
        constraints = [
            models.UniqueConstraint(fields=["reward", "code"], name="reward_code_unique"),
        ]
        indexes = [
            models.Index(
                fields=["reward", "id"],
                condition=Q(redemption__isnull=True),
                name="rewardcode_free",
            )
        ]

    def __str__(self) -> str:
        return self.code


class Redemption(models.Model):
    class Status(models.TextChoices):
        COMPLETED = "completed", _("Redeemed")
        CANCELLED = "cancelled", _("Cancelled (points returned)")

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("shop")
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="redemptions",
        verbose_name=_("member"),
    )
    reward = models.ForeignKey(
        Reward, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("reward")
    )
    points = models.PositiveIntegerField(_("points"))
    entry = models.OneToOneField(
        "members.LedgerEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="redemption",
        verbose_name=_("points entry"),
    )
    # A coupon the shop gave (a broadcast's coupon push, ``services.gifts``): no points were paid,
    # so there is no ledger entry to reverse when it is cancelled.
    is_gift = models.BooleanField(_("gift from the shop"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.COMPLETED)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    # What the member redeemed, as it was then (the reward may change or disappear later).
    reward_name = models.CharField(_("reward"), max_length=120)
    reward_kind = models.CharField(_("kind"), max_length=12, choices=Reward.Kind)
    reward_image = models.CharField(_("reward image"), max_length=300, blank=True)
    reward_terms = models.TextField(_("reward terms"), blank=True)
    branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("branch"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed by"),
    )
    created_at = models.DateTimeField(_("redeemed"), default=timezone.now, db_index=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_note = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "idempotency_key"], name="redemption_idempotency_unique"
            ),
            # Paid with points (its debit in the ledger) or a gift (no entry, no points).
            models.CheckConstraint(
                condition=Q(is_gift=False, entry__isnull=False)
                | Q(is_gift=True, entry__isnull=True, points=0),
                name="redemption_paid_or_gift",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "reward", "status"], name="redemption_member_reward")
        ]

    def __str__(self) -> str:
        return f"{self.reward_name} ({format_people_date(self.created_at)})"


class Coupon(models.Model):
    """What the member shows or uses: our code (always; unique per shop, for the cashier's scanner)
    and, for another platform's reward, the shop-supplied code."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Ready to use")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="coupons", verbose_name=_("shop")
    )
    redemption = models.OneToOneField(
        Redemption, on_delete=models.PROTECT, related_name="coupon", verbose_name=_("redemption")
    )
    member = models.ForeignKey(
        "members.Member", on_delete=models.PROTECT, related_name="coupons", verbose_name=_("member")
    )
    code = models.CharField(_("code"), max_length=20)
    external_code = models.CharField(_("code for the platform"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.ISSUED)
    expires_on = models.DateField(_("valid until (inclusive)"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    used_branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("used at"),
    )
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("used by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "code"], name="coupon_code_unique_per_shop")
        ]
        indexes = [
            models.Index(fields=["status", "expires_on"], name="coupon_status_expiry"),
            models.Index(fields=["member", "status"], name="coupon_member_status"),
        ]

    def __str__(self) -> str:
        return self.code


class SavedAddress(models.Model):
    """A member's delivery address, kept to reuse on the next delivered reward."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.CASCADE,
        related_name="addresses",
        verbose_name=_("member"),
    )
    recipient = models.CharField(_("recipient"), max_length=120)
    phone = models.CharField(_("phone"), max_length=16)
    address = models.TextField(_("address"))
    postcode = models.CharField(_("postcode"), max_length=5)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("saved address")
        verbose_name_plural = _("saved addresses")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.recipient}, {self.postcode}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        PREPARING = "preparing", _("Preparing")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled (points returned)")

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("shop")
    )
    redemption = models.OneToOneField(
        Redemption, on_delete=models.PROTECT, related_name="delivery", verbose_name=_("redemption")
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="deliveries",
        verbose_name=_("member"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING)
    recipient = models.CharField(_("recipient"), max_length=120)
    phone = models.CharField(_("phone"), max_length=16)
    address = models.TextField(_("address"))
    postcode = models.CharField(_("postcode"), max_length=5)
    carrier = models.CharField(_("carrier"), max_length=60, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=60, blank=True)
    handed_over_branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handed over at"),
    )
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    preparing_at = models.DateTimeField(_("preparing since"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["shop", "status"], name="delivery_shop_status")]

    def __str__(self) -> str:
        return f"{self.redemption.reward_name} → {self.recipient}"


class SpotCode(models.Model):
    """Pointspot's spot redemption: a code the member shows for 5 minutes; nothing is deducted
    until the cashier confirms it, and an unconfirmed code lapses with nothing deducted."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+")
    reward = models.ForeignKey(Reward, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=6)
    expires_at = models.DateTimeField()
    redemption = models.OneToOneField(
        Redemption, on_delete=models.PROTECT, null=True, blank=True, related_name="spot_code"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("spot code")
        verbose_name_plural = _("spot codes")
        constraints = [
            # Unique among codes not yet confirmed; lapsed ones are removed when a code is reused.
            models.UniqueConstraint(
                fields=["shop", "code"],
                condition=Q(redemption__isnull=True),
                name="spotcode_open_unique_per_shop",
            )
        ]

    def __str__(self) -> str:
        return self.code
