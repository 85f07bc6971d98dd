"""Spreadsheets of rewards data: what to ship, redemptions."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.phones import format_phone_local
from loyalty.xlsx import xlsx_response


def deliveries_xlsx_response(deliveries):
    """The shipping list: one row per delivery with the address, for the person packing gifts."""
    headers = [
        _("Requested"),
        _("Reward"),
        _("Recipient"),
        _("Phone"),
        _("Address"),
        _("Postcode"),
        _("Status"),
        _("Carrier"),
        _("Tracking number"),
        _("Member ID"),
    ]
    rows = (
        [
            d.created_at,
            d.redemption.reward_name,
            d.recipient,
            format_phone_local(d.phone),
            d.address,
            d.postcode,
            d.get_status_display(),
            d.carrier,
            d.tracking_number,
            str(d.member.public_id),
        ]
        for d in deliveries.iterator(chunk_size=2000)
    )
    stamp = timezone.localdate().isoformat()
    return xlsx_response(f"deliveries-{stamp}.xlsx", [(_("To ship"), headers, rows)])
