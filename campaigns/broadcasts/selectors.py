"""Reads of broadcasts: the audience and how it splits by channel (before sending: the confirm
step's counts), LINE's quota, and the results afterwards."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Mod

from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from campaigns.segments.conditions import parse_conditions, segment_members
from members.line.models import LineFriend
from members.models import ConsentRecord, Member

Channel = BroadcastRecipient.Channel
Reason = BroadcastRecipient.Reason
RState = BroadcastRecipient.State

# Hold-out members are picked by a fixed scramble of the member id: random-looking, the same on
# every run of the job (a resumed send holds out the same members) and on both databases.
HOLDOUT_MULTIPLIER = 2654435761
HOLDOUT_MODULUS = 4294967296


def audience(broadcast: Broadcast) -> QuerySet[Member]:
    """The members of any of the broadcast's segments, each once."""
    shop_id = broadcast.shop_id
    members = Member.objects.none()
    q = Q()
    for segment in broadcast.segments.all():
        conditions = parse_conditions(shop_id, segment.conditions)
        q |= Q(pk__in=segment_members(shop_id, conditions).values("pk"))
    if not q:
        return members
    return Member.objects.filter(shop_id=shop_id).filter(q)


def _friend(shop_id: int, state: str) -> Exists:
    return Exists(
        LineFriend.objects.filter(
            shop_id=shop_id, line_user_id=OuterRef("line_user_id"), state=state
        )
    )


def _consent() -> Subquery:
    return Subquery(
        ConsentRecord.objects.filter(member=OuterRef("pk"), kind=ConsentRecord.Kind.MARKETING)
        .order_by("-recorded_at", "-id")
        .values("granted")[:1],
        output_field=BooleanField(),
    )


def routed(broadcast: Broadcast, *, sms: bool, opted_out: Q | None = None) -> QuerySet[Member]:
    """The audience annotated with the channel each member gets it on (``_channel``), why not
    (``_reason``) and whether they are held out (``_holdout``): all in SQL, so that the confirm
    step's count and the send's recipient rows come from the same statement.

    LINE when bound and a friend now; else SMS when ``sms`` (the broadcast has an SMS text and SMS
    can be sent), the member has a phone and has not opted out (``opted_out``: a filter of the
    members who did); else nothing, with the reason."""
    shop_id = broadcast.shop_id
    bound = Q(bound_at__isnull=False, line_user_id__isnull=False)
    members = audience(broadcast).annotate(
        _is_friend=_friend(shop_id, LineFriend.State.FRIEND),
        _is_blocked=_friend(shop_id, LineFriend.State.BLOCKED),
    )
    if broadcast.consent_only:
        members = members.annotate(_consented=Coalesce(_consent(), Value(False)))
        no_consent = Q(_consented=False)
    else:
        no_consent = Q(pk__in=[])
    line = bound & Q(_is_friend=True)
    has_phone = Q(phone__isnull=False) & ~Q(phone="")
    sms_ok = (has_phone & ~opted_out) if (sms and opted_out is not None) else has_phone
    whens_channel = [
        When(no_consent, then=Value(Channel.NONE)),
        When(line, then=Value(Channel.LINE)),
    ]
    if sms:
        whens_channel.append(When(sms_ok, then=Value(Channel.SMS)))
    whens_reason = [
        When(no_consent, then=Value(Reason.NO_CONSENT)),
        When(line, then=Value(Reason.NONE)),
    ]
    if sms:
        whens_reason.append(When(sms_ok, then=Value(Reason.NONE)))
        if opted_out is not None:
            whens_reason.append(When(has_phone & opted_out, then=Value(Reason.SMS_OPTED_OUT)))
    whens_reason += [
        When(bound & Q(_is_blocked=True), then=Value(Reason.BLOCKED)),
        When(bound, then=Value(Reason.NOT_FRIEND)),
    ]
    members = members.annotate(
        _channel=Case(*whens_channel, default=Value(Channel.NONE), output_field=CharField()),
        _reason=Case(*whens_reason, default=Value(Reason.NOT_BOUND), output_field=CharField()),
    )
    if broadcast.holdout_percent:
        scramble = Mod(Mod(F("pk") * HOLDOUT_MULTIPLIER + broadcast.pk, HOLDOUT_MODULUS), 100)
        members = members.alias(_scramble=scramble).annotate(
            _holdout=ExpressionWrapper(
                Q(_channel__in=(Channel.LINE, Channel.SMS))
                & Q(_scramble__lt=broadcast.holdout_percent),
                output_field=BooleanField(),
            )
        )
    return members


@dataclass(frozen=True)
class Estimate:
    """What the confirm step shows: the audience, how many get it on LINE and by SMS, how many
    are held out, and the others by reason. ``line_messages`` is what it uses of LINE's monthly
    quota (recipients × messages)."""

    total: int
    line: int
    sms: int
    holdout: int
    not_sent: dict[str, int]
    line_messages: int


def estimate(broadcast: Broadcast, *, sms: bool, opted_out: Q | None = None) -> Estimate:
    """The confirm step's numbers, from one ``GROUP BY`` of the routed audience (channel, reason,
    held out): each member's routing is worked out once, where a count per number repeated it
    for each of a dozen numbers (53 s for 1,000,000 members, bench/broadcast.py)."""
    members = routed(broadcast, sms=sms, opted_out=opted_out).order_by()
    keys = ["_channel", "_reason"]
    if broadcast.holdout_percent:
        members = members.annotate(
            _held=ExpressionWrapper(
                Q(_scramble__lt=broadcast.holdout_percent), output_field=BooleanField()
            )
        )
        keys.append("_held")
    total = line = sms_count = holdout = 0
    not_sent: dict[str, int] = {}
    for row in members.values(*keys).annotate(n=Count("pk")):
        channel, n = row["_channel"], row["n"]
        total += n
        if channel == Channel.NONE:
            if row["_reason"]:
                not_sent[row["_reason"]] = not_sent.get(row["_reason"], 0) + n
        elif row.get("_held"):
            holdout += n
        elif channel == Channel.LINE:
            line += n
        else:
            sms_count += n
    parts = max(1, len(broadcast.messages))
    return Estimate(
        total=total,
        line=line,
        sms=sms_count,
        holdout=holdout,
        not_sent={
            reason.value: not_sent[reason.value] for reason in Reason if reason.value in not_sent
        },
        line_messages=line * parts,
    )


def recipients_todo(broadcast: Broadcast) -> QuerySet[BroadcastRecipient]:
    return BroadcastRecipient.objects.filter(broadcast=broadcast, state=RState.PENDING).order_by(
        "member_id"
    )
