"""Stub for the rewards branch: the plumbing helper's members/selectors.py replaces it at merge."""

from __future__ import annotations

from loyalty.phones import InvalidPhone, normalise_phone
from members.models import Member
from shops.models import Shop


def member_by_phone(*, shop: Shop, phone: str) -> Member | None:
    """The shop's member with this phone (as typed), or None."""
    try:
        e164 = normalise_phone(phone)
    except InvalidPhone:
        return None
    return Member.objects.filter(shop=shop, phone=e164).first()
