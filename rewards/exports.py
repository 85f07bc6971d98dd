"""Spreadsheets of rewards data, as the members and ledger exports are made
(``loyalty.exports``): redemptions, and deliveries (also the list of what to ship).

Both are registered exports: the changelists get "Export to Excel" (what the list shows, filters and
search kept) and "Export the selected rows to Excel" through ``ExportAdminMixin``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from loyalty.exports import Column, Export, local_phone, register


def _member(obj) -> str:
    return obj.member.display_name


def _by(redemption) -> str:
    if redemption.created_by_id:
        return redemption.created_by.get_username()
    return ""


def _redemption_columns() -> list[Column]:
    return [
        Column(_("time"), lambda r: r.created_at, 16),
        Column(_("phone"), lambda r: local_phone(r.member.phone), 14),
        Column(_("member"), _member, 20),
        Column(_("reward"), lambda r: r.reward_name, 24),
        Column(_("kind"), lambda r: r.get_reward_kind_display(), 16),
        Column(_("points"), lambda r: str(_("Gift from the shop")) if r.is_gift else r.points, 10),
        Column(_("status"), lambda r: r.get_status_display(), 18),
        Column(_("branch"), lambda r: r.branch.code if r.branch_id else "", 10),
        Column(_("by"), _by, 14),
        Column(_("cancelled"), lambda r: r.cancelled_at, 16),
        Column(_("reason"), lambda r: r.cancel_note, 24),
        Column(_("member ID"), lambda r: str(r.member.public_id), 38),
        Column(_("redemption ID"), lambda r: str(r.public_id), 38),
    ]


REDEMPTIONS = register(
    Export(
        key="redemptions",
        title=_("Redemptions"),
        filename="redemptions",
        columns=_redemption_columns,
        prepare=lambda qs: qs.select_related("member", "branch", "created_by"),
    )
)


def _delivery_columns() -> list[Column]:
    """The shipping list: one row per delivery with the address, for the person packing gifts."""
    return [
        Column(_("requested"), lambda d: d.created_at, 16),
        Column(_("reward"), lambda d: d.redemption.reward_name, 24),
        Column(_("recipient"), lambda d: d.recipient, 20),
        Column(_("phone"), lambda d: local_phone(d.phone), 14),
        Column(_("address"), lambda d: d.address, 40),
        Column(_("postcode"), lambda d: d.postcode, 10),
        Column(_("status"), lambda d: d.get_status_display(), 14),
        Column(_("carrier"), lambda d: d.carrier, 12),
        Column(_("tracking number"), lambda d: d.tracking_number, 18),
        Column(_("shipped"), lambda d: d.shipped_at, 16),
        Column(_("delivered"), lambda d: d.delivered_at, 16),
        Column(_("member ID"), lambda d: str(d.member.public_id), 38),
    ]


DELIVERIES = register(
    Export(
        key="deliveries",
        title=_("Deliveries"),
        filename="deliveries",
        columns=_delivery_columns,
        prepare=lambda qs: qs.select_related("member", "redemption"),
    )
)
