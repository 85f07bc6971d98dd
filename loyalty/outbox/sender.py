"""The sender: claims a due row, sends it with line-bot-sdk, records what LINE said.

A row goes PENDING → SENDING (claimed, with a lease) → SENT, FAILED or QUOTA, or back to PENDING
with a later ``next_attempt_at`` (back-off). The claim commits before LINE is called, so no row
lock is held across the network; a worker that dies after LINE accepted leaves the row SENDING,
and once its lease runs out the drain sends it again under the same ``X-Line-Retry-Key``: LINE
answers 409 and the row is marked sent, never sent twice.

What LINE answers, and what happens:
- 200, or 409 to a retry key LINE already accepted → SENT (with LINE's request id);
- 429 "monthly limit", or a quota read before the send that the batch would exceed → QUOTA;
- other 429, 5xx, a timeout or a refused connection → back-off (exponential, with jitter) until
  ``OUTBOX_MAX_ATTEMPTS``, then FAILED;
- any other 4xx → FAILED at once, with LINE's message.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import override
from linebot.v3.messaging import ApiException

from loyalty.line import LineUnavailable
from loyalty.line import messaging as line
from loyalty.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

QUOTA_CACHE_SECONDS = 60
MONTHLY_LIMIT_MESSAGE = "You have reached your monthly limit."
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500
State = OutboxMessage.State


def max_attempts() -> int:
    return getattr(settings, "OUTBOX_MAX_ATTEMPTS", 8)


def backoff_delay(attempts: int, *, rand: Callable[[], float] = random.random) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed try: doubling from
    ``OUTBOX_BACKOFF_SECONDS`` up to ``OUTBOX_BACKOFF_MAX_SECONDS``, with "equal jitter" (half
    fixed, half random) so that many rows failing together do not come back together."""
    base = getattr(settings, "OUTBOX_BACKOFF_SECONDS", 30)
    cap = getattr(settings, "OUTBOX_BACKOFF_MAX_SECONDS", 3600)
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=delay / 2 + rand() * delay / 2)


def lease() -> dt.timedelta:
    """How long a claimed row is left to its worker before the drain takes it back."""
    return dt.timedelta(seconds=settings.LINE_HTTP_TIMEOUT * 2 + 30)


def due_rows():
    """Rows to send now: waiting and due, or claimed by a worker whose lease ran out."""
    return OutboxMessage.objects.filter(
        state__in=(State.PENDING, State.SENDING), next_attempt_at__lte=timezone.now()
    )


def claim(*, message_id: int | None = None) -> OutboxMessage | None:
    """Take one due row (this one, or the oldest) for this worker, or None when there is none
    or another worker holds it. ``skip_locked`` keeps two workers off the same row on PostgreSQL;
    the guarded update does it on SQLite. A row whose every try ended with its worker gone (a
    crash, not an answer from LINE) is given up rather than taken again."""
    while True:
        with transaction.atomic():
            rows = due_rows().order_by("next_attempt_at", "pk")
            if message_id is not None:
                rows = rows.filter(pk=message_id)
            if transaction.get_connection().features.has_select_for_update_skip_locked:
                rows = rows.select_for_update(skip_locked=True)
            row = rows.first()
            if row is None:
                return None
            guard = OutboxMessage.objects.filter(pk=row.pk, state=row.state, attempts=row.attempts)
            if row.state == State.SENDING and row.attempts >= max_attempts():
                guard.update(
                    state=State.FAILED,
                    next_attempt_at=None,
                    error=_("Given up after %(n)s tries that did not finish.")
                    % {"n": row.attempts},
                )
                continue
            claimed = guard.update(
                state=State.SENDING,
                attempts=F("attempts") + 1,
                next_attempt_at=timezone.now() + lease(),
            )
            if not claimed:
                return None
        row.refresh_from_db()
        return row


