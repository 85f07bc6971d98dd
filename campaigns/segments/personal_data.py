"""Segments' share of a member's personal data (PDPA). A member's RFM scores are profiling, so
"download my data" shows them (the group the shop sorts them into, and why); erasing the account
deletes them (the nightly refresh leaves erased members out too). Registered in
``CampaignsConfig.ready()``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from campaigns.segments.models import MemberRfm
from campaigns.segments.rfm import RfmGroup
from members.models import Member
from members.pages.export import Column, choice_label, field_label, register_section
from members.personal_data import register_eraser


def _rfm(member: Member) -> list[dict]:
    return [
        {
            "group": row.group,
            "code": row.code,
            "last_purchase": row.last_purchase_at,
            "frequency": row.frequency,
            "monetary": row.monetary,
            "computed": row.computed_at,
        }
        for row in MemberRfm.objects.filter(member=member)
    ]


def _erase_rfm(member: Member) -> None:
    MemberRfm.objects.filter(member=member).delete()


def register() -> None:
    register_section(
        "rfm",
        _rfm,
        title=_("RFM group"),
        columns=[
            Column("group", field_label(MemberRfm, "group"), choice_label(RfmGroup)),
            Column("code", _("R-F-M scores")),
            Column("last_purchase", field_label(MemberRfm, "last_purchase_at")),
            Column("frequency", field_label(MemberRfm, "frequency")),
            Column("monetary", field_label(MemberRfm, "monetary")),
            Column("computed", field_label(MemberRfm, "computed_at")),
        ],
        models=[MemberRfm],
    )
    register_eraser(MemberRfm, _erase_rfm)
