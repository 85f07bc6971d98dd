"""The SMS sender: claims a shop's queued messages within its monthly budget, then sends them
through the configured gateway (``loyalty.sms``) with the shop's sender name.

Locks, and why: claiming takes the shop's ``SmsSettings`` row (``select_for_update``) and nothing
else, so two senders of one shop claim one after the other. Under that lock the sender adds up
what the month already spent (messages sent or being sent) and claims queued messages in order
while they fit; the first that does not fit and every queued message after it become *held*. The
claim commits before the gateway is called, so no lock is held across the network, and a message
being sent already counts against the budget: two senders at once never spend more than it, and
never claim one message twice. A held message is claimed again by a later run once the budget
allows (a new month, or a raised budget).

What the gateway answers, and what happens:
- accepted → ``sent``, with the gateway's message id;
- ``SmsUnavailable`` (network, timeout, 5xx) → queued again after a back-off, until
  ``SMS_MAX_ATTEMPTS`` tries, then ``failed``;
- ``SmsRefused`` (credentials, credit, the number) → ``failed`` at once, with the reason.

A message left ``sending`` past its lease (the worker died during the call) is marked failed, not
sent again: an SMS gateway has no retry key, and the message may have arrived.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from campaigns.sms.models import SmsMessage, SmsSettings
from campaigns.sms.selectors import credits_used, opted_out_phones, sender_name
from loyalty.outbox.sender import backoff_delay
from loyalty.sms import SmsError, SmsRefused, SmsUnavailable, sms_send

logger = logging.getLogger(__name__)

State = SmsMessage.State
CLAIM_BATCH = 20
DRAIN_SECONDS = 50


def max_attempts() -> int:
    return getattr(settings, "SMS_MAX_ATTEMPTS", 6)


def lease(count: int) -> dt.timedelta:
    """How long a claimed batch is left to its worker (each send may take the full timeout)."""
    return dt.timedelta(seconds=settings.SMS_HTTP_TIMEOUT * count + 60)


def _todo(shop_id: int, now: dt.datetime):
    return SmsMessage.objects.filter(shop_id=shop_id).filter(
        Q(state=State.QUEUED, next_attempt_at__lte=now) | Q(state=State.HELD)
    )


def sms_claim(*, shop_id: int, limit: int = CLAIM_BATCH) -> list[SmsMessage]:
    """Take up to ``limit`` of the shop's waiting messages (queued and due, or held) that its
    budget can pay for, for this worker; hold the ones it cannot; skip numbers that opted out
    since they were queued. See the module docstring for the locks."""
    now = timezone.now()
    with override(settings.LANGUAGE_CODE), transaction.atomic():
        row = SmsSettings.objects.select_for_update().filter(shop_id=shop_id).first()
        _todo(shop_id, now).filter(marketing=True, phone__in=opted_out_phones(shop_id)).update(
            state=State.SKIPPED,
            error=_("The number opted out of SMS from this shop."),
            next_attempt_at=None,
        )
        budget = row.monthly_budget if row is not None else 0
        used = credits_used(shop_id, now=now)
        remaining = budget - used
        candidates = list(_todo(shop_id, now).order_by("pk").values_list("pk", "credits")[:limit])
        claimed = []
        for pk, credits in candidates:
            if credits > remaining:
                break
            claimed.append(pk)
            remaining -= credits
        if len(claimed) < len(candidates):
            reason = _(
                "Over the shop's monthly SMS budget (%(used)s of %(budget)s credits used this "
                "month). It is sent when the budget allows: next month, or when it is raised."
            ) % {"used": used, "budget": budget}
            _todo(shop_id, now).exclude(pk__in=claimed).update(
                state=State.HELD, error=reason, next_attempt_at=None
            )
        SmsMessage.objects.filter(pk__in=claimed).update(
            state=State.SENDING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            next_attempt_at=now + lease(len(claimed)),
            error="",
        )
    return list(SmsMessage.objects.filter(pk__in=claimed, state=State.SENDING).order_by("pk"))


def sms_deliver(message: SmsMessage, *, sender: str = "") -> str:
    """Send one claimed message and record the outcome; its new state."""
    try:
        provider_id = sms_send(message.phone, message.text, sender=sender)
    except SmsUnavailable as exc:
        logger.warning("SMS %s: gateway unavailable: %s", message.pk, exc.detail)
        if message.attempts >= max_attempts():
            return _finish(message, State.FAILED, error=_describe(exc))
        return _finish(
            message,
            State.QUEUED,
            error=_describe(exc),
            next_attempt_at=timezone.now() + backoff_delay(message.attempts),
        )
    except (SmsRefused, SmsError) as exc:
        logger.error("SMS %s refused: %s", message.pk, exc.detail)
        return _finish(message, State.FAILED, error=_describe(exc))
    return _finish(
        message, State.SENT, provider_message_id=provider_id[:64], sent_at=timezone.now()
    )


def _describe(exc: SmsError) -> str:
    with override(settings.LANGUAGE_CODE):
        text = str(exc)
    return f"{text} ({exc.detail})" if exc.detail else text


def _finish(message: SmsMessage, state: str, **fields) -> str:
    fields.setdefault("next_attempt_at", None)
    SmsMessage.objects.filter(pk=message.pk, state=State.SENDING).update(state=state, **fields)
    return state


def sms_give_up_interrupted() -> int:
    """Messages whose worker died while sending them (lease over): failed, never sent again."""
    with override(settings.LANGUAGE_CODE):
        error = _("The sender stopped while sending this message; it may not have arrived.")
    return SmsMessage.objects.filter(
        state=State.SENDING, next_attempt_at__lt=timezone.now()
    ).update(state=State.FAILED, error=error, next_attempt_at=None)


def shops_with_work(shop_id: int | None = None) -> list[int]:
    rows = SmsMessage.objects.filter(
        Q(state=State.QUEUED, next_attempt_at__lte=timezone.now()) | Q(state=State.HELD)
    )
    if shop_id is not None:
        rows = rows.filter(shop_id=shop_id)
    return sorted(set(rows.values_list("shop_id", flat=True).distinct()))


def sms_drain(*, shop_id: int | None = None, seconds: float = DRAIN_SECONDS) -> int:
    """Send waiting messages (of one shop, or all), batch by batch, for up to ``seconds`` or
    until no shop can send more. Safe to run twice at once. Returns how many it tried."""
    sms_give_up_interrupted()
    deadline = time.monotonic() + seconds
    tried = 0
    while time.monotonic() < deadline:
        progressed = False
        for shop in shops_with_work(shop_id):
            batch = sms_claim(shop_id=shop)
            if not batch:
                continue
            progressed = True
            sender = sender_name(shop)
            for message in batch:
                sms_deliver(message, sender=sender)
                tried += 1
        if not progressed:
            break
    return tried
