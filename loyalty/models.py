"""Project-wide tables that belong to no single domain."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """One Open API POST by its ``Idempotency-Key``, per shop: in flight, then its stored response.

    A replay with the same body gets the stored response; the same key with another body is refused
    (422); a replay while the first is still running gets 409. The ledger has its own key on every
    entry as well, so a crash between the write and storing the response still writes once.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", _("In flight")
        DONE = "done", _("Done")

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API request")
        verbose_name_plural = _("API requests")
        constraints = [
            models.UniqueConstraint(fields=["shop", "key"], name="idempotency_key_unique_per_shop")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


# The outbox's table belongs to this app; its code lives in loyalty/outbox/.
from loyalty.outbox.models import OutboxMessage  # noqa: E402

__all__ = ["IdempotencyRecord", "OutboxMessage"]
