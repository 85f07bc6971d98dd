"""django-q2 entry points for members and points. Each loads what it needs and calls one service;
each is safe to run twice."""

from members.ledger.jobs import points_expire_due, tiers_evaluate_due
from members.notifications.services import expiring_notices_send
from members.phone_claims.services import phone_codes_purge
from members.qr import member_codes_purge


def expire_points() -> dict:
    """Daily just after midnight (Asia/Bangkok): expire lots whose last day has passed."""
    return points_expire_due()


def evaluate_tiers() -> dict:
    """Daily: evaluate tiers for shops whose month, quarter or year has just ended."""
    return tiers_evaluate_due()


def notify_expiring_points() -> dict:
    """Daily in the morning: tell members on LINE about points expiring within each shop's N days
    (one message per member per expiry date, however often it runs)."""
    return expiring_notices_send()


def purge_member_codes() -> int:
    """Daily: delete member-card QR codes that expired more than a day ago."""
    return member_codes_purge()


def purge_phone_codes() -> dict:
    """Daily: delete one-time codes older than OTP_RETENTION_DAYS (phone numbers, PDPA)."""
    return phone_codes_purge()
