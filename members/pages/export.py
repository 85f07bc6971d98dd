"""A member's own data, for "download my data" (PDPA): JSON and xlsx.

``member_data`` gathers everything the shop holds about the member: the profile, and one list of
rows per *section* (answers, consent records, open points with their expiry dates, the full
ledger, purchases with their items; other apps add theirs, e.g. rewards' redemptions, coupons,
deliveries and saved addresses, with ``register_section`` in their ``AppConfig.ready()``).

Each section declares its columns with a translated label, and the models whose rows it exports
(``members.personal_data`` checks that every model holding a member's data is in one). The two
files differ in who reads them:

- the **xlsx** is for the person: sheet names, column headers and coded values (kinds, statuses,
  yes/no) in the language of the page that downloads it (Thai or English), phones in local form;
- the **JSON** is for moving the data to another service: stable English keys (the columns' keys)
  and the stored values (codes, E.164 phones, ISO dates), whatever the language.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty import xlsx
from loyalty.phones import format_phone_local
from members.ledger.models import Channel, EntryKind, LedgerEntry, PointLot, Purchase
from members.models import Gender, Member
from members.signup.models import ConsentRecord, SignupAnswer

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Column:
    """One column of a section: ``key`` in the JSON and in the rows ``collect`` returns; ``label``
    (translatable, lazy) heads the xlsx column; ``display`` turns a stored value into what the
    xlsx shows (e.g. a status code into its label)."""

    key: str
    label: Any
    display: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Section:
    name: str
    title: Any
    columns: tuple[Column, ...]
    collect: Callable[[Member], Rows]
    models: tuple[type[models.Model], ...]


def field_label(model: type[models.Model], name: str):
    """A model field's own (translated) name, to head a column."""
    return model._meta.get_field(name).verbose_name


def choice_label(choices: type[models.Choices]) -> Callable[[Any], Any]:
    """Show a stored code as its label (an unknown code as it is)."""

    def display(value):
        try:
            return choices(value).label
        except ValueError:
            return value

    return display


def yes_no(value: Any) -> Any:
    if value is None:
        return None
    return _("Yes") if value else _("No")


def phone_local(value: Any) -> Any:
    return format_phone_local(value) if value else value


_SECTIONS: dict[str, Section] = {}


def register_section(
    name: str,
    collect: Callable[[Member], Rows],
    *,
    title: Any,
    columns: Iterable[Column],
    models: Iterable[type[models.Model]],
) -> None:
    """Add a section to the download: ``collect(member)`` returns its rows (dicts keyed by the
    columns' keys), ``title`` names the xlsx sheet, ``models`` are the models whose rows it
    exports. Registering a name again replaces it."""
    columns = tuple(columns)
    if len({c.key for c in columns}) != len(columns):
        raise ValueError(f"section {name!r}: two columns with one key")
    _SECTIONS[name] = Section(name, title, columns, collect, tuple(models))


def sections() -> list[Section]:
    return list(_SECTIONS.values())


def exported_models() -> set[type[models.Model]]:
    """Every model whose rows "download my data" includes (the profile: Member)."""
    found: set[type[models.Model]] = {Member}
    for section in _SECTIONS.values():
        found.update(section.models)
    return found


# --- the profile ----------------------------------------------------------------------------------

PROFILE: tuple[Column, ...] = (
    Column("member_id", field_label(Member, "public_id")),
    Column("shop", field_label(Member, "shop")),
    Column("status", field_label(Member, "status"), choice_label(Member.Status)),
    Column("first_name", field_label(Member, "first_name")),
    Column("last_name", field_label(Member, "last_name")),
    Column("phone", field_label(Member, "phone"), phone_local),
    Column("birthday", field_label(Member, "birthday")),
    Column("gender", field_label(Member, "gender"), choice_label(Gender)),
    Column("email", field_label(Member, "email")),
    Column("line_user_id", field_label(Member, "line_user_id")),
    Column("line_display_name", field_label(Member, "line_display_name")),
    Column("customer_id", field_label(Member, "customer_id")),
    Column("tier", field_label(Member, "tier")),
    Column("sign_up_branch", field_label(Member, "signup_branch")),
    Column("registered_at", field_label(Member, "registered_at")),
    Column("created_at", gettext_lazy("member since")),
    Column("points_balance", field_label(Member, "balance")),
    Column("tags", field_label(Member, "tags")),
)


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


# --- the members app's own sections ---------------------------------------------------------------


def _answers(member: Member) -> Rows:
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


def _consents(member: Member) -> Rows:
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


def _points(member: Member) -> Rows:
    return [
        {
            "points_left": lot.remaining,
            "earned_on": lot.earned_on,
            "spendable_from": lot.available_on,
            "expires_on": lot.expires_on,
        }
        for lot in member.lots.filter(remaining__gt=0).order_by("expires_on", "id")
    ]


