"""Saved segments, each member's RFM scores (refreshed nightly by ``rfm_refresh``), and each shop's
RFM settings (the window and how scores are cut)."""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from campaigns.segments.rfm import RfmGroup
from shops.models import Shop


class MemberRfm(models.Model):
    """A member's recency, frequency and spend, their 1–5 scores among the shop's members and the
    group the scores name. Only members with at least one purchase have a row.

    Derived data, rewritten whole for a shop by each refresh (``services.rfm_refresh``): the two
    foreign keys carry no database constraint (Django still cascades a deletion), because checking
    them cost a million row checks at the refresh's commit, a third of its time at 1 M members
    (bench/segments.py); the refresh writes only members of the shop that it has just read."""

    shop = models.ForeignKey(
        Shop,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,  # rfm_shop_group starts with the shop
        related_name="+",
        verbose_name=_("shop"),
    )
    member = models.OneToOneField(
        "members.Member",
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="rfm",
        verbose_name=_("member"),
    )
    last_purchase_at = models.DateTimeField(_("last purchase"))
    frequency = models.PositiveIntegerField(_("purchases in the window"))
    monetary = models.DecimalField(_("spend in the window (THB)"), max_digits=14, decimal_places=2)
    r = models.PositiveSmallIntegerField("R")
    f = models.PositiveSmallIntegerField("F")
    m = models.PositiveSmallIntegerField("M")
    group = models.CharField(_("RFM group"), max_length=20, choices=RfmGroup.choices)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("RFM score")
        verbose_name_plural = _("RFM scores")
        indexes = [models.Index(fields=["shop", "group"], name="rfm_shop_group")]
        constraints = [
            models.CheckConstraint(
                condition=Q(r__gte=1, r__lte=5, f__gte=1, f__lte=5, m__gte=1, m__lte=5),
                name="rfm_scores_1_to_5",
            )
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def code(self) -> str:
        return f"{self.r}{self.f}{self.m}"


class Segment(models.Model):
    """A saved, named audience of a shop: conditions combined with AND (see ``conditions.py`` for
    the stored JSON). Members are found when it is used, never stored with it."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="segments", verbose_name=_("shop")
    )
    public_id = models.UUIDField(_("segment ID"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    conditions = models.JSONField(_("conditions"), default=list)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "name"], name="segment_name_once_per_shop")
        ]

    def __str__(self) -> str:
        return self.name


DEFAULT_WINDOW_MONTHS = 12
MAX_WINDOW_MONTHS = 36


class RfmSettings(models.Model):
    """How a shop's RFM scores are computed: over how many months frequency and spend are counted,
    and whether scores are fifths of the shop's own buyers (quintiles) or fixed cut points the
    shop sets. A shop without a row uses the defaults (12 months, quintiles).

    Fixed cut points, four per score, ascending; a score is 1 + the number of cut points reached:
    R: bought within the last ``r_days_N`` days (the fewer days, the higher: within ``r_days_1``
    days is R 5, beyond ``r_days_4`` is R 1); F: at least ``f_count_N`` purchases; M: spent at
    least ``m_thb_N`` THB (both in the window)."""

    class Mode(models.TextChoices):
        QUINTILES = "quintiles", _("Fifths of my members (quintiles)")
        FIXED = "fixed", _("Fixed thresholds I set")

    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, related_name="rfm_settings", verbose_name=_("shop")
    )
    window_months = models.PositiveSmallIntegerField(
        _("window (months)"),
        default=DEFAULT_WINDOW_MONTHS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WINDOW_MONTHS)],
        help_text=_("Purchases and spend are counted over this many months up to today (1–36)."),
    )
    mode = models.CharField(_("scores"), max_length=10, choices=Mode, default=Mode.QUINTILES)
    r_days_1 = models.PositiveIntegerField(_("R 5: bought within (days)"), null=True, blank=True)
    r_days_2 = models.PositiveIntegerField(_("R 4: within (days)"), null=True, blank=True)
    r_days_3 = models.PositiveIntegerField(_("R 3: within (days)"), null=True, blank=True)
    r_days_4 = models.PositiveIntegerField(_("R 2: within (days)"), null=True, blank=True)
    f_count_1 = models.PositiveIntegerField(_("F 2: at least (purchases)"), null=True, blank=True)
    f_count_2 = models.PositiveIntegerField(_("F 3: at least (purchases)"), null=True, blank=True)
    f_count_3 = models.PositiveIntegerField(_("F 4: at least (purchases)"), null=True, blank=True)
    f_count_4 = models.PositiveIntegerField(_("F 5: at least (purchases)"), null=True, blank=True)
    m_thb_1 = models.DecimalField(
        _("M 2: spent at least (THB)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    m_thb_2 = models.DecimalField(
        _("M 3: spent at least (THB)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    m_thb_3 = models.DecimalField(
        _("M 4: spent at least (THB)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    m_thb_4 = models.DecimalField(
        _("M 5: spent at least (THB)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("RFM settings")
        verbose_name_plural = _("RFM settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(window_months__gte=1, window_months__lte=MAX_WINDOW_MONTHS),
                name="rfm_window_1_to_36_months",
            ),
            models.CheckConstraint(
                condition=Q(mode="quintiles")
                | Q(
                    mode="fixed",
                    r_days_1__gte=1,
                    r_days_2__gt=F("r_days_1"),
                    r_days_3__gt=F("r_days_2"),
                    r_days_4__gt=F("r_days_3"),
                    f_count_1__gte=1,
                    f_count_2__gt=F("f_count_1"),
                    f_count_3__gt=F("f_count_2"),
                    f_count_4__gt=F("f_count_3"),
                    m_thb_1__gt=0,
                    m_thb_2__gt=F("m_thb_1"),
                    m_thb_3__gt=F("m_thb_2"),
                    m_thb_4__gt=F("m_thb_3"),
                ),
                name="rfm_fixed_cuts_ascending",
            ),
        ]

    def __str__(self) -> str:
        return str(_("RFM settings"))

    @classmethod
    def for_shop(cls, shop_id: int) -> RfmSettings:
        """The shop's settings, or the defaults (unsaved) when it has none."""
        return cls.objects.filter(shop_id=shop_id).first() or cls(shop_id=shop_id)

    @property
    def r_days(self) -> tuple:
        return (self.r_days_1, self.r_days_2, self.r_days_3, self.r_days_4)

    @property
    def f_counts(self) -> tuple:
        return (self.f_count_1, self.f_count_2, self.f_count_3, self.f_count_4)

    @property
    def m_thb(self) -> tuple:
        return (self.m_thb_1, self.m_thb_2, self.m_thb_3, self.m_thb_4)
