"""The members and points-ledger exports (``loyalty.exports`` is the registry that offers them).

The members export's first columns have the import template's headers, so an export can be
imported again (into another shop, or after edits) and gives the same members and balances.
"""

from __future__ import annotations

import itertools
from collections import namedtuple
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loyalty.exports import CHUNK, Column, Export, local_phone, register
from loyalty.phones import format_phone_local
from members.imports.names import template_header

# --- members --------------------------------------------------------------------------------------

_GENDER_WORDS_TH = {"male": "ชาย", "female": "หญิง", "other": "อื่นๆ"}


def gender_word(code: str) -> str:
    """The gender as the template's drop-down writes it (Thai words in Thai, else English)."""
    if not code:
        return ""
    if (get_language() or "th").startswith("th"):
        return _GENDER_WORDS_TH.get(code, code)
    return code


def _member_columns() -> list[Column]:
    """The columns of the members export, over ``MemberRow`` (see ``_member_rows``). What does
    not change from row to row (the language, the status labels) is looked up once."""
    from members.models import Member

    statuses = {value: str(label) for value, label in Member.Status.choices}
    thai = (get_language() or "th").startswith("th")
    genders = _GENDER_WORDS_TH if thai else {}
    return [
        Column(template_header("phone"), lambda m: local_phone(m.phone), 16),
        Column(template_header("first_name"), lambda m: m.first_name, 18),
        Column(template_header("last_name"), lambda m: m.last_name, 18),
        Column(template_header("points"), lambda m: m.balance, 10),
        Column(template_header("gender"), lambda m: genders.get(m.gender, m.gender), 10),
        Column(template_header("birthday"), lambda m: m.birthday, 12),
        Column(template_header("email"), lambda m: m.email, 24),
        Column(template_header("tags"), lambda m: m.tags, 18),
        Column(template_header("tier"), lambda m: m.tier or "", 12),
        Column(template_header("customer_id"), lambda m: m.customer_id or "", 14),
        Column(template_header("line_user_id"), lambda m: m.line_user_id or "", 36),
        Column(template_header("note"), lambda m: m.note, 24),
        # Informational columns (the import ignores them).
        Column(_("status"), lambda m: statuses.get(m.status, m.status), 14),
        Column(_("LINE name"), lambda m: m.line_display_name, 16),
        Column(_("sign-up branch"), lambda m: m.signup_branch or "", 12),
        Column(_("registered"), lambda m: m.registered_at, 16),
        Column(_("joined"), lambda m: m.created_at, 16),
        Column(_("points debt"), lambda m: m.debt, 10),
        Column(_("system ID"), lambda m: str(m.public_id), 38),
    ]


# A member as the export reads it: its own columns, its tier's name, its sign-up branch's code
# (field → what ``values_list`` reads), and its tags' names, sorted and comma-separated.
_MEMBER_VALUES = {
    "id": "id",
    "phone": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "balance": "balance",
    "gender": "gender",
    "birthday": "birthday",
    "email": "email",
    "tier": "tier__name",
    "customer_id": "customer_id",
    "line_user_id": "line_user_id",
    "note": "note",
    "status": "status",
    "line_display_name": "line_display_name",
    "signup_branch": "signup_branch__code",
    "registered_at": "registered_at",
    "created_at": "created_at",
    "debt": "debt",
    "public_id": "public_id",
}
MemberRow = namedtuple("MemberRow", [*_MEMBER_VALUES, "tags"])


def _member_rows(queryset: QuerySet) -> Iterator[MemberRow]:
    """The members of ``queryset`` (in its order) as plain rows, ``CHUNK`` at a time, with one
    query for the tags of each chunk: no model instance per member, tier, branch or tag."""
    from members.models import Member

    through = Member.tags.through
    rows = queryset.values_list(*_MEMBER_VALUES.values()).iterator(chunk_size=CHUNK)
    while chunk := list(itertools.islice(rows, CHUNK)):
        tags: dict[int, list[str]] = {}
        for member_id, name in (
            through.objects.filter(member_id__in=[row[0] for row in chunk])
            .order_by("tag__name", "tag_id")
            .values_list("member_id", "tag__name")
        ):
            tags.setdefault(member_id, []).append(name)
        for row in chunk:
            yield MemberRow(*row, ", ".join(tags.get(row[0], ())))


MEMBERS = register(
    Export(
        key="members",
        title=_("Members"),
        filename="members",
        columns=_member_columns,
        fetch=_member_rows,
    )
)


# --- points ledger --------------------------------------------------------------------------------


def _entry_by(entry) -> str:
    if entry.created_by_id:
        return entry.created_by.get_username()
    if entry.api_key_id:
        return str(entry.api_key)
    return str(entry.get_actor_kind_display())


def _ledger_columns() -> list[Column]:
    return [
        Column(_("time"), lambda e: e.created_at, 16),
        Column(_("phone"), lambda e: format_phone_local(e.member.phone), 14),
        Column(_("member"), lambda e: e.member.display_name, 20),
        Column(_("kind"), lambda e: e.get_kind_display(), 18),
        Column(_("points"), lambda e: e.points, 10),
        Column(_("balance after"), lambda e: e.balance_after, 10),
        Column(_("channel"), lambda e: e.get_channel_display(), 12),
        Column(_("branch"), lambda e: e.branch.code if e.branch_id else "", 10),
        Column(_("by"), _entry_by, 14),
        Column(_("note"), lambda e: e.note, 30),
        Column(_("reference"), lambda e: e.reference, 20),
        Column(_("entry ID"), lambda e: str(e.public_id), 38),
    ]


LEDGER = register(
    Export(
        key="ledger",
        title=_("Points ledger"),
        filename="points-ledger",
        columns=_ledger_columns,
        prepare=lambda qs: qs.select_related("member", "branch", "created_by", "api_key"),
    )
)
