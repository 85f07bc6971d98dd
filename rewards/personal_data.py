"""The rewards app's share of a member's personal data (PDPA): what "download my data" shows of
it, and what erasing the account does to it. Registered in ``RewardsConfig.ready()`` with the
registries of ``members.pages.export`` and ``members.personal_data``.

On erasure:

- saved addresses are deleted;
- deliveries keep their row and status (stock, points and the shop's accounts still refer to
  them) but lose the recipient, phone, address and postcode; one not yet shipped can then only be
  cancelled;
- redemptions and coupons stay as they are: they hold the reward, points, codes and dates, and
  the member id, nothing else about the person;
- counter codes not confirmed are deleted (a confirmed one is a redemption's record).

The admin's history of deleted addresses and of deliveries names the recipient; it is relabelled.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from members.models import Member
from members.pages.export import Column, choice_label, field_label, phone_local, register_section
from members.personal_data import (
    admin_history_relabel,
    erased_member_label,
    keep_on_erasure,
    leave_out_of_export,
    register_eraser,
)
from rewards.models import Coupon, Delivery, Redemption, Reward, SavedAddress, SpotCode

# --- download my data -----------------------------------------------------------------------------


def _redemptions(member: Member) -> list[dict]:
    return [
        {
            "redemption_id": r.public_id,
            "time": r.created_at,
            "reward": r.reward_name,
            "kind": r.reward_kind,
            "points": r.points,
            "status": r.status,
            "branch": r.branch.name if r.branch_id else None,
            "cancelled_at": r.cancelled_at,
            "cancel_reason": r.cancel_note,
        }
        for r in Redemption.objects.filter(member=member)
        .select_related("branch")
        .order_by("created_at", "id")
    ]


def _coupons(member: Member) -> list[dict]:
    return [
        {
            "code": c.code,
            "platform_code": c.external_code,
            "reward": c.redemption.reward_name,
            "status": c.status,
            "valid_until": c.expires_on,
            "used_at": c.used_at,
            "used_branch": c.used_branch.name if c.used_branch_id else None,
        }
        for c in Coupon.objects.filter(member=member)
        .select_related("redemption", "used_branch")
        .order_by("created_at", "id")
    ]


def _deliveries(member: Member) -> list[dict]:
    return [
        {
            "reward": d.redemption.reward_name,
            "status": d.status,
            "recipient": d.recipient,
            "phone": d.phone,
            "address": d.address,
            "postcode": d.postcode,
            "carrier": d.carrier,
            "tracking_number": d.tracking_number,
            "requested_at": d.created_at,
            "shipped_at": d.shipped_at,
            "delivered_at": d.delivered_at,
            "cancelled_at": d.cancelled_at,
        }
        for d in Delivery.objects.filter(member=member)
        .select_related("redemption")
        .order_by("created_at", "id")
    ]


def _saved_addresses(member: Member) -> list[dict]:
    return [
        {
            "recipient": a.recipient,
            "phone": a.phone,
            "address": a.address,
            "postcode": a.postcode,
            "saved_at": a.created_at,
        }
        for a in SavedAddress.objects.filter(member=member).order_by("created_at", "id")
    ]


# --- erasure --------------------------------------------------------------------------------------


@transaction.atomic
def saved_addresses_erase(member: Member) -> int:
    """Delete the member's saved delivery addresses (and their names in the admin's history)."""
    ids = list(SavedAddress.objects.filter(member=member).values_list("pk", flat=True))
    admin_history_relabel(SavedAddress, ids, erased_member_label(member))
    SavedAddress.objects.filter(pk__in=ids).delete()
    return len(ids)


@transaction.atomic
def deliveries_erase_address(member: Member) -> int:
    """Blank the recipient, phone, address and postcode of the member's deliveries; the rows, their
    status and dates stay for the shop's stock and points accounts."""
    deliveries = list(
        Delivery.objects.filter(member=member)
        .select_related("redemption")
        .only("pk", "redemption__reward_name")
    )
    erased = erased_member_label(member)
    for delivery in deliveries:
        admin_history_relabel(
            Delivery, [delivery.pk], f"{delivery.redemption.reward_name} → {erased}"
        )
    return Delivery.objects.filter(member=member).update(
        recipient="", phone="", address="", postcode=""
    )


