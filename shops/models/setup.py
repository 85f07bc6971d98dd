"""What a shop sets up before it has members: contact channels, branches, tiers, tags, seasonal
card backgrounds, terms and privacy documents. Uniqueness a user sees ("branch code", "tag name") is
per shop and backed by a ``UniqueConstraint``."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.models.shop import Shop, check_shop_limit
from shops.models.uploads import season_upload_to, tier_card_upload_to
from shops.validators import validate_hex_colour


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
