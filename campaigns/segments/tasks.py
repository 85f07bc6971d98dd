"""Scheduled work of segments (see loyalty/schedules.py)."""

from __future__ import annotations

from campaigns.segments.services import rfm_refresh_all


def refresh_rfm() -> dict[int, int]:
    """Nightly: recompute every shop's RFM scores."""
    return rfm_refresh_all()
