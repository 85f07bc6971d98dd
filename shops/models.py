"""Shops (tenants) and everything a shop sets up before it has members.

Every shop-owned row carries ``shop``; uniqueness that a user sees ("branch code", "tag name") is per
shop and backed by a ``UniqueConstraint``. The point and tier policies live on ``Shop`` itself because
they are read on every earn and are locked together with the shop row (lock order Shop → Member).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.validators import validate_hex_colour, validate_line_basic_id


def _upload_path(instance, filename: str, prefix: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    shop = getattr(instance, "shop", None) or instance
    return f"shops/{shop.public_id}/{prefix}-{uuid.uuid4().hex}.{ext}"


def logo_upload_to(instance, filename: str) -> str:
    return _upload_path(instance, filename, "logo")


def card_upload_to(instance, filename: str) -> str:
    return _upload_path(instance, filename, "card")


def tier_card_upload_to(instance, filename: str) -> str:
    return _upload_path(instance, filename, "tier")


def season_upload_to(instance, filename: str) -> str:
    return _upload_path(instance, filename, "season")


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


class ContactChannel(models.Model):
    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        LINE = "line", _("LINE")
        FACEBOOK = "facebook", _("Facebook")
        INSTAGRAM = "instagram", _("Instagram")
        TIKTOK = "tiktok", _("TikTok")
        YOUTUBE = "youtube", _("YouTube")
        X = "x", _("X (Twitter)")
        SHOPEE = "shopee", _("Shopee")
        LAZADA = "lazada", _("Lazada")
        LINE_SHOPPING = "line_shopping", _("LINE SHOPPING")
        WEBSITE = "website", _("Website")
        EMAIL = "email", _("Email")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="contact_channels", verbose_name=_("shop")
    )
    kind = models.CharField(_("channel"), max_length=20, choices=Kind)
    value = models.CharField(
        _("address"),
        max_length=255,
        help_text=_("A phone number, an e-mail address, a LINE ID or a link, by channel."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("contact channel")
        verbose_name_plural = _("contact channels")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "kind", "value"],
                name="contactchannel_unique_per_shop",
                violation_error_message=_("This contact is already listed."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"

    def clean(self) -> None:
        from shops.validators import normalise_contact_value

        if self.kind and self.value:
            try:
                self.value = normalise_contact_value(self.kind, self.value)
            except ValidationError as exc:
                raise ValidationError({"value": exc.messages}) from None
        # The limit of channels is checked for the whole list at once (the shop admin's formset
        # and services.contact_channels_set), since one save may delete one row and add another.


class Branch(models.Model):
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="branches", verbose_name=_("shop")
    )
    name = models.CharField(_("branch name"), max_length=120)
    code = models.CharField(
        _("branch code"),
        max_length=20,
        validators=[
            RegexValidator(
                r"^[A-Z0-9][A-Z0-9_-]*$",
                _("Use capital letters A–Z, digits, - and _ only, e.g. BKK01."),
            )
        ],
        help_text=_(
            "Short code used by staff, imports and the API, e.g. BKK01. Unique in the shop."
        ),
    )
    address = models.TextField(_("address"), blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "code"],
                name="branch_code_unique_per_shop",
                violation_error_message=_("Another branch of your shop already uses this code."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean_fields(self, exclude=None) -> None:
        # Staff type "bkk01"; store BKK01. Done before the field checks so the code validator and
        # the per-shop unique constraint both see the stored form.
        if self.code:
            self.code = self.code.strip().upper()
        super().clean_fields(exclude)


class Tier(models.Model):
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="tiers", verbose_name=_("shop")
    )
    name = models.CharField(_("tier name"), max_length=60)
    threshold = models.PositiveIntegerField(
        _("points to reach"),
        help_text=_(
            "Points earned within the tier window needed to reach this tier. 0 = entry tier."
        ),
    )
    earn_multiplier = models.DecimalField(
        _("earning multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0.10")), MaxValueValidator(Decimal("10.00"))],
        help_text=_("1.50 gives members of this tier 1.5× points on purchases."),
    )
    benefits = models.TextField(_("benefits"), blank=True)
    colour = models.CharField(
        _("colour"), max_length=7, default="#9CA3AF", validators=[validate_hex_colour]
    )
    card_background = models.ImageField(
        _("card background"), upload_to=tier_card_upload_to, blank=True
    )

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["shop", "threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "name"],
                name="tier_name_unique_per_shop",
                violation_error_message=_("Another tier already has this name."),
            ),
            models.UniqueConstraint(
                fields=["shop", "threshold"],
                name="tier_threshold_unique_per_shop",
                violation_error_message=_("Another tier already starts at this number of points."),
            ),
            models.CheckConstraint(
                condition=Q(earn_multiplier__gt=0), name="tier_multiplier_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        check_shop_limit(
            self,
            setting="LOYALTY_MAX_TIERS",
            message=_("A shop can have at most %(limit)s tiers. Change or delete a tier instead."),
        )


class Tag(models.Model):
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="tags", verbose_name=_("shop")
    )
    name = models.CharField(_("tag name"), max_length=40)
    colour = models.CharField(
        _("colour"), max_length=7, default="#6B7280", validators=[validate_hex_colour]
    )

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "name"],
                name="tag_name_unique_per_shop",
                violation_error_message=_("A tag with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.name = (self.name or "").strip()
        check_shop_limit(
            self,
            setting="LOYALTY_MAX_TAGS",
            message=_(
                "A shop can have at most %(limit)s tags. Delete a tag you no longer use first."
            ),
        )


class SeasonalBackground(models.Model):
    """A member-card background shown instead of the tier background between two dates."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="seasonal_backgrounds", verbose_name=_("shop")
    )
    name = models.CharField(_("name"), max_length=80, help_text=_("e.g. Songkran 2027"))
    image = models.ImageField(_("image"), upload_to=season_upload_to)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until (inclusive)"))

    class Meta:
        verbose_name = _("seasonal card background")
        verbose_name_plural = _("seasonal card backgrounds")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")),
                name="season_dates_ordered",
                violation_error_message=_("The last day must be on or after the first day."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("The last day must be on or after the first day.")})


