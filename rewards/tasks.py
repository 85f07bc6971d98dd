"""django-q2 entry points for rewards (each safe to run twice)."""

from rewards.services import coupons_expire_due


def expire_coupons() -> int:
    """Daily just after midnight: coupons past their last day become expired."""
    return coupons_expire_due()