def _history(member: Member) -> Rows:
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


def _purchases(member: Member) -> Rows:
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


register_section(
    "answers",
    _answers,
    title=gettext_lazy("Sign-up answers"),
    columns=[
        Column("question", field_label(SignupAnswer, "question")),
        Column("answer", gettext_lazy("answer")),
        Column("answered_at", field_label(SignupAnswer, "answered_at")),
    ],
    models=[SignupAnswer],
)
register_section(
    "consents",
    _consents,
    title=gettext_lazy("Consent records"),
    columns=[
        Column("what", field_label(ConsentRecord, "kind"), choice_label(ConsentRecord.Kind)),
        Column("version", field_label(ConsentRecord, "version")),
        Column("given", field_label(ConsentRecord, "granted"), yes_no),
        Column("how", field_label(ConsentRecord, "method"), choice_label(ConsentRecord.Method)),
        Column("when", field_label(ConsentRecord, "recorded_at")),
    ],
    models=[ConsentRecord],
)
register_section(
    "open_points",
    _points,
    title=gettext_lazy("Points and expiry"),
    columns=[
        Column("points_left", field_label(PointLot, "remaining")),
        Column("earned_on", field_label(PointLot, "earned_on")),
        Column("spendable_from", field_label(PointLot, "available_on")),
        Column("expires_on", field_label(PointLot, "expires_on")),
    ],
    models=[PointLot],
)
register_section(
    "history",
    _history,
    title=gettext_lazy("Points history"),
    columns=[
        Column("entry_id", field_label(LedgerEntry, "public_id")),
        Column("time", field_label(LedgerEntry, "created_at")),
        Column("kind", field_label(LedgerEntry, "kind"), choice_label(EntryKind)),
        Column("points", field_label(LedgerEntry, "points")),
        Column("balance_after", field_label(LedgerEntry, "balance_after")),
        Column("branch", field_label(LedgerEntry, "branch")),
        Column("channel", field_label(LedgerEntry, "channel"), choice_label(Channel)),
        Column("note", field_label(LedgerEntry, "note")),
        Column("reference", field_label(LedgerEntry, "reference")),
    ],
    models=[LedgerEntry],
)
register_section(
    "purchases",
    _purchases,
    title=gettext_lazy("Purchases"),
    columns=[
        Column("purchase_id", gettext_lazy("purchase ID")),
        Column("time", field_label(Purchase, "created_at")),
        Column("amount_thb", field_label(Purchase, "amount")),
        Column("points", field_label(Purchase, "points")),
        Column("branch", field_label(Purchase, "branch")),
        Column("channel", field_label(Purchase, "channel"), choice_label(Channel)),
        Column("order_id", field_label(Purchase, "external_order_id")),
        Column("receipt_no", field_label(Purchase, "receipt_no")),
        Column("status", field_label(Purchase, "status"), choice_label(Purchase.Status)),
        Column("items", gettext_lazy("items")),
    ],
    models=[Purchase],
)


# --- the files ------------------------------------------------------------------------------------


def member_data(member: Member) -> dict[str, Any]:
    """Everything the shop holds about ``member``, as plain values (codes, not labels)."""
    member = (
        Member.objects.select_related("shop", "tier", "signup_branch")
        .prefetch_related("tags")
        .get(pk=member.pk)
    )
    data: dict[str, Any] = {"exported_at": timezone.now(), "profile": _profile(member)}
    for section in _SECTIONS.values():
        data[section.name] = section.collect(member)
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


def _shown(column: Column, value: Any) -> Any:
    if column.display is not None and value not in (None, ""):
        value = column.display(value)
    return _cell(value)


def _header(label: Any) -> str:
    return capfirst(str(label))


def member_data_xlsx(member: Member) -> bytes:
    """The same data as an Excel workbook for the person, in the active language: a profile sheet
    (label, value), then one sheet per section with a header row. ``loyalty.xlsx`` streams rows
    to the file (XlsxWriter, constant memory), so a long history does not build a sheet in memory."""
    data = member_data(member)
    profile = [
        [_header(column.label), _shown(column, data["profile"][column.key])] for column in PROFILE
    ]
    profile.append([_header(_("exported at")), _cell(data["exported_at"])])
    sheets = [xlsx.Sheet(_header(_("Profile")), profile)]
    for section in _SECTIONS.values():
        columns = section.columns
        rows = data[section.name]
        sheets.append(
            xlsx.Sheet(
                _header(section.title),
                [[_shown(c, row.get(c.key)) for c in columns] for row in rows],
                header=[_header(c.label) for c in columns],
            )
        )
    out = io.BytesIO()
    xlsx.write_xlsx(out, sheets)
    return out.getvalue()
