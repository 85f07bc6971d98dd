"""Scheduled jobs, declared in code. ``manage.py setup_schedules`` (run by ``make run`` and by
deploys) creates or updates the matching django-q2 ``Schedule`` rows; running it twice changes
nothing. Every job must itself be safe to run twice (see HOUSE_STYLE.md, "Tasks").

Times are Asia/Bangkok. Later issues append to ``SCHEDULES`` (expiry just after midnight, tier
evaluation at month end, coupon expiry, PDPA retention purges).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str
    func: str
    at: dt.time  # local (Asia/Bangkok) time of day; the job runs daily
    description: str = ""


SCHEDULES: list[Job] = [
    Job(
        name="expire-points",
        func="members.tasks.expire_points",
        at=dt.time(0, 5),
        description="Expire points whose last day has passed (catches up missed days).",
    ),
    Job(
        name="expire-coupons",
        func="rewards.tasks.expire_coupons",
        at=dt.time(0, 10),
        description="Mark coupons past their last day as expired.",
    ),
    Job(
        name="evaluate-tiers",
        func="members.tasks.evaluate_tiers",
        at=dt.time(0, 20),
        description="Re-evaluate tiers after a month, quarter or year end (downgrades).",
    ),
    Job(
        name="notify-expiring-points",
        func="members.tasks.notify_expiring_points",
        at=dt.time(10, 0),
        description="Tell members on LINE about points that expire within the shop's N days "
        "(in the morning, not at midnight).",
    ),
    Job(
        name="refresh-rfm",
        func="campaigns.segments.tasks.refresh_rfm",
        at=dt.time(1, 30),
        description="Recompute every member's RFM scores and group (after the night's expiry).",
    ),
    Job(
        name="purge-stale-imports",
        func="members.imports.tasks.purge_stale_imports",
        at=dt.time(3, 40),
        description="Delete uploaded member lists never confirmed within 7 days (personal data).",
    ),
    Job(
        name="purge-import-errors",
        func="members.imports.tasks.purge_import_errors",
        at=dt.time(3, 42),
        description="Delete the row errors (cell values) of member imports finished 30 days ago.",
    ),
    Job(
        name="purge-member-codes",
        func="members.tasks.purge_member_codes",
        at=dt.time(3, 45),
        description="Delete member-card QR codes a day after they expire.",
    ),
    Job(
        name="purge-api-requests",
        func="loyalty.tasks.purge_api_requests",
        at=dt.time(3, 50),
        description="Delete Open API request records (stored responses with members' data) "
        "after IDEMPOTENCY_RETENTION_DAYS.",
    ),
    Job(
        name="purge-phone-codes",
        func="members.tasks.purge_phone_codes",
        at=dt.time(3, 55),
        description="Delete one-time SMS codes past their retention (OTP_RETENTION_DAYS).",
    ),
    Job(
        name="purge-line-webhook-events",
        func="members.line.tasks.purge_webhook_events",
        at=dt.time(3, 57),
        description="Delete handled LINE webhook events (raw JSON, user ids, typed text) after "
        "LINE_WEBHOOK_EVENT_RETENTION_DAYS; never those still waiting.",
    ),
    Job(
        name="clear-expired-sessions",
        func="loyalty.tasks.clear_expired_sessions",
        at=dt.time(3, 30),
        description="Delete expired sign-in sessions.",
    ),
]


@dataclass(frozen=True)
class RepeatingJob:
    """A job that runs every ``minutes`` minutes, all day (a queue drain, not a daily chore)."""

    name: str
    func: str
    minutes: int
    description: str = ""


REPEATING: list[RepeatingJob] = [
    RepeatingJob(
        name="outbox-drain",
        func="loyalty.outbox.tasks.outbox_drain",
        minutes=1,
        description="Send LINE messages that came due: back-offs, rows whose worker died, lost tasks.",
    ),
    RepeatingJob(
        name="broadcasts-due",
        func="campaigns.broadcasts.tasks.send_due_broadcasts",
        minutes=1,
        description="Start scheduled broadcasts whose time came; finish any a killed job left.",
    ),
    RepeatingJob(
        name="sms-send",
        func="campaigns.sms.tasks.sms_send_queued",
        minutes=1,
        description="Send queued SMS within each shop's monthly budget; held ones once it allows.",
    ),
]
