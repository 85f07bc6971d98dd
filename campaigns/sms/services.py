"""Writes of SMS: the shop's settings, opt-outs, and queueing messages (the sending job is in
``sender``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from campaigns.sms.links import opt_out_url
from campaigns.sms.models import SmsMessage, SmsOptOut, SmsSettings
from campaigns.sms.selectors import opted_out_phones
from loyalty.errors import InvalidInput
from loyalty.phones import normalise_phone
from loyalty.sms.parts import sms_parts
from shops.models import Shop

State = SmsMessage.State
SEND_TASK = "campaigns.sms.tasks.sms_send_queued"
# A marketing SMS longer than this is cut (with "…") before its opt-out link: about 9 Thai parts.
MAX_BODY_CHARS = 600


def sms_settings_save(*, shop: Shop, sender_name: str, monthly_budget: int) -> SmsSettings:
    """Set the shop's sender name and monthly budget (one row per shop, written under its lock).
    Raising the budget releases held messages: the sender is started after the commit."""
    with transaction.atomic():
        row, _created = SmsSettings.objects.select_for_update().get_or_create(shop=shop)
        row.sender_name = (sender_name or "").strip()
        row.monthly_budget = monthly_budget
        try:
            row.full_clean(exclude=["shop"])
        except ValidationError as exc:
            raise InvalidInput(" ".join(exc.messages), field=next(iter(exc.message_dict))) from exc
        row.save()
        transaction.on_commit(lambda: sms_kick(shop_id=shop.pk))
    return row


def sms_opt_out(*, shop: Shop, phone: str, how: str, user=None) -> SmsOptOut:
    """Record that ``phone`` wants no more marketing SMS from ``shop``. Idempotent: a number
    already opted out keeps its first record. Marketing messages still waiting for it are not
    sent (``skipped``)."""
    try:
        phone = normalise_phone(phone)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="phone") from exc
    if how not in SmsOptOut.How.values:
        raise InvalidInput(_("Unknown way of opting out."), field="how")
    with transaction.atomic():
        row = SmsOptOut.objects.filter(shop=shop, phone=phone).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = SmsOptOut.objects.create(shop=shop, phone=phone, how=how, created_by=user)
            except IntegrityError:
                # The same person tapped twice at once: the first record stands.
                row = SmsOptOut.objects.get(shop=shop, phone=phone)
        SmsMessage.objects.filter(
            shop=shop, phone=phone, marketing=True, state__in=(State.QUEUED, State.HELD)
        ).update(state=State.SKIPPED, error=_opted_out_error(shop), next_attempt_at=None)
    return row


def _opted_out_error(shop: Shop) -> str:
    with override(settings.LANGUAGE_CODE):
        return _("The number opted out of SMS from this shop.")


@dataclass(frozen=True)
class SmsDraft:
    """One SMS to queue: the number (E.164), the text, the member it is for, and a key that
    makes queueing it again a no-op (e.g. ``broadcast:<uuid>:sms:<member id>``)."""

    phone: str
    text: str
    member_id: int | None = None
    dedupe_key: str = ""


def sms_enqueue(
    *,
    shop: Shop,
    phone: str,
    text: str,
    source: str,
    member_id: int | None = None,
    dedupe_key: str = "",
    marketing: bool = True,
) -> SmsMessage:
    """Queue one SMS; see ``sms_enqueue_many``."""
    draft = SmsDraft(phone=phone, text=text, member_id=member_id, dedupe_key=dedupe_key)
    return sms_enqueue_many(shop=shop, drafts=[draft], source=source, marketing=marketing)[0]


def sms_enqueue_many(
    *, shop: Shop, drafts: Sequence[SmsDraft], source: str, marketing: bool = True
) -> list[SmsMessage]:
    """Queue SMS inside the caller's transaction: the rows commit with it and the sender starts
    after the commit (never while the caller holds its locks). Returns the rows, in the order of
    ``drafts``.

    A marketing SMS ends with the shop's opt-out link, and one to a number that opted out is
    written as not sent (``skipped``). A draft whose ``dedupe_key`` the shop already queued is
    not queued again: the first row is returned (a resumed broadcast never sends twice).
    """
    if not drafts:
        return []
    opted_out = set()
    if marketing:
        opted_out = set(
            opted_out_phones(shop.pk)
            .filter(phone__in=[d.phone for d in drafts])
            .values_list("phone", flat=True)
        )
    rows = []
    for draft in drafts:
        if not draft.phone.startswith("+") or not draft.phone[1:].isdigit():
            raise InvalidInput(_("This is not a phone number: %(phone)s") % {"phone": draft.phone})
        text = _with_opt_out(shop, draft.phone, draft.text) if marketing else draft.text.strip()
        skipped = draft.phone in opted_out
        rows.append(
            SmsMessage(
                shop=shop,
                member_id=draft.member_id,
                phone=draft.phone,
                text=text,
                credits=sms_parts(text),
                marketing=marketing,
                source=source[:80],
                dedupe_key=draft.dedupe_key[:120],
                state=State.SKIPPED if skipped else State.QUEUED,
                error=_opted_out_error(shop) if skipped else "",
                next_attempt_at=None if skipped else timezone.now(),
            )
        )
    keyed = [r for r in rows if r.dedupe_key]
    plain = [r for r in rows if not r.dedupe_key]
    with transaction.atomic():
        created = SmsMessage.objects.bulk_create(plain)
        if keyed:
            # Rows another run already queued are left alone; the stored ones are read back.
            SmsMessage.objects.bulk_create(keyed, ignore_conflicts=True)
            stored = {
                m.dedupe_key: m
                for m in SmsMessage.objects.filter(
                    shop=shop, dedupe_key__in=[r.dedupe_key for r in keyed]
                )
            }
    if any(r.state == State.QUEUED for r in rows):
        transaction.on_commit(lambda: sms_kick(shop_id=shop.pk))
    plain_rows = iter(created)
    return [stored[r.dedupe_key] if r.dedupe_key else next(plain_rows) for r in rows]


def _with_opt_out(shop: Shop, phone: str, text: str) -> str:
    body = text.strip()
    if len(body) > MAX_BODY_CHARS:
        body = body[: MAX_BODY_CHARS - 1].rstrip() + "…"
    language = "en" if shop.language == "en" else "th"
    with override(language):
        line = _("Stop SMS: %(url)s") % {"url": opt_out_url(shop.pk, phone)}
    return f"{body}\n{line}"


def sms_kick(*, shop_id: int | None = None) -> None:
    """Start the sending job now (it also runs every minute)."""
    from django_q.tasks import async_task

    async_task(SEND_TASK, shop_id, sync=bool(settings.Q_CLUSTER.get("sync", False)))
