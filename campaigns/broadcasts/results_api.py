"""The Open API's shape of a broadcast's results (``results.broadcast_results``): schemas and the
conversion, kept apart from the endpoints in ``api``. Amounts and averages are decimal strings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema

from campaigns.broadcasts.results import Attribution, BroadcastResults, Group


class FailureOut(Schema):
    channel: str = Field(description="line or sms")
    reason: str = Field(description="What LINE answered, or why the SMS failed")
    count: int


class LinkOut(Schema):
    key: str = Field(description='The link\'s place in the messages: "2" (message 3), "1.0" …')
    target: str = Field(description="What it opens: a button's label or an imagemap's address")
    clicks: int = Field(description="Members who tapped it (each counted once)")


class GroupOut(Schema):
    members: int
    buyers: int = Field(description="Members with at least one purchase in the window")
    purchases: int
    spend: str = Field(description="Baht, decimal string")
    points: int = Field(description="Points earned (purchases, orders, activities), net of refunds")
    purchases_per_member: str
    spend_per_member: str
    points_per_member: str
    buyer_percent: str


class DifferenceOut(Schema):
    purchases_per_member: str
    spend_per_member: str
    points_per_member: str
    buyer_percent: str


class WindowOut(Schema):
    starts: dt.datetime
    ends: dt.datetime
    complete: bool = Field(description="False while the window is still open (counted up to now)")
    recipients: GroupOut
    holdout: GroupOut | None = Field(description="null without a hold-out")
    difference: DifferenceOut | None = Field(
        description="Recipients' per-member figures minus the hold-out's (null without a hold-out)"
    )


class ResultsOut(Schema):
    audience: int = Field(description="Members of the segments when sending started")
    targeted: int = Field(description="The audience less the hold-out")
    sent: int
    sent_line: int
    sent_sms: int
    failed: int
    failures: list[FailureOut]
    pending: int = Field(description="Not sent yet (the broadcast or the sender is still going)")
    skipped: int
    skipped_by_reason: dict[str, int] = Field(
        description="not_bound, blocked, not_friend, no_phone, no_consent, sms_opt_out, "
        "coupon_limit, coupon_stock"
    )
    holdout: int
    links: list[LinkOut]
    coupons_given: int
    coupons_used: int
    window: WindowOut


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _group(group: Group) -> dict:
    return {
        "members": group.members,
        "buyers": group.buyers,
        "purchases": group.purchases,
        "spend": _money(group.spend),
        "points": group.points,
        "purchases_per_member": _money(group.purchases_per_member),
        "spend_per_member": _money(group.spend_per_member),
        "points_per_member": _money(group.points_per_member),
        "buyer_percent": _money(group.buyer_percent),
    }


def _window(window: Attribution) -> dict:
    difference = None
    if window.spend_difference is not None:
        difference = {
            "purchases_per_member": _money(window.purchases_difference),
            "spend_per_member": _money(window.spend_difference),
            "points_per_member": _money(window.points_difference),
            "buyer_percent": _money(window.buyer_percent_difference),
        }
    return {
        "starts": window.starts,
        "ends": window.ends,
        "complete": window.complete,
        "recipients": _group(window.recipients),
        "holdout": _group(window.holdout) if window.holdout is not None else None,
        "difference": difference,
    }


def results_out(results: BroadcastResults) -> dict | None:
    """The results as the API shows them; None before the broadcast starts sending."""
    if not results.started:
        return None
    return {
        "audience": results.audience,
        "targeted": results.targeted,
        "sent": results.sent,
        "sent_line": results.sent_line,
        "sent_sms": results.sent_sms,
        "failed": results.failed,
        "failures": [
            {"channel": str(f.channel), "reason": f.reason, "count": f.count}
            for f in results.failures
        ],
        "pending": results.pending,
        "skipped": results.skipped,
        "skipped_by_reason": results.skipped_by_reason,
        "holdout": results.holdout,
        "links": [{"key": x.key, "target": x.target, "clicks": x.clicks} for x in results.links],
        "coupons_given": results.coupons_given,
        "coupons_used": results.coupons_used,
        "window": _window(results.attribution),
    }
