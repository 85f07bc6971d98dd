"""SMS's share of a member's personal data (PDPA): "download my data" lists the SMS the shop sent
them, and whether their number opted out; erasing the account blanks the number and text of
their messages (a message still waiting is not sent). The opt-out itself is kept: it is the
person's wish not to be sent SMS, and forgetting it would start sending again."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from campaigns.sms.models import SmsMessage, SmsOptOut
from members.models import Member
from members.pages.export import Column, choice_label, field_label, register_section
from members.personal_data import register_eraser

WAITING = (SmsMessage.State.QUEUED, SmsMessage.State.HELD)


def _messages(member: Member) -> list[dict]:
    return [
        {"created": row.created_at, "phone": row.phone, "text": row.text, "state": row.state}
        for row in SmsMessage.objects.filter(member=member).order_by("-created_at", "-pk")
    ]


def _opt_outs(member: Member) -> list[dict]:
    if not member.phone:
        return []
    return [
        {"phone": row.phone, "when": row.created_at, "how": row.how}
        for row in SmsOptOut.objects.filter(shop_id=member.shop_id, phone=member.phone)
    ]


def _erase(member: Member) -> None:
    rows = SmsMessage.objects.filter(member=member)
    with override(settings.LANGUAGE_CODE):
        error = _("Not sent: the member's account was erased.")
    rows.filter(state__in=WAITING).update(
        state=SmsMessage.State.SKIPPED, error=error, next_attempt_at=None
    )
    rows.update(phone="", text="")


def register() -> None:
    register_section(
        "sms",
        _messages,
        title=gettext_lazy("SMS"),
        columns=[
            Column("created", field_label(SmsMessage, "created_at")),
            Column("phone", field_label(SmsMessage, "phone")),
            Column("text", field_label(SmsMessage, "text")),
            Column("state", field_label(SmsMessage, "state"), choice_label(SmsMessage.State)),
        ],
        models=[SmsMessage],
    )
    register_section(
        "sms_opt_outs",
        _opt_outs,
        title=gettext_lazy("SMS opt-outs"),
        columns=[
            Column("phone", field_label(SmsOptOut, "phone")),
            Column("when", field_label(SmsOptOut, "created_at")),
            Column("how", field_label(SmsOptOut, "how"), choice_label(SmsOptOut.How)),
        ],
        # Found by the member's phone: an opt-out belongs to a number, not to a member row.
        models=[Member],
    )
    register_eraser(SmsMessage, _erase)
