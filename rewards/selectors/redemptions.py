"""Reads of redemptions: a redemption's coupon or delivery, one redemption of a shop (the Open API),
the snapshot image's URL, and the ledger's view of the entries that are redemptions (who owns a
debit, and the redemptions whose points were given back on their own).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from members.ledger.owners import EntryOwner
from rewards.models import Coupon, Delivery, Redemption
from rewards.rules import REDEMPTION_OWNER, redemption_cancel_refusal
from shops.models import Shop


def snapshot_image_url(name: str | None) -> str:
    """The public URL of a stored file name (a snapshot keeps only the name), or ""."""
    return default_storage.url(name) if name else ""


def redemption_by_public_id(*, shop: Shop, public_id: uuid.UUID) -> Redemption | None:
    """The shop's redemption with this public id (with its member and reward), or None."""
    return (
        Redemption.objects.select_related("member", "reward")
        .filter(shop=shop, public_id=public_id)
        .first()
    )


def redemption_parts(redemption: Redemption) -> tuple[Coupon | None, Delivery | None]:
    """The redemption's coupon (with its used branch) and its delivery, read afresh: either may be
    None, as a redemption has one or the other."""
    coupon = (
        Coupon.objects.select_related("redemption", "used_branch")
        .filter(redemption=redemption)
        .first()
    )
    delivery = Delivery.objects.filter(redemption=redemption).first()
    return coupon, delivery


# --- the ledger's entries that are redemptions ------------------------------------------------------


def redemption_entry_owners(entry_ids: Collection[int]) -> dict[int, EntryOwner]:
    """For the ledger's registry of entry owners (registered in ``RewardsConfig.ready``): the
    redemption each of ``entry_ids`` paid for, named, with how to undo it, so that the ledger
    refuses to reverse the debit on its own (``members.ledger.owners``)."""
    redemptions = Redemption.objects.filter(entry_id__in=list(entry_ids)).select_related(
        "coupon", "delivery"
    )
    owners = {}
    for redemption in redemptions:
        if redemption.status == Redemption.Status.CANCELLED:
            undo = _("The redemption has been cancelled.")
        else:
            refusal = redemption_cancel_refusal(
                getattr(redemption, "coupon", None), getattr(redemption, "delivery", None)
            )
            undo = (
                str(refusal)
                if refusal is not None
                else _(
                    "Cancel the redemption instead: the points come back, the coupon or delivery "
                    "is cancelled, and the stock and the member's limit are returned."
                )
            )
        owners[redemption.entry_id] = EntryOwner(
            kind=REDEMPTION_OWNER,
            public_id=redemption.public_id,
            noun=_("redemption"),
            label=_("the redemption of “%(reward)s” (ID %(id)s)")
            % {"reward": redemption.reward_name, "id": redemption.public_id},
            undo=undo,
            admin_url=reverse("admin:rewards_redemption_change", args=[redemption.pk]),
        )
    return owners


def redemptions_with_reversed_points(shop_id: int | None = None) -> QuerySet[Redemption]:
    """Redemptions still completed whose points were nevertheless given back: their debit was
    reversed on its own, which the Open API and the back office allowed before the ledger refused
    it (a double spend left open: the coupon usable, the delivery open, the stock taken)."""
    redemptions = (
        Redemption.objects.filter(
            status=Redemption.Status.COMPLETED, entry__reversed_by__isnull=False
        )
        .select_related("shop", "member", "coupon", "delivery")
        .order_by("shop_id", "created_at", "id")
    )
    if shop_id is not None:
        redemptions = redemptions.filter(shop_id=shop_id)
    return redemptions