def send(row: OutboxMessage) -> OutboxMessage:
    """Send a claimed row once and record the outcome (see the module docstring)."""
    with override(settings.LANGUAGE_CODE):
        token = _channel_token(row.shop_id)
        if not token:
            return _finish(row, state=State.FAILED, error=_("The shop has no LINE channel token."))
        try:
            stop = _quota_stop(row, token)
        except LineUnavailable as exc:
            return _back_off(row, error=_describe(exc))
        except ApiException as exc:
            return _refused(row, exc)
        if stop:
            return _finish(row, state=State.QUOTA, error=stop)
        try:
            result = _call_line(row, token)
        except LineUnavailable as exc:
            return _back_off(row, error=_describe(exc))
        except ApiException as exc:
            return _refused(row, exc)
    _count_use(row)
    return _finish(
        row,
        state=State.SENT,
        request_id=result.request_id or "",
        accepted_request_id=result.accepted_request_id or "",
        sent_count=len(row.recipients),
        sent_at=timezone.now(),
    )


def _refused(row: OutboxMessage, exc: ApiException) -> OutboxMessage:
    """LINE answered with an error: the quota, a back-off (429, 5xx) or a refusal (other 4xx,
    such as a revoked channel token)."""
    message = line.line_error_message(exc)
    if exc.status == HTTP_TOO_MANY_REQUESTS and MONTHLY_LIMIT_MESSAGE in message:
        return _finish(row, state=State.QUOTA, error=_quota_message(message))
    if exc.status == HTTP_TOO_MANY_REQUESTS or (exc.status or 0) >= HTTP_SERVER_ERROR:
        return _back_off(row, error=message)
    return _finish(row, state=State.FAILED, error=message)


def _call_line(row: OutboxMessage, token: str) -> line.SendResult:
    if row.kind == OutboxMessage.Kind.PUSH:
        return line.push_messages(
            channel_access_token=token,
            to=row.recipients[0],
            messages=row.messages,
            retry_key=str(row.retry_key),
        )
    return line.multicast_messages(
        channel_access_token=token,
        to=row.recipients,
        messages=row.messages,
        retry_key=str(row.retry_key),
    )


def _channel_token(shop_id: int) -> str | None:
    lookup = import_string(settings.LINE_CHANNEL_TOKEN_LOOKUP)
    return lookup(shop_id)


def _quota_key(shop_id: int) -> str:
    return f"outbox:quota:{shop_id}"


def _quota_stop(row: OutboxMessage, token: str) -> str | None:
    """Why this row must not go out this month, or None. LINE's quota is read at most once a
    minute per shop; sends in between are added to the cached use."""
    key = _quota_key(row.shop_id)
    quota = cache.get(key)
    if quota is None:
        quota = line.message_quota(channel_access_token=token)
        cache.set(key, quota, QUOTA_CACHE_SECONDS)
    if quota.remaining is None or quota.remaining >= len(row.recipients):
        return None
    return _(
        "LINE's monthly message quota is reached: %(used)s of %(limit)s messages used, this "
        "batch needs %(needed)s. Raise the plan in LINE Official Account Manager, then retry."
    ) % {"used": quota.used, "limit": quota.limit, "needed": len(row.recipients)}


def _quota_message(line_message: str) -> str:
    return _("LINE refused: monthly message quota reached (%(line)s)") % {"line": line_message}


def _count_use(row: OutboxMessage) -> None:
    key = _quota_key(row.shop_id)
    quota = cache.get(key)
    if quota is not None:
        used = quota.used + len(row.recipients)
        cache.set(key, line.MessageQuota(limit=quota.limit, used=used), QUOTA_CACHE_SECONDS)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        return line.line_error_message(exc)
    return _("LINE did not answer (%(error)s).") % {
        "error": getattr(exc, "line_error", "") or type(exc).__name__
    }


def _back_off(row: OutboxMessage, *, error: str) -> OutboxMessage:
    if row.attempts >= max_attempts():
        return _finish(row, state=State.FAILED, error=error)
    return _finish(
        row,
        state=State.PENDING,
        error=error,
        next_attempt_at=timezone.now() + backoff_delay(row.attempts),
    )


def _finish(row: OutboxMessage, *, state: str, **fields) -> OutboxMessage:
    """Record the outcome, only if the row is still this worker's claim (a worker that outlived
    its lease must not overwrite the attempt that took over)."""
    if state != State.PENDING:
        fields.setdefault("next_attempt_at", None)
    updated = OutboxMessage.objects.filter(
        Q(pk=row.pk, state=State.SENDING, attempts=row.attempts)
    ).update(state=state, **fields)
    if not updated:
        logger.warning("outbox %s: outcome %s dropped, the row was taken over", row.pk, state)
    for name, value in {"state": state, **fields}.items():
        setattr(row, name, value)
    return row
