"""A broadcast's results: what became of each recipient, taps on its links, the coupons it gave,
and what its recipients did in the results window compared with the hold-out group.

All counts come from set-based SQL over the recipient rows written when sending started (three
queries, whatever the audience's size), plus what the other channels report through ``reach``.
Correct while the broadcast is still sending: recipients not handed over yet, and LINE messages or
SMS not sent yet, are ``pending``; the results window is measured up to now.

The numbers add up: ``audience = targeted + holdout`` and
``targeted = sent + failed + pending + skipped``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Count,
    DecimalField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.broadcasts import reach
from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from campaigns.broadcasts.rendering import link_key
from loyalty.outbox.models import OutboxMessage
from members.ledger.models import EntryKind, LedgerEntry, Purchase
from rewards.models import Coupon

Channel = BroadcastRecipient.Channel
Reason = BroadcastRecipient.Reason
RState = BroadcastRecipient.State
OState = OutboxMessage.State

# Points a recipient earned by doing something (buying, ordering, an activity); reversals of them
# in the window count against. Welcome points, imports and adjustments are not results.
EARNED_KINDS = (EntryKind.EARN, EntryKind.ORDER, EntryKind.ACTIVITY)
LINE_FAILED = (OState.FAILED, OState.QUOTA, OState.SKIPPED)
LINE_WAITING = (OState.PENDING, OState.SENDING)
CENTS = Decimal("0.01")
ZERO_THB = Decimal("0.00")


@dataclass(frozen=True)
class Failure:
    """Recipients one failure reached, with the reason (LINE's answer, or why SMS failed)."""

    channel: str
    reason: str
    count: int


@dataclass(frozen=True)
class LinkResult:
    key: str
    target: str
    clicks: int


@dataclass(frozen=True)
class Group:
    """What one group of members did in the results window, in total and per member."""

    members: int
    buyers: int
    purchases: int
    spend: Decimal
    points: int

    def per_member(self, value: int | Decimal) -> Decimal:
        if not self.members:
            return ZERO_THB
        return (Decimal(value) / self.members).quantize(CENTS, rounding=ROUND_HALF_UP)

    @property
    def purchases_per_member(self) -> Decimal:
        return self.per_member(self.purchases)

    @property
    def spend_per_member(self) -> Decimal:
        return self.per_member(self.spend)

    @property
    def points_per_member(self) -> Decimal:
        return self.per_member(self.points)

    @property
    def buyer_percent(self) -> Decimal:
        return self.per_member(self.buyers * 100)


@dataclass(frozen=True)
class Attribution:
    """The results window (``starts`` to ``ends``; ``complete`` once it is over) and what the
    recipients and the hold-out group did in it. ``holdout`` is None without a hold-out."""

    starts: dt.datetime
    ends: dt.datetime
    complete: bool
    recipients: Group
    holdout: Group | None

    def _difference(self, name: str) -> Decimal | None:
        if self.holdout is None or not self.holdout.members or not self.recipients.members:
            return None
        return getattr(self.recipients, name) - getattr(self.holdout, name)

    @property
    def purchases_difference(self) -> Decimal | None:
        return self._difference("purchases_per_member")

    @property
    def spend_difference(self) -> Decimal | None:
        return self._difference("spend_per_member")

    @property
    def points_difference(self) -> Decimal | None:
        return self._difference("points_per_member")

    @property
    def buyer_percent_difference(self) -> Decimal | None:
        return self._difference("buyer_percent")


@dataclass(frozen=True)
class BroadcastResults:
    """What became of a broadcast's audience (see the module docstring for how they add up)."""

    started: bool
    audience: int = 0
    targeted: int = 0
    sent: int = 0
    sent_line: int = 0
    sent_sms: int = 0
    failed: int = 0
    failures: list[Failure] = field(default_factory=list)
    pending: int = 0
    skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    holdout: int = 0
    links: list[LinkResult] = field(default_factory=list)
    coupons_given: int = 0
    coupons_used: int = 0
    attribution: Attribution | None = None

    @property
    def skipped_reasons(self) -> list[tuple[str, str, int]]:
        """(reason, its label, count) for the reasons that skipped anyone, in the model's order."""
        return [
            (value, label, self.skipped_by_reason[value])
            for value, label in Reason.choices
            if self.skipped_by_reason.get(value)
        ]


def broadcast_results(broadcast: Broadcast, *, now: dt.datetime | None = None) -> BroadcastResults:
    """The results of ``broadcast`` (nothing but ``started=False`` before it starts sending).
    Three queries, plus what ``reach.sms_outcomes`` and ``reach.link_clicks`` read."""
    if broadcast.started_at is None:
        return BroadcastResults(started=False)
    now = now or timezone.now()
    counts = _recipient_counts(broadcast)
    failures = _line_failures(broadcast) if counts["line_failed"] else []

    sms = reach.sms_outcomes(broadcast)
    sms_sent = sum(1 for outcome in sms.values() if outcome == "sent")
    sms_failed = sum(1 for outcome in sms.values() if outcome == "failed")
    sms_pending = max(counts["sms_queued"] - sms_sent - sms_failed, 0)
    if sms_failed:
        failures.append(Failure(Channel.SMS, _("The SMS was not delivered."), sms_failed))

    skipped_by_reason = {
        reason.value: counts[f"skipped_{reason.value or 'none'}"]
        for reason in Reason
        if counts[f"skipped_{reason.value or 'none'}"]
    }
    return BroadcastResults(
        started=True,
        audience=counts["audience"],
        targeted=counts["audience"] - counts["holdout"],
        sent=counts["line_sent"] + sms_sent,
        sent_line=counts["line_sent"],
        sent_sms=sms_sent,
        failed=counts["line_failed"] + sms_failed,
        failures=failures,
        pending=counts["waiting"] + counts["line_waiting"] + sms_pending,
        skipped=counts["skipped"],
        skipped_by_reason=skipped_by_reason,
        holdout=counts["holdout"],
        links=_links(broadcast),
        coupons_given=counts["coupons_given"],
        coupons_used=counts["coupons_used"],
        attribution=_attribution(broadcast, now),
    )


def _recipient_counts(broadcast: Broadcast) -> dict[str, int]:
    """One query: the recipient rows by state, LINE outcome (their outbox row), skip reason and
    coupon."""
    line_queued = Q(state=RState.QUEUED, channel=Channel.LINE)
    aggregates = {
        "audience": Count("pk"),
        "holdout": Count("pk", filter=Q(state=RState.HOLDOUT)),
        "waiting": Count("pk", filter=Q(state=RState.PENDING)),
        "skipped": Count("pk", filter=Q(state=RState.SKIPPED)),
        "line_sent": Count("pk", filter=line_queued & Q(outbox_message__state=OState.SENT)),
        # A queued recipient without its outbox row cannot be confirmed as sent: a failure.
        "line_failed": Count(
            "pk",
            filter=line_queued
            & (Q(outbox_message__isnull=True) | Q(outbox_message__state__in=LINE_FAILED)),
        ),
        "line_waiting": Count("pk", filter=line_queued & Q(outbox_message__state__in=LINE_WAITING)),
        "sms_queued": Count("pk", filter=Q(state=RState.QUEUED, channel=Channel.SMS)),
        "coupons_given": Count("pk", filter=Q(coupon__isnull=False)),
        "coupons_used": Count("pk", filter=Q(coupon__status=Coupon.Status.USED)),
    }
    for reason in Reason:
        aggregates[f"skipped_{reason.value or 'none'}"] = Count(
            "pk", filter=Q(state=RState.SKIPPED, reason=reason.value)
        )
    return BroadcastRecipient.objects.filter(broadcast=broadcast).aggregate(**aggregates)


def _line_failures(broadcast: Broadcast) -> list[Failure]:
    """One query: the LINE recipients that failed, grouped by what LINE (or the sender) said."""
    rows = (
        BroadcastRecipient.objects.filter(
            Q(outbox_message__isnull=True) | Q(outbox_message__state__in=LINE_FAILED),
            broadcast=broadcast,
            state=RState.QUEUED,
            channel=Channel.LINE,
        )
        .values("outbox_message__state", "outbox_message__error")
        .annotate(n=Count("pk"))
        .order_by("-n", "outbox_message__error")
    )
    failures = []
    for row in rows:
        state, error = row["outbox_message__state"], row["outbox_message__error"]
        if state is None:
            reason = _("No LINE message was recorded for these recipients.")
        elif state == OState.SKIPPED:
            reason = _("LINE had nobody to send it to.")
        else:
            reason = error or str(OState(state).label)
        failures.append(Failure(Channel.LINE, reason, row["n"]))
    return failures


def link_targets(broadcast: Broadcast) -> dict[str, str]:
    """What each link of the messages opens, by ``rendering.link_key``: a member page's button
    label, or an imagemap area's address."""
    targets = {}
    for index, part in enumerate(broadcast.messages or []):
        if part.get("type") == "link":
            targets[link_key(index)] = str(part.get("label") or part.get("page") or "")
        for number, area in enumerate(part.get("areas") or []):
            targets[link_key(index, number)] = str(area.get("link") or "")
    return targets


def _links(broadcast: Broadcast) -> list[LinkResult]:
    clicks = reach.link_clicks(broadcast)
    targets = link_targets(broadcast)
    keys = set(clicks) | set(broadcast.link_urls or {})
    return [
        LinkResult(key=key, target=targets.get(key, key), clicks=clicks.get(key, 0))
        for key in sorted(keys, key=_key_order)
    ]


def _key_order(key: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in key.split("."))
    except ValueError:
        return (10**6,)


def attribution_window(broadcast: Broadcast) -> tuple[dt.datetime, dt.datetime]:
    """From the moment sending started, ``attribution_days`` × 24 hours (the end excluded)."""
    starts = broadcast.started_at
    return starts, starts + dt.timedelta(days=broadcast.attribution_days)


def _attribution(broadcast: Broadcast, now: dt.datetime) -> Attribution:
    """One query: purchases, spend and points earned in the window by each group's members."""
    starts, ends = attribution_window(broadcast)
    window = Q(created_at__gte=starts, created_at__lt=min(ends, now))
    purchases = Purchase.objects.filter(
        window, member=OuterRef("member_id"), status=Purchase.Status.COMPLETED
    ).order_by()
    earned = LedgerEntry.objects.filter(
        window,
        Q(kind__in=EARNED_KINDS) | Q(kind=EntryKind.REVERSAL, reversal_of__kind__in=EARNED_KINDS),
        member=OuterRef("member_id"),
    ).order_by()
    per_member = (
        BroadcastRecipient.objects.filter(
            broadcast=broadcast, state__in=(RState.QUEUED, RState.HOLDOUT)
        )
        .annotate(
            _purchases=Coalesce(
                Subquery(
                    purchases.values("member").annotate(n=Count("pk")).values("n"),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            _spend=Coalesce(
                Subquery(
                    purchases.values("member").annotate(s=Sum("amount")).values("s"),
                    output_field=DecimalField(max_digits=14, decimal_places=2),
                ),
                Value(ZERO_THB),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
            _points=Coalesce(
                Subquery(
                    earned.values("member").annotate(p=Sum("points")).values("p"),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
        )
        .values("state")
        .annotate(
            members=Count("pk"),
            buyers=Count("pk", filter=Q(_purchases__gt=0)),
            purchases=Sum("_purchases"),
            spend=Sum("_spend"),
            points=Sum("_points"),
        )
        .order_by()
    )
    groups = {
        row["state"]: Group(
            members=row["members"],
            buyers=row["buyers"],
            purchases=row["purchases"] or 0,
            spend=Decimal(row["spend"] or 0).quantize(CENTS),
            points=row["points"] or 0,
        )
        for row in per_member
    }
    empty = Group(members=0, buyers=0, purchases=0, spend=ZERO_THB, points=0)
    return Attribution(
        starts=starts,
        ends=ends,
        complete=now >= ends,
        recipients=groups.get(RState.QUEUED, empty),
        holdout=groups.get(RState.HOLDOUT, empty) if broadcast.holdout_percent else None,
    )
