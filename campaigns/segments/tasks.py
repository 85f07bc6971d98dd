"""Scheduled work of segments (see loyalty/schedules.py)."""

from __future__ import annotations

from campaigns.segments.services import rfm_refresh, rfm_refresh_all


def refresh_rfm() -> dict[int, int]:
    """Nightly: recompute every shop's RFM scores."""
    return rfm_refresh_all()


def refresh_rfm_shop(shop_id: int) -> int:
    """On demand (the RFM settings page): recompute one shop's RFM scores; safe to run twice."""
    return rfm_refresh(shop_id=shop_id).scored
