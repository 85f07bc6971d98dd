"""Ledger tables. Rows here are written only by ``members.ledger.services`` and never updated
except ``PointLot.remaining`` (and the lot's ``debt_paid``), which the services change under the
member's row lock; entries are immutable, a mistake is fixed by a reversing entry. The one
exception is a pending member merged into the member who proved its phone
(``members.ledger.merge``): its rows change member, and the entries' running ``balance_after``.

Invariants (checked by tests after every concurrent run):
  member.balance = Σ entry.points = Σ lot.remaining − member.debt
  per shop: Σ credits − Σ debits = Σ member.balance
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.dates import format_people_date
from shops.models import Branch, Shop


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned from a purchase")
    ORDER = "order", _("Earned from an online order")
    WELCOME = "welcome", _("Welcome points")
    ACTIVITY = "activity", _("Activity points")
    IMPORT = "import", _("Imported balance")
    ADJUST = "adjust", _("Adjustment")
    REDEEM = "redeem", _("Used for a reward")
    EXPIRE = "expire", _("Expired")
    REVERSAL = "reversal", _("Reversal")


# Credits that count as "earned" for tiers (a reversal of one of them counts against).
TIER_QUALIFYING_KINDS = (
    EntryKind.EARN,
    EntryKind.ORDER,
    EntryKind.WELCOME,
    EntryKind.ACTIVITY,
    EntryKind.IMPORT,
)


class Channel(models.TextChoices):
    STORE = "store", _("In store")
    ONLINE = "online", _("Online")
    API = "api", _("Open API")
    IMPORT = "import", _("Import")
    LINE = "line", _("LINE")
    ADMIN = "admin", _("Back office")
    SYSTEM = "system", _("System")


class ActorKind(models.TextChoices):
    STAFF = "staff", _("Staff")
    API = "api", _("API key")
    MEMBER = "member", _("Member")
    SYSTEM = "system", _("System job")


class Product(models.Model):
    """A product a shop sells, by SKU, for purchase-history targeting."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="products", verbose_name=_("shop")
    )
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "sku"],
                name="product_sku_unique_per_shop",
                violation_error_message=_("Another product of your shop has this SKU."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Purchase(models.Model):
    """A spend that earned points: at a store, online, through the API or from an import."""

    class Status(models.TextChoices):
        COMPLETED = "completed", _("Completed")
        REVERSED = "reversed", _("Reversed (refund or void)")

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("shop")
    )
    public_id = models.UUIDField(_("purchase ID"), default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="purchases",
        verbose_name=_("member"),
    )
    branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("branch"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel)
    external_order_id = models.CharField(  # noqa: DJ001 - NULL = no order id; unique when set
        _("order ID"), max_length=100, null=True, blank=True
    )
    receipt_no = models.CharField(_("receipt number"), max_length=64, blank=True)
    amount = models.DecimalField(
        _("amount (THB)"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    points = models.BigIntegerField(_("points"))
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.COMPLETED)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "channel", "external_order_id"],
                condition=Q(external_order_id__isnull=False),
                name="purchase_order_unique_per_channel",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="purchase_amount_positive"),
        ]
        indexes = [
            # A member's completed purchases, newest first, with the branch: the last visit (and
            # where) for segments and RFM read the index alone (bench/segments.py).
            models.Index(
                fields=["member", "-created_at", "-id"],
                condition=Q(status="completed"),
                include=["shop", "branch"],
                name="purchase_member_last",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} THB ({format_people_date(self.created_at)})"


class PurchaseItem(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=3)
    price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("purchase item")
        verbose_name_plural = _("purchase items")
        indexes = [
            # "Bought product X" matches a SKU or a name, case-insensitively (segment conditions):
            # without these a segment count read every item of the shop (bench/segments.py).
            models.Index(F("shop"), Upper("sku"), name="purchase_item_sku_upper"),
            models.Index(F("shop"), Upper("name"), name="purchase_item_name_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class PurchaseProduct(models.Model):
    """What a member bought, narrow: one row per completed purchase and product key (its items'
    SKUs and names in upper case), with the member and the time copied from the purchase. Written
    by the ledger with the purchase (``members.ledger.visits``), removed when it is reversed, moved
    with it in a merge. "Bought product X" segments read the covering index alone: the items of a
    popular product are spread over the whole items table, and reading them there took 3–7 s at
    10 M purchases where this index takes 0.65 s (bench/segments.py)."""

    # Derived rows, as an index is: the keys carry no database constraint (Django still cascades
    # a deletion), so that writing them for millions of purchases at once (a migration, a bulk
    # seed) does not check three keys per row; the ledger writes them from the purchase itself.
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    purchase = models.ForeignKey(
        Purchase, on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    # No index of its own: the purchase that holds the row PROTECTs the member from deletion.
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.DO_NOTHING,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    purchased_at = models.DateTimeField()
    key = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["purchase", "key"], name="purchase_product_once")
        ]
        indexes = [
            models.Index(
                fields=["shop", "key", "member", "purchased_at"], name="purchase_product_bought"
            )
        ]

    def __str__(self) -> str:
        return self.key


class LedgerEntry(models.Model):
    """One immutable change of a member's points, with who, where, why and from what."""

    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="ledger_entries", verbose_name=_("shop")
    )
    public_id = models.UUIDField(_("entry ID"), default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        verbose_name=_("member"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=EntryKind)
    # 64-bit: an expiry entry sums many lots, and balances have no upper bound.
    points = models.BigIntegerField(_("points"))
    balance_after = models.BigIntegerField(_("balance after"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    fingerprint = models.CharField(
        _("request fingerprint"), max_length=64, blank=True, editable=False
    )
    # Who
    actor_kind = models.CharField(_("by"), max_length=10, choices=ActorKind)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff"),
    )
    api_key = models.ForeignKey(
        "shops.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("API key"),
    )
    # The manager who approved a cashier's purchase above the shop's cashier amount limit.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    # Where
    branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("branch"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel)
    # Why and from what
    note = models.CharField(_("note"), max_length=500, blank=True)
    purchase = models.ForeignKey(
        Purchase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name=_("purchase"),
    )
    reversal_of = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        help_text=_("Order ID, receipt number, reward code or similar."),
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "idempotency_key"], name="ledger_idempotency_unique_per_shop"
            ),
            models.CheckConstraint(condition=~Q(points=0), name="ledger_points_nonzero"),
        ]
        indexes = [
            models.Index(fields=["member", "-created_at"], name="ledger_member_time"),
            models.Index(fields=["shop", "-created_at"], name="ledger_shop_time"),
            models.Index(fields=["shop", "kind", "-created_at"], name="ledger_shop_kind_time"),
        ]

    def __str__(self) -> str:
        sign = "+" if self.points > 0 else ""
        return f"{self.get_kind_display()} {sign}{self.points}"

    @property
    def is_credit(self) -> bool:
        return self.points > 0

    def actor_display(self) -> str:
        """Who made the entry, for people: the staff member's name, the API key's name, or the
        kind of actor when neither is there (a system job, or a staff account deleted since)."""
        if self.created_by_id:
            return self.created_by.get_full_name() or self.created_by.get_username()
        if self.api_key_id:
            return str(self.api_key)
        return str(self.get_actor_kind_display())