def spot_codes_erase(member: Member) -> int:
    """Delete the member's counter codes that were never confirmed."""
    deleted, _detail = SpotCode.objects.filter(member=member, redemption__isnull=True).delete()
    return deleted


# --- registration ---------------------------------------------------------------------------------


def register() -> None:
    register_section(
        "redemptions",
        _redemptions,
        title=_("Redemptions"),
        columns=[
            Column("redemption_id", _("redemption ID")),
            Column("time", field_label(Redemption, "created_at")),
            Column("reward", field_label(Redemption, "reward_name")),
            Column("kind", field_label(Redemption, "reward_kind"), choice_label(Reward.Kind)),
            Column("points", field_label(Redemption, "points")),
            Column("status", field_label(Redemption, "status"), choice_label(Redemption.Status)),
            Column("branch", field_label(Redemption, "branch")),
            Column("cancelled_at", field_label(Redemption, "cancelled_at")),
            Column("cancel_reason", field_label(Redemption, "cancel_note")),
        ],
        models=[Redemption],
    )
    register_section(
        "coupons",
        _coupons,
        title=_("Coupons"),
        columns=[
            Column("code", field_label(Coupon, "code")),
            Column("platform_code", field_label(Coupon, "external_code")),
            Column("reward", field_label(Redemption, "reward_name")),
            Column("status", field_label(Coupon, "status"), choice_label(Coupon.Status)),
            Column("valid_until", field_label(Coupon, "expires_on")),
            Column("used_at", field_label(Coupon, "used_at")),
            Column("used_branch", field_label(Coupon, "used_branch")),
        ],
        models=[Coupon],
    )
    register_section(
        "deliveries",
        _deliveries,
        title=_("Deliveries"),
        columns=[
            Column("reward", field_label(Redemption, "reward_name")),
            Column("status", field_label(Delivery, "status"), choice_label(Delivery.Status)),
            Column("recipient", field_label(Delivery, "recipient")),
            Column("phone", field_label(Delivery, "phone"), phone_local),
            Column("address", field_label(Delivery, "address")),
            Column("postcode", field_label(Delivery, "postcode")),
            Column("carrier", field_label(Delivery, "carrier")),
            Column("tracking_number", field_label(Delivery, "tracking_number")),
            Column("requested_at", field_label(Delivery, "created_at")),
            Column("shipped_at", field_label(Delivery, "shipped_at")),
            Column("delivered_at", field_label(Delivery, "delivered_at")),
            Column("cancelled_at", field_label(Delivery, "cancelled_at")),
        ],
        models=[Delivery],
    )
    register_section(
        "saved_addresses",
        _saved_addresses,
        title=_("Saved addresses"),
        columns=[
            Column("recipient", field_label(SavedAddress, "recipient")),
            Column("phone", field_label(SavedAddress, "phone"), phone_local),
            Column("address", field_label(SavedAddress, "address")),
            Column("postcode", field_label(SavedAddress, "postcode")),
            Column("saved_at", _("saved")),
        ],
        models=[SavedAddress],
    )
    register_eraser(SavedAddress, saved_addresses_erase)
    register_eraser(Delivery, deliveries_erase_address)
    register_eraser(SpotCode, spot_codes_erase)
    kept = (
        "the reward, points, codes, branch and dates of what was redeemed, for the shop's stock "
        "and points accounts; only the member id"
    )
    keep_on_erasure(Redemption, reason=kept)
    keep_on_erasure(Coupon, reason=kept)
    leave_out_of_export(
        SpotCode,
        reason="counter codes that work five minutes; a confirmed one is a redemption, exported",
    )
