"""The member's phone claims in "download my data", and their erasure with the member (PDPA);
wired in ``members.apps.MembersConfig.ready``."""

from __future__ import annotations

from typing import Any

from members.models import Member
from members.phone_claims.models import PhoneClaim
from members.phone_claims.services import phone_claims_erase


def erase(sender, *, member: Member, **kwargs) -> None:
    phone_claims_erase(member=member)


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