class PointLot(models.Model):
    """The points of one credit entry, with what is left of them and when they expire.

    ``remaining`` falls as debits draw on the lot (``LotAllocation``) and as the credit pays off
    debt (``debt_paid``); it never goes below zero or above ``points``.
    """

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(
        "members.Member", on_delete=models.PROTECT, related_name="lots", verbose_name=_("member")
    )
    entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, related_name="lot", verbose_name=_("entry")
    )
    points = models.PositiveBigIntegerField(_("points"))
    remaining = models.PositiveBigIntegerField(_("remaining"))
    debt_paid = models.PositiveBigIntegerField(_("paid to debt"), default=0)
    earned_on = models.DateField(_("earned on"))
    available_on = models.DateField(_("spendable from"))
    expires_on = models.DateField(_("expires on (inclusive)"), null=True, blank=True)

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        ordering = ["expires_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=models.F("points")),
                name="lot_remaining_in_range",
            ),
            models.CheckConstraint(
                condition=Q(debt_paid__gte=0)
                & Q(debt_paid__lte=models.F("points") - models.F("remaining")),
                name="lot_debt_paid_in_range",
            ),
        ]
        indexes = [
            # Open lots of a member in spending order; and due lots for the expiry job.
            models.Index(
                fields=["member", "expires_on", "id"],
                condition=Q(remaining__gt=0),
                name="lot_open_by_member",
            ),
            models.Index(
                fields=["expires_on", "member"],
                condition=Q(remaining__gt=0),
                name="lot_open_by_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.points} until {self.expires_on or '∞'}"


class LotAllocation(models.Model):
    """How many points a debit entry took from one lot; a reversal puts exactly these back."""

    debit = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="allocations")
    lot = models.ForeignKey(PointLot, on_delete=models.PROTECT, related_name="allocations")
    points = models.PositiveBigIntegerField()

    class Meta:
        verbose_name = _("lot allocation")
        verbose_name_plural = _("lot allocations")
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="allocation_points_positive"),
            models.UniqueConstraint(fields=["debit", "lot"], name="allocation_once_per_lot"),
        ]

    def __str__(self) -> str:
        return f"{self.points} from lot {self.lot_id}"


class JobRun(models.Model):
    """A scheduled job's completed run for one date (expiry, tier evaluation), so a job run twice
    does the work once and a missed day is caught up on the next run."""

    name = models.CharField(max_length=50)
    run_for = models.DateField()
    finished_at = models.DateTimeField(default=timezone.now)
    result = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        constraints = [
            models.UniqueConstraint(fields=["name", "run_for"], name="jobrun_once_per_date")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.run_for}"
