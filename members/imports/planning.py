"""From a sheet row to a plan: new member, update, unchanged, or error.

``parse_row`` reads one row (pure). ``Planner`` checks what needs the whole file (the same phone or
Customer ID twice) and the shop (tags, tiers), then, a chunk at a time, what needs the database:
does the phone belong to a member already, is the Customer ID someone else's, were this file's
points for this phone already imported. Validation (the preview) and the commit use the same
planner, so the preview shows what the commit will do; the commit plans again under the locks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from loyalty.idempotency import fingerprint
from members.imports import cells
from members.imports.cells import CellError
from members.imports.headers import ColumnMap
from members.ledger.models import EntryKind, LedgerEntry
from members.ledger.rules import points_cap
from members.models import Member
from shops.models import Shop, Tag, Tier

NEW, UPDATE, UNCHANGED, ERROR = "new", "update", "unchanged", "error"
# Profile fields an import can set, in the order of the template.
PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "gender",
    "birthday",
    "email",
    "tags",
    "tier",
    "customer_id",
    "line_user_id",
    "note",
)
_MEMBER_VALUES = (
    "id",
    "phone",
    "status",
    "first_name",
    "last_name",
    "gender",
    "birthday",
    "email",
    "customer_id",
    "line_user_id",
    "tier_id",
    "note",
)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    value: str
    code: str
    params: dict = field(default_factory=dict)


@dataclass
class ParsedRow:
    row: int
    phone: str | None = None
    first_name: str = ""
    last_name: str = ""
    points: int = 0
    gender: str = ""
    birthday: dt.date | None = None
    email: str = ""
    tags: list[str] = field(default_factory=list)
    tier: str = ""
    customer_id: str | None = None
    line_user_id: str | None = None
    note: str = ""
    present: set[str] = field(default_factory=set)
    errors: list[RowError] = field(default_factory=list)

    def error(self, column: str, value: object, code: str, **params) -> None:
        self.errors.append(RowError(self.row, column, cells.clean_text(value)[:200], code, params))


@dataclass
class RowPlan:
    parsed: ParsedRow
    action: str
    member_id: int | None = None
    changes: dict = field(default_factory=dict)
    current: dict = field(default_factory=dict)
    tag_ids: list[int] = field(default_factory=list)
    credit: int = 0

    @property
    def errors(self) -> list[RowError]:
        return self.parsed.errors


def _cell(values: tuple, columns: ColumnMap, key: str) -> object:
    index = columns.index.get(key)
    if index is None or index >= len(values):
        return None
    return values[index]


def is_blank_row(values: tuple) -> bool:
    return all(cells.is_blank(v) for v in values or ())


def parse_row(values: tuple, columns: ColumnMap, *, row: int, today: dt.date) -> ParsedRow:
    """One data row → its cleaned values and the problems of each cell (no database)."""
    parsed = ParsedRow(row=row)

    def read(key: str, parse, *, field_name: str | None = None):
        raw = _cell(values, columns, key)
        try:
            value = parse(raw)
        except CellError as exc:
            parsed.error(key, raw, exc.code, **exc.params)
            return None
        if not cells.is_blank(raw):
            parsed.present.add(field_name or key)
        return value

    parsed.phone = read("phone", cells.parse_phone)
    # Names: first and last name columns, or a full name split at the first space.
    full_key = "full_name" if "full_name" in columns.index else None
    if columns.names_in_first_name:
        full_key = "first_name"
    first = read("first_name", cells.parse_name) if not columns.names_in_first_name else None
    last = read("last_name", cells.parse_name)
    if full_key and cells.is_blank(first) and cells.is_blank(last):
        raw = _cell(values, columns, full_key)
        try:
            first, last = cells.split_full_name(raw)
        except CellError as exc:
            parsed.error(full_key, raw, exc.code, **exc.params)
            first, last = "", ""
        if first:
            parsed.present.add("first_name")
        if last:
            parsed.present.add("last_name")
    parsed.first_name, parsed.last_name = first or "", last or ""
    parsed.points = read("points", cells.parse_points) or 0
    parsed.gender = read("gender", cells.parse_gender) or ""
    parsed.birthday = read("birthday", lambda v: cells.parse_birthday(v, today=today))
    parsed.email = read("email", cells.parse_email) or ""
    parsed.tags = read("tags", cells.parse_list) or []
    parsed.tier = read("tier", lambda v: cells.parse_text(v, max_length=100)) or ""
    parsed.customer_id = read("customer_id", cells.parse_customer_id)
    parsed.line_user_id = read("line_user_id", cells.parse_line_user_id)
    parsed.note = read("note", cells.parse_note) or ""
    return parsed


class Planner:
    """Plans rows of one file for one shop and policy (``ImportJob.Policy`` values)."""

    def __init__(self, *, shop: Shop, policy: str, key_prefix: str) -> None:
        self.shop = shop
        self.policy = policy
        self.key_prefix = key_prefix
        self.tiers = {t.name.casefold(): t for t in Tier.objects.filter(shop=shop)}
        self.tags = {t.name.casefold(): t for t in Tag.objects.filter(shop=shop)}
        self.seen_phones: dict[str, int] = {}
        self.seen_customer_ids: dict[str, int] = {}
        self.seen_line_user_ids: dict[str, int] = {}
        self.points_cap = points_cap(shop.max_points_per_entry)
        self.now = timezone.now()  # when the rows that bind a LINE id are bound

    # --- checks needing the whole file and the shop's settings (no per-row query) --------------

    def check_in_file(self, parsed: ParsedRow) -> None:
        if parsed.points > self.points_cap:  # the shop's most points per entry
            parsed.error("points", parsed.points, "points_too_many", max=f"{self.points_cap:,}")
        if parsed.phone:
            first = self.seen_phones.setdefault(parsed.phone, parsed.row)
            if first != parsed.row:
                parsed.error("phone", parsed.phone, "phone_duplicate", first_row=first)
        if parsed.customer_id:
            first = self.seen_customer_ids.setdefault(parsed.customer_id, parsed.row)
            if first != parsed.row:
                parsed.error(
                    "customer_id", parsed.customer_id, "customer_id_duplicate", first_row=first
                )
        if parsed.line_user_id:
            first = self.seen_line_user_ids.setdefault(parsed.line_user_id, parsed.row)
            if first != parsed.row:
                parsed.error(
                    "line_user_id", parsed.line_user_id, "line_user_id_duplicate", first_row=first
                )
        for name in parsed.tags:
            if name.casefold() not in self.tags:
                parsed.error("tags", name, "tag_unknown", name=name)
        if parsed.tier and parsed.tier.casefold() not in self.tiers:
            choices = ", ".join(t.name for t in self.tiers.values()) or "—"
            parsed.error("tier", parsed.tier, "tier_unknown", name=parsed.tier, choices=choices)

    def key_for(self, phone: str) -> str:
        return f"{self.key_prefix}{phone}"

    # --- checks against the database, a chunk at a time ---------------------------------------

    def plan(self, rows: list[ParsedRow], *, lock: bool = False) -> list[RowPlan]:
        """Plans for a chunk of parsed rows. With ``lock`` (the commit, inside a transaction that
        holds the shop's lock) the existing members are locked before they are read."""
        shop = self.shop
        phones = [p.phone for p in rows if p.phone and not p.errors]
        members_q = Member.objects.filter(shop=shop, phone__in=phones)
        if lock:
            # Locked and read in one statement, the way lock_members locks (FOR NO KEY UPDATE,
            # ascending id): a chunk of new phones costs one query, not three.
            members_q = members_q.select_for_update(no_key=True).order_by("pk")
        existing = {m["phone"]: m for m in members_q.values(*_MEMBER_VALUES)} if phones else {}
        customer_ids = [p.customer_id for p in rows if p.customer_id and not p.errors]
        owners = (
            dict(
                Member.objects.filter(shop=shop, customer_id__in=customer_ids).values_list(
                    "customer_id", "pk"
                )
            )
            if customer_ids
            else {}
        )
        line_user_ids = [p.line_user_id for p in rows if p.line_user_id and not p.errors]
        if line_user_ids:
            # Keyed apart from the Customer IDs (a Customer ID may look like a LINE id).
            owners.update(
                (("line", line_user_id), pk)
                for line_user_id, pk in Member.objects.filter(
                    shop=shop, line_user_id__in=line_user_ids
                ).values_list("line_user_id", "pk")
            )
        current_tags: dict[int, set[int]] = {}
        if self.policy == "update" and existing:
            through = Member.tags.through
            for member_id, tag_id in through.objects.filter(
                member_id__in=[m["id"] for m in existing.values()]
            ).values_list("member_id", "tag_id"):
                current_tags.setdefault(member_id, set()).add(tag_id)
        credit_keys = [
            self.key_for(p.phone)
            for p in rows
            if p.phone and not p.errors and p.points > 0 and p.phone in existing
        ]
        imported = (
            dict(
                LedgerEntry.objects.filter(shop=shop, idempotency_key__in=credit_keys).values_list(
                    "idempotency_key", "fingerprint"
                )
            )
            if credit_keys
            else {}
        )
        return [self._plan_row(p, existing, owners, current_tags, imported) for p in rows]

    def _plan_row(self, parsed, existing, owners, current_tags, imported) -> RowPlan:
        if parsed.errors:
            return RowPlan(parsed, ERROR)
        member = existing.get(parsed.phone)
        tier = self.tiers.get(parsed.tier.casefold()) if parsed.tier else None
        tag_ids = [self.tags[name.casefold()].pk for name in parsed.tags]
        if member is None:
            if parsed.customer_id and parsed.customer_id in owners:
                parsed.error("customer_id", parsed.customer_id, "customer_id_taken")
                return RowPlan(parsed, ERROR)
            if parsed.line_user_id and ("line", parsed.line_user_id) in owners:
                parsed.error("line_user_id", parsed.line_user_id, "line_user_id_taken")
                return RowPlan(parsed, ERROR)
            changes = {
                "first_name": parsed.first_name,
                "last_name": parsed.last_name,
                "gender": parsed.gender,
                "birthday": parsed.birthday,
                "email": parsed.email,
                "customer_id": parsed.customer_id,
                "line_user_id": parsed.line_user_id,
                "bound_at": self.now if parsed.line_user_id else None,
                "tier_id": tier.pk if tier else None,
                "note": parsed.note,
            }
            return RowPlan(parsed, NEW, changes=changes, tag_ids=tag_ids, credit=parsed.points)

        plan = RowPlan(parsed, UNCHANGED, member_id=member["id"], current=member)
        if self.policy == "update":
            self._plan_update(plan, member, owners, current_tags, tier, tag_ids)
        elif self.policy == "add-points" and parsed.points > 0:
            key = self.key_for(parsed.phone)
            expected = fingerprint(
                op="credit", kind=EntryKind.IMPORT, member=member["id"], points=parsed.points
            )
            if key in imported:
                if imported[key] != expected:
                    parsed.error("points", parsed.points, "points_conflict")
                    plan.action = ERROR
                return plan  # this file's points were added already: unchanged
            if member["status"] in (Member.Status.BLOCKED, Member.Status.ERASED):
                parsed.error("points", parsed.points, "member_blocked")
                plan.action = ERROR
                return plan
            plan.credit = parsed.points
            plan.action = UPDATE
        return plan

    def _plan_update(self, plan, member, owners, current_tags, tier, tag_ids) -> None:
        parsed = plan.parsed
        wanted = {
            "first_name": parsed.first_name,
            "last_name": parsed.last_name,
            "gender": parsed.gender,
            "birthday": parsed.birthday,
            "email": parsed.email,
            "note": parsed.note,
        }
        # Only cells that are filled in change the profile: a blank cell never erases data.
        changes = {
            name: value
            for name, value in wanted.items()
            if name in parsed.present and member[name] != value
        }
        if tier is not None and member["tier_id"] != tier.pk:
            changes["tier_id"] = tier.pk
        if parsed.customer_id and member["customer_id"] != parsed.customer_id:
            if member["customer_id"]:
                parsed.error(
                    "customer_id",
                    parsed.customer_id,
                    "customer_id_bound",
                    current=member["customer_id"],
                )
                plan.action = ERROR
                return
            if owners.get(parsed.customer_id, member["id"]) != member["id"]:
                parsed.error("customer_id", parsed.customer_id, "customer_id_taken")
                plan.action = ERROR
                return
            changes["customer_id"] = parsed.customer_id
        if parsed.line_user_id and member["line_user_id"] != parsed.line_user_id:
            code = "line_user_id_bound" if member["line_user_id"] else None
            owner = owners.get(("line", parsed.line_user_id), member["id"])
            if code is None and owner != member["id"]:
                code = "line_user_id_taken"
            if code is not None:
                parsed.error(
                    "line_user_id", parsed.line_user_id, code, current=member["line_user_id"]
                )
                plan.action = ERROR
                return
            changes["line_user_id"] = parsed.line_user_id
            changes["bound_at"] = self.now
        new_tags = [t for t in tag_ids if t not in current_tags.get(member["id"], set())]
        plan.changes, plan.tag_ids = changes, new_tags
        if changes or new_tags:
            plan.action = UPDATE
