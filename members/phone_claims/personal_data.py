"""The member's phone claims in "download my data", and their erasure with the member (PDPA):
joins the registry of ``members.personal_data`` from ``members.apps.MembersConfig.ready``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from members.models import Member
from members.pages.export import Column, choice_label, field_label, phone_local, register_section
from members.personal_data import leave_out_of_export, register_eraser
from members.phone_claims.models import PhoneClaim, PhoneCode
from members.phone_claims.services import phone_claims_erase


def export(member: Member) -> list[dict[str, Any]]:
    return [
        {
            "phone": claim.phone,
            "status": claim.status,
            "proven_by": claim.method,
            "points_moved": claim.points_moved,
            "created_at": claim.created_at,
            "resolved_at": claim.resolved_at,
        }
        for claim in PhoneClaim.objects.filter(member=member).order_by("created_at", "id")
    ]


def register() -> None:
    register_section(
        "phone_claims",
        export,
        title=gettext_lazy("Phone claims"),
        columns=[
            Column("phone", field_label(PhoneClaim, "phone"), phone_local),
            Column("status", field_label(PhoneClaim, "status"), choice_label(PhoneClaim.Status)),
            Column("proven_by", field_label(PhoneClaim, "method"), choice_label(PhoneClaim.Method)),
            Column("points_moved", field_label(PhoneClaim, "points_moved")),
            Column("created_at", field_label(PhoneClaim, "created_at")),
            Column("resolved_at", field_label(PhoneClaim, "resolved_at")),
        ],
        models=[PhoneClaim],
    )
    # One eraser covers both: the claims (as claimant and as the pending record) and their codes.
    register_eraser(PhoneClaim, lambda member: phone_claims_erase(member=member))
    register_eraser(PhoneCode, lambda member: phone_claims_erase(member=member))
    leave_out_of_export(
        PhoneCode,
        reason="one-time SMS codes (stored hashed) that work for five minutes and are purged "
        "after OTP_RETENTION_DAYS; the claim they prove is exported",
    )
