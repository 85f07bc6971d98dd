"""Reads of shop setup that more than one screen needs.

Selectors only read: they never import a ``services`` module."""

from __future__ import annotations

from shops.models import Branch, Shop


def active_shops(*, limit: int) -> list[Shop]:
    """The first ``limit`` active shops by name (the landing page of a demo server)."""
    return list(Shop.objects.filter(is_active=True).order_by("name")[:limit])


def branch_by_code(*, shop: Shop, code: str) -> Branch | None:
    """The active branch of ``shop`` with this code, typed in any case and with spaces around
    (codes are stored upper-case); None when the shop has no active branch with it."""
    code = (code or "").strip().upper()
    if not code:
        return None
    return Branch.objects.filter(shop=shop, code=code, is_active=True).first()
