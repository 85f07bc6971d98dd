"""The shop (tenant) with its point and tier policies: they are read on every earn and locked together
with the shop row (lock order Shop → Member)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shops.models.uploads import card_upload_to, logo_upload_to
from shops.validators import validate_hex_colour, validate_line_basic_id


def check_shop_limit(instance: models.Model, *, setting: str, message) -> None:
    """Refuse to add one more row of ``instance``'s kind when the shop already has the maximum.

    Called from ``clean()`` (so admin forms show the message) and again by the saving service under
    the shop's row lock (so two people adding the last allowed row at once cannot both succeed).
    """
    if not instance._state.adding or instance.shop_id is None:
        return
    limit = getattr(settings, setting)
    if type(instance)._default_manager.filter(shop_id=instance.shop_id).count() >= limit:
        raise ValidationError(message % {"limit": limit}, code="limit_reached")


class ExpiryMode(models.TextChoices):
    NEVER = "never", _("Points never expire")
    MONTHS_AFTER = "months_after", _("N months after the month of earning, at that month's end")
    YEAR_END = "year_end", _("At the end of the calendar year of earning")
    NEXT_YEAR_END = "next_year_end", _("At the end of the calendar year after earning")


class TierWindow(models.TextChoices):
    LIFETIME = "lifetime", _("Lifetime")
    CALENDAR_YEAR = "calendar_year", _("Calendar year")
    ROLLING_12 = "rolling_12", _("Rolling 12 months")


class TierCycle(models.TextChoices):
    MONTHLY = "monthly", _("Every month end")
    QUARTERLY = "quarterly", _("Every quarter end")
    YEARLY = "yearly", _("Every year end")


class Shop(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("shop name"), max_length=120)
    slug = models.SlugField(
        _("slug"),
        max_length=50,
        unique=True,
        help_text=_("Short name used in links, e.g. cafe-aroi. Letters, digits and hyphens."),
    )
    line_oa_basic_id = models.CharField(
        _("LINE OA basic ID"),
        max_length=21,
        blank=True,
        validators=[validate_line_basic_id],
        help_text=_("The @ID of the shop's LINE Official Account, e.g. @cafearoi."),
    )
    description = models.TextField(_("about the shop"), blank=True)
    logo = models.ImageField(_("logo"), upload_to=logo_upload_to, blank=True)
    logo_thumbnail = models.ImageField(
        _("logo thumbnail"), upload_to=logo_upload_to, blank=True, editable=False
    )
    is_active = models.BooleanField(_("active"), default=True)

    # Point policy (MyCustomer step 4, "ตั้งค่าพอยท์").
    thb_per_point = models.DecimalField(
        _("baht per point"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("25.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("A spend of this many baht earns 1 point; fractions are rounded down."),
    )
    min_spend = models.DecimalField(
        _("minimum spend (THB)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0.00"))],
        help_text=_("A spend below this earns no points."),
    )
    welcome_points = models.PositiveIntegerField(
        _("welcome points"),
        default=0,
        validators=[MaxValueValidator(1_000_000)],
        help_text=_("Points given once when a member registers."),
    )
    expiry_mode = models.CharField(
        _("points expire"), max_length=20, choices=ExpiryMode, default=ExpiryMode.NEVER
    )
    expiry_months = models.PositiveSmallIntegerField(
        _("months until expiry"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(settings.LOYALTY_MAX_EXPIRY_MONTHS)],
        help_text=_(
            "Used with 'N months after the month of earning': points earned in January with 3 "
            "months expire on 30 April."
        ),
    )
    coupon_validity_days = models.PositiveIntegerField(
        _("coupon valid for (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("How long a redeemed reward coupon can be used."),
    )
    pending_days = models.PositiveSmallIntegerField(
        _("pending days"),
        default=0,
        validators=[MaxValueValidator(90)],
        help_text=_(
            "Points from purchases are visible but cannot be spent until this many days have "
            "passed (the shop's return window). 0 = spendable at once."
        ),
    )
    max_points_per_entry = models.PositiveIntegerField(
        _("most points in one entry"),
        default=1_000_000,
        validators=[MinValueValidator(1), MaxValueValidator(100_000_000)],
        help_text=_(
            "An earn or adjustment that would give more points than this in one go is refused "
            "(a typing mistake, not a real purchase)."
        ),
    )
    cashier_amount_limit = models.DecimalField(
        _("largest purchase a cashier enters alone (THB)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("20000.00"),
        validators=[MinValueValidator(Decimal("1.00"))],
        help_text=_(
            "Above this amount the staff app asks a manager to approve the purchase on the same "
            "phone (manager's PIN or sign-in)."
        ),
    )
    language = models.CharField(
        _("language for members and staff"),
        max_length=5,
        choices=[("th", _("Thai")), ("en", _("English"))],
        default="th",
        help_text=_(
            "Member pages and the staff app open in this language; each person can switch on the "
            "page, and the choice is remembered."
        ),
    )
    use_buddhist_era = models.BooleanField(
        _("show Buddhist Era years"),
        default=True,
        help_text=_("Show dates to members as 24 พ.ย. 2569 rather than 24 Nov 2026."),
    )

    # Tier policy (MyCustomer step 9, "ระดับสมาชิก").
    tiers_enabled = models.BooleanField(_("use member tiers"), default=True)
    tier_window = models.CharField(
        _("tier counts points earned over"),
        max_length=20,
        choices=TierWindow,
        default=TierWindow.CALENDAR_YEAR,
    )
    tier_cycle = models.CharField(
        _("tier evaluation"),
        max_length=20,
        choices=TierCycle,
        default=TierCycle.MONTHLY,
        help_text=_("Members move up at once; they move down only at this evaluation date."),
    )

    # Theme (MyCustomer step 7, "ธีม").
    primary_colour = models.CharField(
        _("main colour"), max_length=7, default="#06C755", validators=[validate_hex_colour]
    )
    accent_colour = models.CharField(
        _("accent colour"), max_length=7, default="#1F2937", validators=[validate_hex_colour]
    )
    card_text_colour = models.CharField(
        _("card text colour"), max_length=7, default="#FFFFFF", validators=[validate_hex_colour]
    )
    card_background = models.ImageField(_("card background"), upload_to=card_upload_to, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(thb_per_point__gt=0), name="shop_thb_per_point_pos"),
            models.CheckConstraint(condition=Q(min_spend__gte=0), name="shop_min_spend_nonneg"),
            models.CheckConstraint(
                condition=Q(expiry_months__gte=1) & Q(expiry_months__lte=24),
                name="shop_expiry_months_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        # Welcome points are one entry: more than the shop allows per entry would refuse every
        # registration.
        if (
            self.welcome_points is not None
            and self.max_points_per_entry is not None
            and self.welcome_points > self.max_points_per_entry
        ):
            raise ValidationError(
                {
                    "welcome_points": _(
                        "Welcome points cannot be more than the most points in one entry (%(max)s)."
                    )
                    % {"max": f"{self.max_points_per_entry:,}"}
                }
            )
