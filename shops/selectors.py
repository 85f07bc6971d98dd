"""Stub for the rewards branch: the plumbing helper's shops/selectors.py replaces it at merge."""

from __future__ import annotations

from shops.models import Branch, Shop


def branch_by_code(*, shop: Shop, code: str) -> Branch | None:
    """The shop's branch with this code (active or not), or None."""
    return Branch.objects.filter(shop=shop, code=(code or "").strip().upper()).first()
