"""A broadcast's SMS: the text version members LINE cannot reach get, with the same placeholders
as its text messages (``campaigns.broadcasts.messages``) and the code of the coupon it gave them.
``campaigns.broadcasts.reach`` calls these."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import override

from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from campaigns.sms.models import SmsMessage
from campaigns.sms.selectors import opted_out_members, shop_sms_available
from campaigns.sms.services import SmsDraft, sms_enqueue_many
from members.models import Member
from members.notifications.rendering import member_language, notice_values
from members.notifications.texts import render
from rewards.models import Coupon

OUTCOMES = {
    SmsMessage.State.SENT: "sent",
    SmsMessage.State.FAILED: "failed",
    SmsMessage.State.SKIPPED: "failed",
    SmsMessage.State.QUEUED: "queued",
    SmsMessage.State.SENDING: "queued",
    SmsMessage.State.HELD: "queued",
}


def broadcast_sms_routing(broadcast: Broadcast) -> tuple[bool, Q | None]:
    """Whether the broadcast goes by SMS too (it has an SMS text, and the shop can send SMS),
    and the filter of members whose phone opted out of the shop's SMS."""
    if not broadcast.sms_text.strip() or not shop_sms_available(broadcast.shop):
        return False, None
    return True, opted_out_members(broadcast.shop_id)


def broadcast_sms_text(broadcast: Broadcast, member: Member, coupon: Coupon | None = None) -> str:
    """The SMS ``member`` gets: the SMS text with its placeholders filled, and the coupon's code."""
    language = member_language(member)
    with override(language):
        try:
            body = render(broadcast.sms_text, notice_values(member, language, {}), "")
        except (ValueError, KeyError, IndexError, AttributeError):
            # A lone brace the draft's check let through: the text goes as it was written.
            body = broadcast.sms_text.strip()
        if coupon is not None:
            body += "\n" + _("Coupon %(reward)s: code %(code)s, valid until %(date)s") % {
                "reward": coupon.redemption.reward_name,
                "code": coupon.code,
                "date": coupon.expires_on.strftime("%d/%m/%Y"),
            }
    return body


def broadcast_sms_queue(
    broadcast: Broadcast, recipients: list[BroadcastRecipient], coupons: dict[int, Coupon]
) -> None:
    """Queue the SMS of a batch of recipients (inside the batch's transaction) and link each
    recipient to its message. ``coupons``: the coupon given to each recipient, by recipient id."""
    recipients = [r for r in recipients if r.phone]
    if not recipients:
        return
    members = Member.objects.select_related("shop", "tier").in_bulk(
        [r.member_id for r in recipients]
    )
    drafts = [
        SmsDraft(
            phone=r.phone,
            text=broadcast_sms_text(broadcast, members[r.member_id], coupons.get(r.pk)),
            member_id=r.member_id,
            dedupe_key=f"{broadcast.source}:{r.member_id}",
        )
        for r in recipients
    ]
    rows = sms_enqueue_many(shop=broadcast.shop, drafts=drafts, source=broadcast.source)
    for recipient, row in zip(recipients, rows, strict=True):
        recipient.sms_message = row
    BroadcastRecipient.objects.bulk_update(recipients, ["sms_message"])


def broadcast_sms_outcomes(broadcast: Broadcast) -> dict[int, str]:
    """Each SMS recipient's outcome: "sent", "failed" or "queued" (held back by the budget too)."""
    rows = BroadcastRecipient.objects.filter(
        broadcast=broadcast, sms_message__isnull=False
    ).values_list("pk", "sms_message__state")
    return {pk: OUTCOMES[state] for pk, state in rows}
