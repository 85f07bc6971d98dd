"""Writes of broadcasts: save a draft, confirm (with the count the shop saw), cancel, copy, a test
send, and the sending job.

Sending is two steps, each safe to run again after a crash:

1. ``_snapshot``: one ``INSERT … SELECT`` writes a recipient row per member of the audience, with
   the channel (LINE, SMS, none and why) and the hold-out, in the transaction that moves the
   broadcast from scheduled to sending. Later changes to the segment do not change who gets it.
2. ``_enqueue_batch`` (repeated): the next ≤ 500 waiting recipients, in member order, are handed
   to the outbox (one multicast per group of members whose messages come out the same) and marked
   queued in the same transaction. A job killed between two batches leaves every recipient either
   queued (with its outbox row) or waiting; the next run goes on with the waiting ones. The outbox
   then sends each row once (LINE retry keys).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.broadcasts import messages as parts_module
from campaigns.broadcasts.models import Broadcast, BroadcastMedia, BroadcastRecipient
from campaigns.broadcasts.rendering import Assets, render_parts
from campaigns.broadcasts.selectors import recipients_todo, routing
from campaigns.segments.models import Segment
from loyalty.errors import ApplicationError, Conflict, InvalidInput
from loyalty.lookups import AnyOf
from loyalty.outbox.models import MAX_RECIPIENTS
from loyalty.outbox.services import outbox_enqueue
from members.line.models import LineFriend
from members.models import Member
from rewards.models import Reward
from rewards.rules import gift_refusal
from shops.models import Shop, Tag

logger = logging.getLogger(__name__)

State = Broadcast.State
RState = BroadcastRecipient.State
Channel = BroadcastRecipient.Channel
SEND_TASK = "campaigns.broadcasts.tasks.broadcast_send"
BATCH = MAX_RECIPIENTS
MAX_TEST_RECIPIENTS = 5
EDITABLE = (State.DRAFT,)


def broadcast_save(
    *,
    shop: Shop,
    name: str,
    segment_ids: Sequence[int],
    messages: list,
    sms_text: str = "",
    coupon_reward_id: int | None = None,
    consent_only: bool = True,
    holdout_percent: int = 0,
    attribution_days: int = 7,
    send_at: dt.datetime | None = None,
    broadcast: Broadcast | None = None,
) -> Broadcast:
    """Create a draft (or change ``broadcast``, a draft of ``shop``). Every field is checked
    first; the problems are refused together in one ``InvalidInput`` whose message names each."""
    if broadcast is not None and broadcast.state not in EDITABLE:
        raise Conflict(_("Only a draft can be changed. Copy it to write a new one."))
    errors: dict[str, list[str]] = defaultdict(list)
    name = (name or "").strip()
    if not name:
        errors["name"].append(_("Give the broadcast a name."))
    segments = list(Segment.objects.filter(shop=shop, pk__in=list(segment_ids)))
    if not segment_ids:
        errors["segments"].append(_("Choose at least one segment."))
    elif len(segments) != len(set(segment_ids)):
        errors["segments"].append(_("Some of the segments are not this shop's."))
    cleaned = []
    try:
        cleaned = parts_module.check_parts(
            messages,
            media_kinds={
                str(key): kind
                for key, kind in BroadcastMedia.objects.filter(shop=shop).values_list("key", "kind")
            },
            reward_ids={
                str(p) for p in Reward.objects.filter(shop=shop).values_list("public_id", flat=True)
            },
        )
        _check_tags(shop, cleaned)
    except ValidationError as exc:
        errors["messages"].extend(exc.messages)
    coupon_reward = None
    if coupon_reward_id:
        coupon_reward = Reward.objects.filter(shop=shop, pk=coupon_reward_id).first()
        refusal = (
            gift_refusal(coupon_reward, shop_id=shop.pk) if coupon_reward is not None else None
        )
        if coupon_reward is None:
            errors["coupon_reward"].append(_("Choose one of the shop's rewards."))
        elif refusal is not None:
            errors["coupon_reward"].append(str(refusal))
    if not 0 <= int(holdout_percent) <= 50:
        errors["holdout_percent"].append(_("The hold-out share is from 0 to 50 %."))
    if not 1 <= int(attribution_days) <= 90:
        errors["attribution_days"].append(_("The results window is from 1 to 90 days."))
    if send_at is not None and send_at < timezone.now() - dt.timedelta(minutes=1):
        errors["send_at"].append(_("The send time has passed. Choose a later time, or send now."))
    if errors:
        field, _problems = next(iter(errors.items()))
        raise InvalidInput(
            " ".join(p for ps in errors.values() for p in ps),
            field=field,
            extra={"errors": {k: list(v) for k, v in errors.items()}},
        )
    with transaction.atomic():
        if broadcast is None:
            broadcast = Broadcast(shop=shop)
        broadcast.name = name
        broadcast.messages = cleaned
        broadcast.sms_text = (sms_text or "").strip()
        broadcast.coupon_reward = coupon_reward
        broadcast.consent_only = consent_only
        broadcast.holdout_percent = int(holdout_percent)
        broadcast.attribution_days = int(attribution_days)
        broadcast.send_at = send_at
        broadcast.save()
        broadcast.segments.set(segments)
    return broadcast


def _check_tags(shop: Shop, parts: list[dict]) -> None:
    wanted = set()
    for part in parts:
        wanted.update(part.get("tags") or [])
        for area in part.get("areas") or []:
            wanted.update(area.get("tags") or [])
    if wanted and Tag.objects.filter(shop=shop, pk__in=wanted).count() != len(wanted):
        raise ValidationError(_("Some of the tags are not this shop's."))


def broadcast_confirm(*, broadcast: Broadcast, recipients: int, user=None) -> Broadcast:
    """Schedule a draft, given the number of recipients the shop was shown (LINE and SMS). If the
    audience changed since, it is refused with the new count (``Conflict``, extra ``estimate``) so
    that nobody confirms a number they did not see. Sent at ``send_at``, or now."""
    from campaigns.broadcasts.reach import broadcast_estimate

    with transaction.atomic():
        locked = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        if locked.state != State.DRAFT:
            raise Conflict(_("This broadcast was already confirmed."), code="not_draft")
        current = broadcast_estimate(locked)
        if current.line + current.sms != recipients:
            raise Conflict(
                _(
                    "The audience changed: it is now %(count)s recipients, not %(shown)s. "
                    "Check the new count and confirm again."
                )
                % {"count": current.line + current.sms, "shown": recipients},
                code="count_changed",
                extra={"recipients": current.line + current.sms},
            )
        if current.line + current.sms == 0:
            raise ApplicationError(_("Nobody in these segments can get it."), code="nobody")
        if locked.send_at and locked.send_at < timezone.now() - dt.timedelta(minutes=1):
            raise InvalidInput(
                _("The send time has passed. Choose a later time, or send now."), field="send_at"
            )
        locked.state = State.SCHEDULED
        locked.confirmed_recipients = recipients
        locked.confirmed_at = timezone.now()
        locked.confirmed_by = user
        locked.save(
            update_fields=[
                "state",
                "confirmed_recipients",
                "confirmed_at",
                "confirmed_by",
                "updated_at",
            ]
        )
        if locked.send_at is None or locked.send_at <= timezone.now():
            transaction.on_commit(lambda: _schedule(locked.pk))
    return locked


def broadcast_cancel(*, broadcast: Broadcast) -> Broadcast:
    """Cancel a scheduled broadcast that has not started (a started one has reached people)."""
    with transaction.atomic():
        locked = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        if locked.state not in (State.SCHEDULED, State.DRAFT):
            raise Conflict(
                _("Only a draft or a scheduled broadcast can be cancelled; this one has started."),
                code="started",
            )
        locked.state = State.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["state", "cancelled_at", "updated_at"])
    return locked


def broadcast_copy(*, broadcast: Broadcast) -> Broadcast:
    """A new draft with the same segments, messages and settings (no send time)."""
    with transaction.atomic():
        copy = Broadcast.objects.create(
            shop=broadcast.shop,
            name=_copy_name(broadcast),
            messages=broadcast.messages,
            sms_text=broadcast.sms_text,
            coupon_reward=broadcast.coupon_reward,
            consent_only=broadcast.consent_only,
            holdout_percent=broadcast.holdout_percent,
            attribution_days=broadcast.attribution_days,
            copied_from=broadcast,
        )
        copy.segments.set(broadcast.segments.all())
    return copy


def _copy_name(broadcast: Broadcast) -> str:
    return (_("Copy of %(name)s") % {"name": broadcast.name})[:200]


def broadcast_test_send(*, broadcast: Broadcast, line_user_ids: Sequence[str]) -> int:
    """Send the messages now to a few of the shop's LINE friends (staff checking how it looks),
    as each of them would get it if bound, else with a sample member's values. Not counted in the
    results. Returns how many were queued."""
    ids = list(dict.fromkeys(i for i in line_user_ids if i))
    if not ids:
        raise InvalidInput(_("Choose who gets the test."), field="line_user_ids")
    if len(ids) > MAX_TEST_RECIPIENTS:
        raise InvalidInput(
            _("A test goes to at most %(n)s people.") % {"n": MAX_TEST_RECIPIENTS},
            field="line_user_ids",
        )
    friends = set(
        LineFriend.objects.filter(
            shop_id=broadcast.shop_id, line_user_id__in=ids, state=LineFriend.State.FRIEND
        ).values_list("line_user_id", flat=True)
    )
    if friends != set(ids):
        raise InvalidInput(
            _("A test goes only to friends of the shop's LINE account."), field="line_user_ids"
        )
    if not broadcast.messages:
        raise InvalidInput(_("Write at least one message."), field="messages")
    assets = Assets.of(broadcast)
    members = {
        m.line_user_id: m
        for m in Member.objects.filter(
            shop_id=broadcast.shop_id, line_user_id__in=ids, bound_at__isnull=False
        ).select_related("shop", "tier")
    }
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    with transaction.atomic():
        for line_user_id in ids:
            outbox_enqueue(
                shop_id=broadcast.shop_id,
                to=[line_user_id],
                messages=render_parts(broadcast.messages, assets, members.get(line_user_id)),
                source=f"{broadcast.source}:test",
                dedupe_key=f"{broadcast.source}:test:{line_user_id}:{stamp}",
            )
    return len(ids)


# --- sending ---------------------------------------------------------------------------------------


def broadcast_send(broadcast_id: int) -> dict:
    """The job: start the broadcast if it is due (recipient rows), then queue every waiting
    recipient batch by batch. Safe to run twice, or after a run that was killed."""
    broadcast = _start(broadcast_id)
    if broadcast is None:
        return {"queued": 0}
    assets = Assets.of(broadcast)
    queued, after = 0, 0
    while True:
        done = _enqueue_batch(broadcast, assets, after)
        if done is None:
            if after == 0:
                break
            after = 0  # a last look from the start: nothing may be left waiting behind
            continue
        count, after = done
        queued += count
    Broadcast.objects.filter(pk=broadcast.pk, state=State.SENDING).update(
        state=State.SENT, finished_at=timezone.now(), updated_at=timezone.now()
    )
    return {"queued": queued}


def broadcasts_due(*, now: dt.datetime | None = None) -> int:
    """Every minute: send the scheduled broadcasts whose time has come, and finish any a killed
    job left half sent."""
    now = now or timezone.now()
    due = list(
        Broadcast.objects.filter(
            Q(state=State.SCHEDULED, send_at__lte=now)
            | Q(state=State.SCHEDULED, send_at__isnull=True)
            | Q(state=State.SENDING)
        ).values_list("pk", flat=True)
    )
    for pk in due:
        broadcast_send(pk)
    return len(due)


def _start(broadcast_id: int) -> Broadcast | None:
    """Move a due scheduled broadcast to sending, writing its recipients in the same transaction;
    a broadcast already sending is returned as it is (a resumed run)."""
    with transaction.atomic():
        broadcast = (
            Broadcast.objects.select_for_update()
            .select_related("shop")
            .filter(pk=broadcast_id)
            .first()
        )
        if broadcast is None:
            return None
        if broadcast.state == State.SENDING:
            return broadcast
        if broadcast.state != State.SCHEDULED or (
            broadcast.send_at and broadcast.send_at > timezone.now()
        ):
            return None
        _snapshot(broadcast)
        broadcast.link_urls = _tracked_links(broadcast)
        broadcast.state = State.SENDING
        broadcast.started_at = timezone.now()
        broadcast.save(update_fields=["state", "started_at", "link_urls", "updated_at"])
    return broadcast


def _snapshot(broadcast: Broadcast) -> int:
    """One ``INSERT … SELECT``: a recipient row per member of the audience."""
    from campaigns.broadcasts.reach import sms_routing

    sms, opted_out = sms_routing(broadcast)
    sql, params = routing(broadcast, sms=sms, opted_out=opted_out)
    table = BroadcastRecipient._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(  # no sort: the send reads them in member order
            f"INSERT INTO {table} "  # noqa: S608 - values are parameters
            "(broadcast_id, member_id, channel, state, reason, line_user_id, phone) "
            "SELECT %s, r.id, r.channel, "
            "CASE WHEN r.channel = %s THEN %s WHEN r.held THEN %s ELSE %s END, "
            f"r.reason, r.line_user_id, r.phone FROM ({sql}) r",
            [broadcast.pk, Channel.NONE, RState.SKIPPED, RState.HOLDOUT, RState.PENDING, *params],
        )
        return cursor.rowcount


def _tracked_links(broadcast: Broadcast) -> dict[str, str]:
    """The tracked redirect of each link in the messages (made once, when sending starts)."""
    from campaigns.broadcasts.reach import tracked_links

    return tracked_links(broadcast)


def _enqueue_batch(broadcast: Broadcast, assets: Assets, after: int = 0) -> tuple[int, int] | None:
    """Queue the next batch of waiting recipients, in member order after the member ``after``:
    (how many, the last member); None when there are none left there.

    The batch is read from where the last one ended (the one-per-member index, in member order),
    not from the start of the waiting ones: recipients already queued are behind it, and reading
    past them from the start made each batch slower than the last (bench/broadcast.py)."""
    with transaction.atomic():
        # The broadcast's row lock keeps two runs of the job from taking the same batch.
        Broadcast.objects.select_for_update().filter(pk=broadcast.pk).values_list("pk").first()
        batch = _next_batch(broadcast, after)
        if not batch:
            return None
        line = [r for r in batch if r.channel == Channel.LINE]
        sms = [r for r in batch if r.channel == Channel.SMS]
        coupons = _give_coupons(broadcast, batch)
        marked = _queue_line(broadcast, assets, line, coupons)
        _queue_sms(broadcast, sms, coupons)
        rest = [r.pk for r in batch if r.pk not in coupons.refused and r.pk not in marked]
        if rest:
            BroadcastRecipient.objects.filter(pk__in=rest, state=RState.PENDING).update(
                state=RState.QUEUED
            )
    return len(batch), batch[-1].member_id


@dataclass(frozen=True)
class _LineRecipient:
    """What sending a LINE message needs of a recipient: lighter than a model row, a batch of
    which took a third of the job's Python time (bench/broadcast.py)."""

    pk: int
    member_id: int
    channel: str
    line_user_id: str


