"""Saved segments, and each member's RFM scores (refreshed nightly by ``rfm_refresh``)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.segments.rfm import RfmGroup
from shops.models import Shop


class MemberRfm(models.Model):
    """A member's recency, frequency and spend, their 1–5 scores among the shop's members and the
    group the scores name. Only members with at least one purchase have a row."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop")
    )
    member = models.OneToOneField(
        "members.Member", on_delete=models.CASCADE, related_name="rfm", verbose_name=_("member")
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
