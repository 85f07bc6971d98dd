"""Reads of broadcasts: the audience and how it splits by channel (before sending: the confirm
step's counts), LINE's quota, and the results afterwards."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Mod

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


def routing(broadcast: Broadcast, *, sms: bool, opted_out: Q | None = None) -> tuple[str, list]:
    """The SQL (and its parameters) of the routed audience: a row per member with the columns
    ``id``, ``line_user_id`` and ``phone`` (never null), ``channel`` (LINE, SMS or none),
    ``reason`` (why none) and ``held`` (held out; only members with a channel can be). The
    confirm step's count and the send's recipient rows come from this same statement.

    LINE when bound and a friend now; else SMS when ``sms`` (the broadcast has an SMS text and SMS
    can be sent), the member has a phone and has not opted out (``opted_out``: a filter of the
    members who did); else nothing, with the reason.

    Each member's friendship and latest marketing consent are joined once: as correlated
    subqueries inside the two ``CASE`` expressions they ran four times per member (13.2 s for
    1,000,000 members, against 3.2 s joined; bench/broadcast.py)."""
    shop_id = broadcast.shop_id
    scramble = Mod(Mod(F("pk") * HOLDOUT_MULTIPLIER + broadcast.pk, HOLDOUT_MODULUS), 100)
    fields = {"_id": F("pk"), "_line": F("line_user_id"), "_phone": F("phone")}
    fields |= {"_bound": F("bound_at"), "_scramble": scramble}
    opted = sms and opted_out is not None
    if opted:
        fields["_opted_out"] = ExpressionWrapper(opted_out, output_field=BooleanField())
    inner, inner_params = audience(broadcast).order_by().values(**fields).query.sql_with_params()
    joins = (
        f"LEFT JOIN {LineFriend._meta.db_table} f ON f.shop_id = %s AND f.line_user_id = m._line"
    )
    join_params: list = [shop_id]
    if broadcast.consent_only:
        joins += (
            " LEFT JOIN (SELECT member_id, granted, ROW_NUMBER() OVER (PARTITION BY member_id"  # noqa: S608 - values are parameters
            f" ORDER BY recorded_at DESC, id DESC) AS n FROM {ConsentRecord._meta.db_table}"
            " WHERE shop_id = %s AND kind = %s) c ON c.member_id = m._id AND c.n = 1"
        )
        join_params += [shop_id, ConsentRecord.Kind.MARKETING]
    (channel_sql, channel_params), (reason_sql, reason_params) = _routing_cases(
        consent=broadcast.consent_only, sms=sms, opted=opted
    )
    sql = (
        "SELECT r.*, r.channel IN (%s, %s) AND r.scramble < %s AS held FROM ("  # noqa: S608 - values are parameters
        "SELECT m._id AS id, COALESCE(m._line, '') AS line_user_id,"
        " COALESCE(m._phone, '') AS phone, m._scramble AS scramble,"
        f" {channel_sql} AS channel, {reason_sql} AS reason"
        f" FROM ({inner}) m {joins}) r"
    )
    params = [Channel.LINE, Channel.SMS, broadcast.holdout_percent, *channel_params]
    return sql, params + reason_params + list(inner_params) + join_params


def _routing_cases(*, consent: bool, sms: bool, opted: bool):
    """The ``CASE`` of the channel and the one of the reason, each ``(sql, params)``, in the order
    the rules apply (see ``routing``). ``m``: the member; ``f``: their LINE friend row; ``c``: their
    latest marketing consent; ``m._opted_out``: whether their phone opted out of SMS."""
    bound = "m._bound IS NOT NULL AND m._line IS NOT NULL"
    has_phone = "m._phone IS NOT NULL AND m._phone <> ''"
    line = (f"{bound} AND f.state = %s", [LineFriend.State.FRIEND])
    channel, reason = [], []
    if consent:
        no_consent = ("NOT COALESCE(c.granted, %s)", [False])
        channel.append((no_consent, Channel.NONE))
        reason.append((no_consent, Reason.NO_CONSENT))
    channel.append((line, Channel.LINE))
    reason.append((line, Reason.NONE))
    if sms:
        sms_ok = (
            (f"{has_phone} AND NOT COALESCE(m._opted_out, %s)", [False])
            if opted
            else (has_phone, [])
        )
        channel.append((sms_ok, Channel.SMS))
        reason.append((sms_ok, Reason.NONE))
        if opted:
            opted_out = (f"{has_phone} AND COALESCE(m._opted_out, %s)", [False])
            reason.append((opted_out, Reason.SMS_OPTED_OUT))
    reason.append(((f"{bound} AND f.state = %s", [LineFriend.State.BLOCKED]), Reason.BLOCKED))
    reason.append(((bound, []), Reason.NOT_FRIEND))
    return _case(channel, Channel.NONE), _case(reason, Reason.NOT_BOUND)


def _case(whens: list, default: str) -> tuple[str, list]:
    """``CASE WHEN … THEN … ELSE default END`` of ``((condition, its parameters), value)`` pairs."""
    sql, params = "CASE", []
    for (condition, condition_params), value in whens:
        sql += f" WHEN {condition} THEN %s"
        params += [*condition_params, value]
    return sql + " ELSE %s END", [*params, default]


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
    sql, params = routing(broadcast, sms=sms, opted_out=opted_out)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT channel, reason, held, COUNT(*) FROM ({sql}) a "  # noqa: S608 - values are parameters
            "GROUP BY channel, reason, held",
            params,
        )
        rows = cursor.fetchall()
    total = line = sms_count = holdout = 0
    not_sent: dict[str, int] = {}
    for channel, reason, held, n in rows:
        total += n
        if channel == Channel.NONE:
            if reason:
                not_sent[reason] = not_sent.get(reason, 0) + n
        elif held:
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