class PolicyDocument(models.Model):
    """One published version of the terms of service or the privacy policy. Never edited:
    publishing a change creates the next version and keeps the old ones (consents point at them)."""

    class Kind(models.TextChoices):
        TERMS = "terms", _("Terms of service")
        PRIVACY = "privacy", _("Privacy policy")

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="documents", verbose_name=_("shop")
    )
    kind = models.CharField(_("document"), max_length=10, choices=Kind)
    version = models.PositiveIntegerField(_("version"), editable=False)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    published_at = models.DateTimeField(_("published"), default=timezone.now, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        verbose_name = _("terms or privacy document")
        verbose_name_plural = _("terms and privacy documents")
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "kind", "version"], name="document_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class User(AbstractUser):
    """A person who signs in: a platform operator (superuser, no shop), or a shop's owner, manager
    or cashier. Owners and managers use the admin; cashiers only the staff app, at their branches."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MANAGER = "manager", _("Manager")
        CASHIER = "cashier", _("Cashier")

    shop = models.ForeignKey(
        Shop,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("shop"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role, blank=True)
    branches = models.ManyToManyField(
        Branch,
        blank=True,
        related_name="staff",
        verbose_name=_("branches"),
        help_text=_("Branches where a cashier may work."),
    )
    # Hashed like the password; only ever checked where a manager approves a cashier's entry
    # (``shops.backends.ApprovalPinBackend``), never to sign in.
    approval_pin = models.CharField(_("approval PIN"), max_length=128, blank=True, editable=False)

    class Meta(AbstractUser.Meta):
        verbose_name = _("staff account")
        verbose_name_plural = _("staff accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(role="") | Q(shop__isnull=False), name="user_role_needs_shop"
            ),
        ]

    def clean(self) -> None:
        super().clean()
        # Said here in words; the database constraint backs it but its message is technical.
        if self.role and self.shop_id is None:
            raise ValidationError({"shop": _("A staff account with a role needs a shop.")})

    def set_approval_pin(self, raw_pin: str | None) -> None:
        """Store the PIN's hash (like ``set_password``); an empty PIN removes it."""
        self.approval_pin = make_password(raw_pin) if raw_pin else ""

    def check_approval_pin(self, raw_pin: str) -> bool:
        if not self.approval_pin or not raw_pin:
            return False
        return check_password(raw_pin, self.approval_pin)

    @property
    def is_shop_admin(self) -> bool:
        return (
            self.is_active
            and self.shop_id is not None
            and self.role
            in (
                self.Role.OWNER,
                self.Role.MANAGER,
            )
        )


class ApiKey(models.Model):
    """A shop's key for the Open API. The key is shown once when created; only its SHA-256 is
    stored (keys are 32 random bytes, so a fast hash is enough), with a short prefix to find it."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("shop")
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("Who uses this key, e.g. 'Web shop' or 'POS'.")
    )
    prefix = models.CharField(_("key starts with"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


from shops.line_settings import ShopLineChannel  # noqa: E402, F401 - LINE Login / LIFF settings
from shops.staffing.models import StaffAction, StaffInvite  # noqa: E402, F401 - staff invites, audit
