"""Broadcasts' share of a member's personal data (PDPA): "download my data" lists the broadcasts
the member was sent (or held out of), with the channel and what became of it; erasing the account
blanks the LINE user ID and phone copied onto those rows (the counts of the results stay)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from campaigns.broadcasts.models import BroadcastRecipient
from members.models import Member
from members.pages.export import Column, choice_label, field_label, register_section
from members.personal_data import register_eraser


def _received(member: Member) -> list[dict]:
    return [
        {
            "broadcast": row.broadcast.name,
            "sent": row.broadcast.started_at,
            "channel": row.channel,
            "state": row.state,
            "reason": row.reason,
        }
        for row in BroadcastRecipient.objects.filter(member=member)
        .select_related("broadcast")
        .order_by("-broadcast__started_at")
    ]


def _erase(member: Member) -> None:
    BroadcastRecipient.objects.filter(member=member).update(line_user_id="", phone="")


def register() -> None:
    register_section(
        "broadcasts",
        _received,
        title=_("Broadcasts"),
        columns=[
            Column("broadcast", _("Broadcast")),
            Column("sent", _("Sent")),
            Column(
                "channel",
                field_label(BroadcastRecipient, "channel"),
                choice_label(BroadcastRecipient.Channel),
            ),
            Column(
                "state",
                field_label(BroadcastRecipient, "state"),
                choice_label(BroadcastRecipient.State),
            ),
            Column(
                "reason",
                field_label(BroadcastRecipient, "reason"),
                choice_label(BroadcastRecipient.Reason),
            ),
        ],
        models=[BroadcastRecipient],
    )
    register_eraser(BroadcastRecipient, _erase)
