"""Reads of members that more than one screen needs: a shop's member by phone (as typed) or by
public id. Every caller (staff app, sign-up, phone claims, API, imports, rewards) looks members up
here, so the rule "a phone is matched in its E.164 form, only within the shop" lives once.

Selectors only read: they never import a ``services`` module."""

from __future__ import annotations

import uuid

from loyalty.phones import InvalidPhone, normalise_phone
from members.models import Member
from shops.models import Shop


def member_by_phone(*, shop: Shop, phone: object) -> Member | None:
    """The member of ``shop`` with this phone, typed in any form (0812345678, +66 81 234 5678,
    Thai digits), with its tier; None when nobody has it or it is not a phone number at all."""
    try:
        e164 = normalise_phone(phone)
    except InvalidPhone:
        return None
    return Member.objects.select_related("tier").filter(shop=shop, phone=e164).first()


def member_by_public_id(*, shop: Shop, public_id: uuid.UUID | str) -> Member | None:
    """The member of ``shop`` with this public id, with its tier; None when there is none, when
    it is another shop's member (exactly like a member that does not exist) or when ``public_id``
    is not a UUID."""
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Member.objects.select_related("tier").filter(shop=shop, public_id=public_id).first()


def member_for_api(*, shop: Shop, public_id: uuid.UUID) -> Member | None:
    """The member an Open API call names by its public id, with its shop, tier and manual tier;
    None for another shop's member and for an erased one (both answer 404)."""
    return (
        Member.objects.select_related("shop", "tier", "manual_tier")
        .filter(shop=shop, public_id=public_id)
        .exclude(status=Member.Status.ERASED)
        .first()
    )
