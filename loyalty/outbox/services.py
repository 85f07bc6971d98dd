"""Writes to the outbox: enqueue (inside the cause's transaction) and retry by hand."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from linebot.v3.messaging import Message

from loyalty.errors import ApplicationError
from loyalty.outbox.models import MAX_MESSAGES, MAX_RECIPIENTS, OutboxMessage

SEND_TASK = "loyalty.outbox.tasks.outbox_send"
RETRYABLE_STATES = (OutboxMessage.State.FAILED, OutboxMessage.State.QUOTA)


class OutboxMessageInvalid(ApplicationError):
    """The messages cannot go to LINE as they are (none, or more than five)."""


def outbox_enqueue(
    *,
    shop_id: int,
    to: Sequence[str | None],
    messages: list[dict],
    source: str,
    dedupe_key: str | None = None,
) -> list[OutboxMessage]:
    """Queue ``messages`` for ``to``: one push for one recipient, else multicast rows of ≤ 500.

    Call it inside the transaction that decides the message: the rows commit with it, and the
    sender is scheduled only after the commit. ``None`` in ``to`` is a recipient who cannot get a
    message (blocked, or no LINE account): counted as skipped, never sent. With a ``dedupe_key``,
    the same cause enqueues once per shop: a second call returns the first call's rows.
    """
    if not 1 <= len(messages) <= MAX_MESSAGES:
        raise OutboxMessageInvalid(_("A LINE message has one to five parts."))
    for message in messages:
        # The SDK's own models: a message LINE would refuse is refused here, in the caller's
        # transaction, rather than failing later in the sender.
        try:
            Message.from_dict(message)
        except (TypeError, ValueError) as exc:
            raise OutboxMessageInvalid(
                _("This is not a LINE message object: %(error)s") % {"error": exc}
            ) from exc
    if dedupe_key:
        existing = _existing(shop_id=shop_id, dedupe_key=dedupe_key)
        if existing:
            return existing
    # The same person twice in one send would get it twice: keep the first, count the others.
    recipients = list(dict.fromkeys(r for r in to if r))
    skipped = len(to) - len(recipients)
    batches = [
        recipients[start : start + MAX_RECIPIENTS]
        for start in range(0, len(recipients), MAX_RECIPIENTS)
    ]
    # One person is a push; a send to many stays a multicast to its last batch of one, because a
    # push to someone who blocked the OA is refused while a multicast drops them silently.
    kind = OutboxMessage.Kind.PUSH if len(recipients) == 1 else OutboxMessage.Kind.MULTICAST
    rows = [
        OutboxMessage(
            shop_id=shop_id,
            kind=kind,
            recipients=batch,
            messages=messages,
            source=source,
            dedupe_key=dedupe_key or "",
            batch=index,
            skipped_count=skipped if index == 0 else 0,
            next_attempt_at=timezone.now(),
        )
        for index, batch in enumerate(batches)
    ]
    if not rows:
        # Nobody to send to: the row still says so, and why (the admin shows it).
        rows = [
            OutboxMessage(
                shop_id=shop_id,
                kind=OutboxMessage.Kind.MULTICAST,
                messages=messages,
                source=source,
                dedupe_key=dedupe_key or "",
                state=OutboxMessage.State.SKIPPED,
                skipped_count=skipped,
            )
        ]
    try:
        with transaction.atomic():
            rows = OutboxMessage.objects.bulk_create(rows)
    except IntegrityError:
        # Another transaction enqueued the same cause first; theirs stands.
        if not dedupe_key:
            raise
        return _existing(shop_id=shop_id, dedupe_key=dedupe_key)
    ids = [row.pk for row in rows if row.state == OutboxMessage.State.PENDING]
    if ids:
        transaction.on_commit(lambda: _schedule(ids))
    return rows


def outbox_retry(*, message_ids: Sequence[int], shop_id: int | None = None) -> int:
    """Send failed or quota-stopped rows again, with the same retry key (never twice).

    Returns how many rows were queued again; rows in another state are left alone.
    """
    rows = OutboxMessage.objects.filter(pk__in=list(message_ids), state__in=RETRYABLE_STATES)
    if shop_id is not None:
        rows = rows.filter(shop_id=shop_id)
    with transaction.atomic():
        ids = list(rows.select_for_update().values_list("pk", flat=True))
        OutboxMessage.objects.filter(pk__in=ids).update(
            state=OutboxMessage.State.PENDING, next_attempt_at=timezone.now(), error=""
        )
        if ids:
            transaction.on_commit(lambda: _schedule(ids))
    return len(ids)


def _existing(*, shop_id: int, dedupe_key: str) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(shop_id=shop_id, dedupe_key=dedupe_key).order_by("batch")
    )


def _schedule(ids: list[int]) -> None:
    from django_q.tasks import async_task

    for message_id in ids:
        async_task(SEND_TASK, message_id)
