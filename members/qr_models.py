"""The member's one-time QR code (``MemberCode``) and the lifetimes of a code. The rules that issue
and resolve codes are in ``members.qr``."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _lazy

from shops.models import Shop

CODE_DIGITS = 8
CODE_REFRESH = dt.timedelta(seconds=60)
CODE_TTL = dt.timedelta(seconds=120)
PURGE_AFTER = dt.timedelta(days=1)


class MemberCode(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.CASCADE,
        related_name="codes",
        verbose_name=_lazy("member"),
    )
    code = models.CharField(_lazy("code"), max_length=CODE_DIGITS)
    created_at = models.DateTimeField(_lazy("created"), default=timezone.now)
    expires_at = models.DateTimeField(_lazy("expires"))
    used_at = models.DateTimeField(_lazy("used"), null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_lazy("used by"),
    )

    class Meta:
        verbose_name = _lazy("member QR code")
        verbose_name_plural = _lazy("member QR codes")
        constraints = [
            models.UniqueConstraint(fields=["shop", "code"], name="membercode_unique_per_shop")
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="membercode_expiry"),
            models.Index(fields=["member", "-created_at"], name="membercode_member_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.code[:4]} {self.code[4:]}"

    @property
    def refresh_in(self) -> int:
        """Seconds until the card should show a new code (its age reaches ``CODE_REFRESH``)."""
        age = (timezone.now() - self.created_at).total_seconds()
        return max(1, int(CODE_REFRESH.total_seconds() - age))

    @property
    def grouped(self) -> str:
        """The code as a cashier reads it aloud: 1234 5678."""
        return f"{self.code[:4]} {self.code[4:]}"