def _next_batch(broadcast: Broadcast, after: int) -> list:
    """The next waiting recipients after the member ``after``: light rows when they are all LINE
    recipients of a broadcast without a coupon, else model rows (a coupon or an SMS is written
    onto them)."""
    todo = recipients_todo(broadcast).filter(member_id__gt=after)
    rows = list(todo.values_list("pk", "member_id", "channel", "line_user_id")[:BATCH])
    if broadcast.coupon_reward_id is None and all(row[2] == Channel.LINE for row in rows):
        return [_LineRecipient(*row) for row in rows]
    return list(
        BroadcastRecipient.objects.filter(pk__in=[row[0] for row in rows]).order_by("member_id")
    )


def _give_coupons(broadcast: Broadcast, batch: list[BroadcastRecipient]):
    from campaigns.broadcasts.reach import give_coupons

    return give_coupons(broadcast, batch)


def _queue_line(broadcast, assets, recipients, coupons) -> set[int]:
    """Hand the batch's LINE recipients to the outbox; returns the recipients marked queued with
    their outbox row."""
    recipients = [r for r in recipients if r.pk not in coupons.refused]
    marked: set[int] = set()
    if not recipients:
        return marked
    groups: dict[str, list[BroadcastRecipient]] = defaultdict(list)
    rendered: dict[str, list[dict]] = {}
    if parts_module.per_member(broadcast.messages):
        members = Member.objects.select_related("shop", "tier").in_bulk(
            [r.member_id for r in recipients]
        )
        for recipient in recipients:
            messages = render_parts(
                broadcast.messages,
                assets,
                members[recipient.member_id],
                coupon=coupons.given.get(recipient.pk),
            )
            key = json.dumps(messages, sort_keys=True)
            rendered[key] = messages
            groups[key].append(recipient)
    else:
        messages = render_parts(broadcast.messages, assets, None)
        key = json.dumps(messages, sort_keys=True)
        rendered[key] = messages
        groups[key] = recipients
    for key, group in groups.items():
        rows = outbox_enqueue(
            shop_id=broadcast.shop_id,
            to=[r.line_user_id for r in group],
            messages=rendered[key],
            source=broadcast.source,
            dedupe_key=f"{broadcast.source}:{group[0].member_id}",
        )
        # One UPDATE per outbox row (a multicast of up to 500), which also marks them queued:
        # ``bulk_update`` built a CASE of 500 branches per batch and took most of the job's time,
        # and a second UPDATE wrote every row again (bench/broadcast.py).
        ids_by_user = defaultdict(list)
        for recipient in group:
            ids_by_user[recipient.line_user_id].append(recipient.pk)
        for row in rows:
            ids = [pk for user in row.recipients for pk in ids_by_user.get(user, ())]
            if ids:
                BroadcastRecipient.objects.filter(AnyOf(F("pk"), ids)).update(
                    outbox_message_id=row.pk, state=RState.QUEUED
                )
                marked.update(ids)
    return marked


def _queue_sms(broadcast, recipients, coupons) -> None:
    from campaigns.broadcasts.reach import queue_sms

    queue_sms(broadcast, [r for r in recipients if r.pk not in coupons.refused], coupons)


def _schedule(broadcast_id: int) -> None:
    from django_q.tasks import async_task

    async_task(SEND_TASK, broadcast_id, sync=bool(settings.Q_CLUSTER.get("sync", False)))
