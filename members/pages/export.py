"""A member's own data, for "download my data" (PDPA): JSON and xlsx.

``member_data`` gathers everything the shop holds about the member (profile, tags, answers,
consent records, points with their expiry dates, the full ledger, purchases with their items).
Other apps add their own sections (coupons, deliveries) with ``register_section``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from openpyxl import Workbook

from loyalty import xlsx
from members.ledger.models import LedgerEntry, Purchase
from members.models import Member
from members.signup.models import ConsentRecord, SignupAnswer

# name → function(member) returning a list of flat dicts (one xlsx sheet, one JSON list).
_SECTIONS: dict[str, Callable[[Member], list[dict[str, Any]]]] = {}


def register_section(name: str, collect: Callable[[Member], list[dict[str, Any]]]) -> None:
    """Let another app add its rows of the member's data to the download."""
    _SECTIONS[name] = collect


def _profile(member: Member) -> dict[str, Any]:
    return {
        "member_id": member.public_id,
        "shop": member.shop.name,
        "status": member.status,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "phone": member.phone,
        "birthday": member.birthday,
        "gender": member.gender,
        "email": member.email,
        "line_user_id": member.line_user_id,
        "line_display_name": member.line_display_name,
        "customer_id": member.customer_id,
        "tier": member.tier.name if member.tier_id else None,
        "sign_up_branch": member.signup_branch.name if member.signup_branch_id else None,
        "registered_at": member.registered_at,
        "created_at": member.created_at,
        "points_balance": member.balance,
        "tags": [t.name for t in member.tags.all()],
    }


def _answers(member: Member) -> list[dict[str, Any]]:
    rows = []
    for answer in (
        SignupAnswer.objects.filter(member=member)
        .select_related("question")
        .prefetch_related("choices")
        .order_by("question__order", "question_id")
    ):
        rows.append(
            {
                "question": answer.question.label,
                "answer": answer.display_value(list(answer.choices.all())),
                "answered_at": answer.answered_at,
            }
        )
    return rows


def _consents(member: Member) -> list[dict[str, Any]]:
    return [
        {
            "what": record.kind,
            "version": record.version,
            "given": record.granted,
            "how": record.method,
            "when": record.recorded_at,
        }
        for record in ConsentRecord.objects.filter(member=member).order_by("recorded_at", "id")
    ]


def _points(member: Member) -> list[dict[str, Any]]:
    return [
        {
            "points_left": lot.remaining,
            "earned_on": lot.earned_on,
            "spendable_from": lot.available_on,
            "expires_on": lot.expires_on,
        }
        for lot in member.lots.filter(remaining__gt=0).order_by("expires_on", "id")
    ]


def _history(member: Member) -> list[dict[str, Any]]:
    return [
        {
            "entry_id": e.public_id,
            "time": e.created_at,
            "kind": e.kind,
            "points": e.points,
            "balance_after": e.balance_after,
            "branch": e.branch.name if e.branch_id else None,
            "channel": e.channel,
            "note": e.note,
            "reference": e.reference,
        }
        for e in LedgerEntry.objects.filter(member=member)
        .select_related("branch")
        .order_by("created_at", "id")
        .iterator(chunk_size=2000)
    ]


def _purchases(member: Member) -> list[dict[str, Any]]:
    rows = []
    for purchase in (
        Purchase.objects.filter(member=member)
        .select_related("branch")
        .prefetch_related("items")
        .order_by("created_at", "id")
    ):
        rows.append(
            {
                "purchase_id": purchase.public_id,
                "time": purchase.created_at,
                "amount_thb": purchase.amount,
                "points": purchase.points,
                "branch": purchase.branch.name if purchase.branch_id else None,
                "channel": purchase.channel,
                "order_id": purchase.external_order_id,
                "receipt_no": purchase.receipt_no,
                "status": purchase.status,
                "items": "; ".join(
                    f"{i.quantity.normalize():f} × {i.name} @ {i.price}"
                    for i in purchase.items.all()
                ),
            }
        )
    return rows


def member_data(member: Member) -> dict[str, Any]:
    """Everything the shop holds about ``member``, as plain values."""
    member = (
        Member.objects.select_related("shop", "tier", "signup_branch")
        .prefetch_related("tags")
        .get(pk=member.pk)
    )
    data: dict[str, Any] = {
        "exported_at": timezone.now(),
        "profile": _profile(member),
        "answers": _answers(member),
        "consents": _consents(member),
        "open_points": _points(member),
        "history": _history(member),
        "purchases": _purchases(member),
    }
    for name, collect in _SECTIONS.items():
        data[name] = collect(member)
    return data


def member_data_json(member: Member) -> bytes:
    return json.dumps(
        member_data(member), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2
    ).encode("utf-8")


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, Decimal | int | float | str | bool | dt.date) or value is None:
        return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _row(sheet, values) -> list:
    # Formula-safe cells without the characters an xlsx cannot hold (``loyalty.xlsx``).
    return [xlsx.safe_cell(sheet, _cell(value)) for value in values]


def member_data_xlsx(member: Member) -> bytes:
    """The same data as an Excel workbook (openpyxl write-only mode: rows stream to the file,
    so a long history does not build a sheet in memory): one sheet per section."""
    data = member_data(member)
    workbook = Workbook(write_only=True)
    profile = workbook.create_sheet("profile")
    for key, value in data["profile"].items():
        profile.append(_row(profile, [key, value]))
    profile.append(_row(profile, ["exported_at", data["exported_at"]]))
    for name, rows in data.items():
        if name in ("profile", "exported_at") or not isinstance(rows, list):
            continue
        sheet = workbook.create_sheet(name[:31])
        if not rows:
            sheet.append(["—"])
            continue
        columns = list(rows[0])
        sheet.append(_row(sheet, columns))
        for row in rows:
            sheet.append(_row(sheet, [row.get(c) for c in columns]))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
