"""Tracked links' share of a member's personal data (PDPA): "download my data" lists the links the
member tapped and when; erasing the account keeps the clicks, which hold nothing but the member's
id, the link and the time, so that a broadcast's click counts stay."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from campaigns.links.models import LinkClick
from campaigns.links.selectors import member_clicks
from members.models import Member
from members.pages.export import Column, field_label, register_section
from members.personal_data import keep_on_erasure


def _tapped(member: Member) -> list[dict]:
    return [
        {"link": click.link.target, "tapped": click.clicked_at} for click in member_clicks(member)
    ]


def register() -> None:
    register_section(
        "links",
        _tapped,
        title=_("Links tapped"),
        columns=[
            Column("link", field_label(LinkClick, "link")),
            Column("tapped", field_label(LinkClick, "clicked_at")),
        ],
        models=[LinkClick],
    )
    keep_on_erasure(
        LinkClick,
        reason="holds only the member id, the link and when it was first tapped (click counts)",
    )
