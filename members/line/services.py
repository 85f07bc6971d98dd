"""Every write of the LINE conversation: storing webhook events once, processing them, friends.

Storing is one ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` for all the events of a request
(PostgreSQL and SQLite 3.35+): a redelivered or replayed event is not inserted again and not
processed again, and two concurrent deliveries of one event store it once (the unique constraint
decides). The processing task takes the ids that were new.

Friends: a follow sets ``followed_at``, an unfollow ``unfollowed_at``, each only forward in time
(LINE's event timestamp); the state is whichever is later. So applying the same events again, or
in any order, leaves the same row: an old follow that arrives after a newer unfollow does not make
the user a friend again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from linebot.v3.webhooks import Event

from members.line import router
from members.line.models import BindingRecord, LineFriend, WebhookEvent
from members.models import Member

log = logging.getLogger(__name__)

_STORED_COLUMNS = (
    "shop",
    "webhook_event_id",
    "event_type",
    "line_user_id",
    "timestamp_ms",
    "is_redelivery",
    "payload",
    "received_at",
    "outcome",
    "error",
)


def _event_row(shop_id: int, raw: dict[str, Any], now: dt.datetime) -> dict[str, Any] | None:
    event_id = raw.get("webhookEventId")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 64:
        return None
    source = raw.get("source") or {}
    timestamp = raw.get("timestamp")
    return {
        "shop": shop_id,
        "webhook_event_id": event_id,
        "event_type": str(raw.get("type") or "")[:32],
        "line_user_id": str(source.get("userId") or "")[:64],
        "timestamp_ms": timestamp if isinstance(timestamp, int) else 0,
        "is_redelivery": bool((raw.get("deliveryContext") or {}).get("isRedelivery")),
        "payload": raw,
        "received_at": now,
        "outcome": WebhookEvent.Outcome.PENDING,
        "error": "",
    }


def webhook_events_store(*, shop_id: int, events: Sequence[dict[str, Any]]) -> list[int]:
    """Store the events of one webhook request, each once per ``webhookEventId``; the ids of the
    rows that are new (redeliveries and replays give none), and enqueue their processing after
    commit (one task for the request).

    An event without a ``webhookEventId`` (LINE always sends one) is logged and skipped.
    """
    now = timezone.now()
    rows = []
    for raw in events:
        row = _event_row(shop_id, raw, now)
        if row is None:
            log.warning("LINE webhook event without webhookEventId for shop %s skipped", shop_id)
        else:
            rows.append(row)
    if not rows:
        return []
    meta = WebhookEvent._meta
    fields = [meta.get_field(name) for name in _STORED_COLUMNS]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params: list[Any] = []
    for row in rows:
        for field, name in zip(fields, _STORED_COLUMNS, strict=True):
            params.append(field.get_db_prep_save(row[name], connection))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608 - names, not data
        f"{', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT ({quote('shop_id')}, {quote('webhook_event_id')}) DO NOTHING RETURNING id"
    )
    # One statement, atomic by itself: no BEGIN/COMMIT round trips around it. Called inside a
    # transaction, the task is still enqueued only once that commits (``on_commit``).
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        new_ids = [row[0] for row in cursor.fetchall()]
    if new_ids:
        _enqueue_processing(shop_id, new_ids)
    return new_ids


def _enqueue_processing(shop_id: int, event_ids: list[int]) -> None:
    from django_q.tasks import async_task

    sync = bool(settings.Q_CLUSTER.get("sync", False))
    transaction.on_commit(
        lambda: async_task(
            "members.line.tasks.process_webhook_events",
            shop_id,
            event_ids,
            sync=sync,
            task_name=f"line-webhook-{shop_id}-{event_ids[0]}",
        )
    )


def webhook_events_process(*, shop_id: int, event_ids: Iterable[int]) -> dict[str, int]:
    """Process stored events not yet processed, in LINE's timestamp order (then arrival order).

    Follow and unfollow maintain ``LineFriend``; the other types go to ``members.line.router``.
    An event no handler takes is marked "no handler"; one whose handler raises is marked failed
    and logged; neither stops the others. Safe to run twice: processed events are skipped.
    """
    counts = dict.fromkeys(WebhookEvent.Outcome.values, 0)
    pending = WebhookEvent.objects.filter(
        shop_id=shop_id, pk__in=list(event_ids), outcome=WebhookEvent.Outcome.PENDING
    ).order_by("timestamp_ms", "pk")
    for stored in pending:
        outcome, error = _process_one(stored)
        WebhookEvent.objects.filter(pk=stored.pk, outcome=WebhookEvent.Outcome.PENDING).update(
            outcome=outcome, error=error, processed_at=timezone.now()
        )
        counts[outcome] += 1
    return counts


def _event_time(stored: WebhookEvent) -> dt.datetime:
    return dt.datetime.fromtimestamp(stored.timestamp_ms / 1000, tz=dt.UTC)


def _after_follow(stored: WebhookEvent, friend: LineFriend) -> None:
    """Offer an applied follow to the router's "follow" handlers (the greeting). The friend row is
    kept whatever they do: a handler that raises is logged, and the event is still processed."""
    try:
        router.dispatch(
            "follow", event=Event.from_dict(stored.payload), stored=stored, friend=friend
        )
    except Exception:
        log.exception("LINE follow %s: a follow handler failed", stored.webhook_event_id)


def _process_one(stored: WebhookEvent) -> tuple[str, str]:
    outcome = WebhookEvent.Outcome
    try:
        if stored.event_type in ("follow", "unfollow") and stored.line_user_id:
            friend = line_friend_apply(
                shop_id=stored.shop_id,
                line_user_id=stored.line_user_id,
                follow=stored.event_type == "follow",
                at=_event_time(stored),
            )
            if stored.event_type == "follow" and friend.state == LineFriend.State.FRIEND:
                _after_follow(stored, friend)
            return outcome.PROCESSED, ""
        try:
            event = Event.from_dict(stored.payload)
        except (ValueError, TypeError):
            event = None
        friend = (
            LineFriend.objects.filter(
                shop_id=stored.shop_id, line_user_id=stored.line_user_id
            ).first()
            if stored.line_user_id
            else None
        )
        if event is not None and router.dispatch(
            stored.event_type, event=event, stored=stored, friend=friend
        ):
            return outcome.PROCESSED, ""
        log.info(
            "LINE webhook event %s (%s) of shop %s: no handler",
            stored.webhook_event_id,
            stored.event_type,
            stored.shop_id,
        )
        return outcome.UNHANDLED, ""
    except Exception as exc:  # a handler's bug must not stop the other events
        log.exception("LINE webhook event %s failed", stored.webhook_event_id)
        return outcome.FAILED, f"{type(exc).__name__}: {exc}"[:2000]


@transaction.atomic
def line_friend_apply(
    *, shop_id: int, line_user_id: str, follow: bool, at: dt.datetime
) -> LineFriend:
    """Record a follow (``follow=True``: added as a friend or unblocked) or an unfollow (blocked)
    at LINE's time ``at``; the state is the later of the two times, so replays and late arrivals
    change nothing they should not. The friend is bound to the shop's member with this LINE id.

    The row is created if need be and locked, so two events of one user processed at once apply
    one after the other.
    """
    LineFriend.objects.bulk_create(
        [LineFriend(shop_id=shop_id, line_user_id=line_user_id, state=LineFriend.State.FRIEND)],
        ignore_conflicts=True,
    )
    friend = LineFriend.objects.select_for_update().get(shop_id=shop_id, line_user_id=line_user_id)
    if follow:
        if friend.followed_at is None or at > friend.followed_at:
            friend.followed_at = at
    elif friend.unfollowed_at is None or at > friend.unfollowed_at:
        friend.unfollowed_at = at
    friend.state = _state_for(friend.followed_at, friend.unfollowed_at)
    if friend.member_id is None:
        friend.member_id = (
            Member.objects.filter(shop_id=shop_id, line_user_id=line_user_id)
            .values_list("pk", flat=True)
            .first()
        )
    friend.save(update_fields=["followed_at", "unfollowed_at", "state", "member", "updated_at"])
    return friend


def _state_for(followed_at: dt.datetime | None, unfollowed_at: dt.datetime | None) -> str:
    """Friend unless the latest event is an unfollow (a tie goes to the follow: LINE never sends
    both at the same millisecond for one user, and a friend is the harmless reading)."""
    if unfollowed_at is not None and (followed_at is None or unfollowed_at > followed_at):
        return LineFriend.State.BLOCKED
    return LineFriend.State.FRIEND


def line_friends_bind_member(*, member: Member) -> int:
    """Point the shop's LINE friend rows at ``member`` when it has their LINE id, and let go of
    rows that name the member under an id it no longer has (unbound or changed); rows changed.

    Called after a member is saved (``members.line.signals``), so a member who gets a LINE id
    later (sign-up, the API, an import, the admin) is bound to the friend row at once.
    """
    changed = 0
    stale = LineFriend.objects.filter(member=member)
    if member.line_user_id:
        stale = stale.exclude(line_user_id=member.line_user_id)
        changed += (
            LineFriend.objects.filter(shop_id=member.shop_id, line_user_id=member.line_user_id)
            .exclude(member=member)
            .update(member=member, updated_at=timezone.now())
        )
    changed += stale.update(member=None, updated_at=timezone.now())
    return changed


def line_friends_erase(member: Member) -> int:
    """A member's account is erased (PDPA): delete the LINE friend rows bound to them and the
    webhook events their LINE user sent this shop (messages hold what they wrote); safe twice.

    Runs from the member's save that erases them (``members.line.signals``, before the save's
    blanked LINE id unbinds the rows) and again as the registered eraser, which then finds none.
    """
    friends = LineFriend.objects.filter(member=member)
    user_ids = list(friends.values_list("line_user_id", flat=True))
    if not user_ids:
        return 0
    WebhookEvent.objects.filter(shop_id=member.shop_id, line_user_id__in=user_ids).delete()
    deleted, _ = friends.delete()
    return deleted


def binding_records_erase(member: Member) -> int:
    """A member's account is erased (PDPA): their binding records keep what happened and when,
    without the LINE user id and Customer ID; safe twice."""
    return (
        BindingRecord.objects.filter(member=member)
        .exclude(line_user_id="", customer_id="")
        .update(line_user_id="", customer_id="")
    )
