"""Writes of notices: ``notify`` (called by each cause inside its own transaction), the shop's
settings (``notification_setting_save``) and the daily job for points expiring soon.

A notice is a LINE text message, queued on the outbox (``loyalty.outbox``) in the transaction
that causes it, so it is sent after that commits and never when it rolls back. Its dedupe key is
the cause (``notify:<kind>:<cause>``): the same cause never queues it twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.services import outbox_enqueue
from members.models import Member
from members.notifications.models import ESSENTIAL_KINDS, NoticeKind, NotificationSetting
from members.notifications.rendering import member_language, notice_text
from members.notifications.selectors import (
    expiring_for_notice,
    forget_shop_notices,
    line_user_blocked,
    shop_notices,
)
from members.notifications.texts import check_text, default_text
from shops.models import Shop


def notify(
    member: Member, kind: str, context: Mapping | None = None, *, cause_key: str
) -> list[OutboxMessage] | None:
    """Queue the ``kind`` notice for ``member`` on the outbox, inside the caller's transaction.

    Nothing at all (not even a query) when the member has no LINE account or the shop turned the
    kind off (the shop's settings are cached). No row for a member who turned notices off, unless
    the kind is essential (a confirmation of what they did). A member who blocked the shop's OA is
    a skipped recipient (counted, never sent). ``cause_key`` names the cause (a ledger entry, a
    redemption): the same cause queues the notice once. ``context`` fills the kind's placeholders
    (``points``, ``reward`` …) and may give the ``link``.
    """
    if not member.line_user_id:
        return None
    notice = shop_notices(member.shop)[kind]
    if not notice.enabled:
        return None
    if member.notices_opt_out and kind not in ESSENTIAL_KINDS:
        return None
    blocked = line_user_blocked(shop_id=member.shop_id, line_user_id=member.line_user_id)
    text = notice_text(member, kind, notice.text(member_language(member)), context or {})
    return outbox_enqueue(
        shop_id=member.shop_id,
        to=[None if blocked else member.line_user_id],
        messages=[{"type": "text", "text": text}],
        source=f"notify:{kind}",
        dedupe_key=f"notify:{kind}:{cause_key}",
    )


def member_notices_set(*, member: Member, wanted: bool) -> bool:
    """The member's own choice of LINE news (non-essential notices: new tier, points expiring,
    welcome); confirmations (points earned, rewards, deliveries) are sent either way. Returns
    whether it changed."""
    changed = Member.objects.filter(pk=member.pk, notices_opt_out=wanted).update(
        notices_opt_out=not wanted, updated_at=timezone.now()
    )
    member.notices_opt_out = not wanted
    return bool(changed)


@transaction.atomic
def notification_setting_save(
    *,
    shop: Shop,
    kind: str,
    enabled: bool,
    text_th: str,
    text_en: str,
    days_before: int = 7,
) -> NotificationSetting:
    """Save a shop's setting for one kind. Each text is checked (``texts.check_text``: known
    placeholders, matched braces); a text equal to the default is stored empty, so the shop keeps
    getting the product's text (and its improvements) until it writes its own. Drops the shop's
    cached settings."""
    text_th, text_en = text_th.strip(), text_en.strip()
    check_text(kind, text_th)
    check_text(kind, text_en)
    setting, _created = NotificationSetting.objects.update_or_create(
        shop=shop,
        kind=kind,
        defaults={
            "enabled": enabled,
            "text_th": "" if text_th == default_text(kind, "th") else text_th,
            "text_en": "" if text_en == default_text(kind, "en") else text_en,
            "days_before": days_before,
        },
    )
    # Now for this process, and again after the commit in case a reader cached the old row.
    forget_shop_notices(shop)
    transaction.on_commit(lambda: forget_shop_notices(shop))
    return setting


def notification_settings_ensure(*, shop: Shop) -> None:
    """A row per kind for ``shop`` (defaults: on, the product's texts), so the back office lists
    every kind; safe to run twice."""
    NotificationSetting.objects.bulk_create(
        [NotificationSetting(shop=shop, kind=kind) for kind in NoticeKind.values],
        ignore_conflicts=True,
    )


def expiring_notices_send(*, today: dt.date | None = None) -> dict:
    """The daily job: each registered member with a LINE account gets one notice per expiry date
    that falls within the shop's "days before" (N) from tomorrow on, N days ahead at the latest.
    A day the job missed is caught up the next run; a date already notified is not sent again
    (the dedupe key is member + date), so running it twice or late sends nothing twice."""
    today = today or timezone.localdate()
    sent = skipped = 0
    for shop in Shop.objects.all().only("pk", "public_id", "slug", "name", "language"):
        notice = shop_notices(shop)[NoticeKind.EXPIRING]
        if not notice.enabled:
            continue
        rows = expiring_for_notice(
            shop=shop,
            first=today + dt.timedelta(days=1),
            last=today + dt.timedelta(days=notice.days_before),
        )
        keys = {_expiring_key(r.member, r.expires_on) for r in rows}
        done = set(
            OutboxMessage.objects.filter(shop=shop, dedupe_key__in=keys).values_list(
                "dedupe_key", flat=True
            )
        )
        for row in rows:
            key = _expiring_key(row.member, row.expires_on)
            if key in done:
                continue
            member = row.member
            text = notice_text(
                member,
                NoticeKind.EXPIRING,
                notice.text(member_language(member)),
                {"expiring_points": row.points, "expiry_date": row.expires_on},
            )
            # Each its own transaction (the outbox's): nothing else is written with it.
            outbox_enqueue(
                shop_id=shop.pk,
                to=[None if row.blocked else member.line_user_id],
                messages=[{"type": "text", "text": text}],
                source=f"notify:{NoticeKind.EXPIRING}",
                dedupe_key=key,
            )
            skipped += row.blocked
            sent += not row.blocked
    return {"queued": sent, "skipped": skipped}


def _expiring_key(member: Member, expires_on: dt.date) -> str:
    return f"notify:{NoticeKind.EXPIRING}:{member.pk}:{expires_on.isoformat()}"
