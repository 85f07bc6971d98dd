"""Many credits at once (the member import): for each credit, exactly what
``services.points_credit`` does, written with a few statements per batch instead of a few per credit.

For every credit in the batch:
- a key seen before with the same content is a replay (nothing written); the same key with other
  content is refused with ``IdempotencyMismatch``; a key twice in the batch counts as seen before;
- the member is locked before its balance is read (all members of the batch, in ascending id
  order; a caller that also locks the shop does so first: lock order Shop → Member);
- blocked, erased and other shops' members are refused;
- one ``LedgerEntry`` and one ``PointLot``, the lot paying the member's debt first, the expiry date
  by the shop's policy from today, ``balance_after`` the balance after that entry;
- the cached balance and debt are written in the same transaction;
- the tier goes up at once when the credit crosses a threshold (never down), as ``tiers.tier_upgrade``.

One credit refused does not stop the others: the caller gets each key's outcome. The whole batch
is one transaction (the caller's, when it has one).

Rows are written set-based, a few statements per batch whatever its size: ``insert_rows`` adds
many rows with one ``INSERT … SELECT`` from one array per column, and ``update_rows`` changes many
with one ``UPDATE … FROM``. Django's ``bulk_update`` writes a ``CASE WHEN id = … THEN …`` per row
and column (building it cost more than the rest of an import together, and PostgreSQL evaluates
it in time quadratic in the batch), and ``bulk_create`` builds a model instance and a
parameter per cell, which for an import of 100,000 members was most of what was left.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.bulk import insert_rows, update_rows
from loyalty.dates import local_midnight
from loyalty.errors import ApplicationError
from loyalty.idempotency import clean_key, fingerprint
from members.ledger import rules
from members.ledger.actors import Actor
from members.ledger.core import check_points_cap
from members.ledger.errors import (
    IdempotencyMismatch,
    InvalidAmount,
    MemberNotActive,
    TooManyPoints,
)
from members.ledger.locks import lock_members
from members.ledger.models import TIER_QUALIFYING_KINDS, EntryKind, LedgerEntry, PointLot
from members.models import Member
from shops.models import Branch, Shop, Tier


@dataclass(frozen=True)
class Credit:
    member_id: int
    points: int
    idempotency_key: str
    reference: str = ""


@dataclass
class BulkCreditResult:
    """Each key's outcome: credited (its new entry's id), replayed (the first entry's id) or
    refused."""

    credited: dict[str, int] = field(default_factory=dict)
    replayed: dict[str, int] = field(default_factory=dict)
    refused: dict[str, ApplicationError] = field(default_factory=dict)


def _print_for(kind: str, credit: Credit) -> str:
    # The same fingerprint as points_credit, so a key first used by one replays in the other.
    return fingerprint(op="credit", kind=kind, member=credit.member_id, points=credit.points)


@transaction.atomic
def points_credit_many(
    *,
    shop: Shop,
    credits: Sequence[Credit],
    kind: str,
    actor: Actor,
    note: str = "",
    branch: Branch | None = None,
    expires_on: dt.date | bool | None = True,
) -> BulkCreditResult:
    """Credit points that do not come from a spend to many members (import, bulk gifts).

    Same rules, per credit, as ``points_credit`` (see the module docstring); ``expires_on=True``
    applies the shop's expiry policy from today.
    """
    result = BulkCreditResult()
    shop = Shop.objects.get(pk=shop.pk)  # the policy as committed now
    valid: list[tuple[Credit, str, str]] = []  # (credit, clean key, fingerprint)
    for credit in credits:
        key = _checked_key(credit, result, shop=shop)
        if key is not None:
            valid.append((credit, key, _print_for(kind, credit)))
    if not valid:
        return result

    member_ids = sorted({credit.member_id for credit, _k, _p in valid})
    lock_members(member_ids)
    states = {
        row["id"]: row
        for row in Member.objects.filter(pk__in=member_ids).values(
            "id",
            "shop_id",
            "status",
            "balance",
            "debt",
            "tier_id",
            "manual_tier_id",
            "tier_changed_at",
        )
    }
    # After the locks: a concurrent twin holding the same key has committed by now.
    seen = {
        key: (print_, entry_id)
        for key, print_, entry_id in LedgerEntry.objects.filter(
            shop=shop, idempotency_key__in=[k for _c, k, _p in valid]
        ).values_list("idempotency_key", "fingerprint", "id")
    }

    today = timezone.localdate()
    if expires_on is True:
        expires_on = rules.expiry_date_for(today, mode=shop.expiry_mode, months=shop.expiry_months)
    now = timezone.now()
    entries: list[tuple] = []  # (member, points, balance after, key, fingerprint, reference)
    lots: list[tuple] = []  # (member, points, remaining, debt paid), in the order of entries
    changed: dict[int, dict] = {}
    batch_keys: dict[str, str] = {}
    for credit, key, print_ in valid:
        if key in seen or key in batch_keys:
            first_print = seen[key][0] if key in seen else batch_keys[key]
            if first_print != print_:
                result.refused[key] = IdempotencyMismatch(
                    _("This idempotency key was already used for a different request.")
                )
            elif key in seen:
                result.replayed[key] = seen[key][1]
            continue
        state = states.get(credit.member_id)
        if state is None or state["shop_id"] != shop.pk:
            result.refused[key] = MemberNotActive(_("This member belongs to another shop."))
            continue
        if state["status"] in (Member.Status.BLOCKED, Member.Status.ERASED):
            result.refused[key] = MemberNotActive(
                _("This member is blocked or deleted; points cannot change.")
            )
            continue
        batch_keys[key] = print_
        pay = min(credit.points, state["debt"])
        state["debt"] -= pay
        state["balance"] += credit.points
        changed[state["id"]] = state
        entries.append(
            (state["id"], credit.points, state["balance"], key, print_, credit.reference[:100])
        )
        lots.append((state["id"], credit.points, credit.points - pay, pay))
    if not entries:
        return result

    result.credited.update(
        _write_credits(
            shop,
            entries,
            lots,
            kind=kind,
            actor=actor,
            note=note,
            branch=branch,
            now=now,
            today=today,
            expires_on=expires_on,
        )
    )
    # The entries are in: the tiers they reach, then balance, debt and tier in one statement.
    _upgrade_tiers(shop, list(changed.values()), today=today, now=now)
    update_rows(
        Member,
        ["balance", "debt", "tier_id", "tier_changed_at"],
        [
            (s["id"], s["balance"], s["debt"], s["tier_id"], s["tier_changed_at"])
            for s in changed.values()
        ],
        same={"updated_at": now},
    )
    return result


def _checked_key(
    credit: Credit | OpeningCredit, result: BulkCreditResult, *, shop: Shop
) -> str | None:
    """The credit's clean key when its key and points are acceptable (a whole number above 0, at
    most the shop's most points per entry); else None, and why in ``result.refused``."""
    try:
        key = clean_key(credit.idempotency_key)
    except IdempotencyMismatch as exc:
        result.refused[credit.idempotency_key] = exc
        return None
    points = credit.points
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        result.refused[key] = InvalidAmount(
            _("Points must be a whole number above 0."), field="points"
        )
        return None
    try:
        check_points_cap(shop, points)
    except TooManyPoints as exc:
        result.refused[key] = exc
        return None
    return key


def _write_credits(
    shop: Shop,
    entries: list[tuple],
    lots: list[tuple],
    *,
    kind: str,
    actor: Actor,
    note: str,
    branch: Branch | None,
    now: dt.datetime,
    today: dt.date,
    expires_on: dt.date | None,
) -> dict[str, int]:
    """Insert the credit entries (member, points, balance after, key, fingerprint, reference)
    and their lots (member, points, remaining, debt paid), in the same order; returns each key's
    entry id."""
    who = actor.entry_fields()
    ids = {
        key: pk
        for pk, key in insert_rows(
            LedgerEntry,
            ["member_id", "points", "balance_after", "idempotency_key", "fingerprint", "reference"],
            entries,
            same={
                "shop_id": shop.pk,
                "kind": kind,
                "branch_id": branch.pk if branch is not None else None,
                "channel": actor.channel,
                "note": note[:500],
                "created_at": now,
                "actor_kind": who["actor_kind"],
                "created_by_id": who["created_by"].pk if who["created_by"] else None,
                "api_key_id": who["api_key"].pk if who["api_key"] else None,
            },
            returning=("id", "idempotency_key"),
        )
    }
    insert_rows(
        PointLot,
        ["member_id", "entry_id", "points", "remaining", "debt_paid"],
        [
            (member_id, ids[entry[3]], points, remaining, paid)
            for (member_id, points, remaining, paid), entry in zip(lots, entries, strict=True)
        ],
        same={
            "shop_id": shop.pk,
            "earned_on": today,
            "available_on": today,
            "expires_on": expires_on,
        },
    )
    return {entry[3]: ids[entry[3]] for entry in entries}


def _upgrade_tiers(shop: Shop, states: list[dict], *, today: dt.date, now: dt.datetime) -> None:
    """Move members up to the tier their earned points reach now (with the manual floor), as
    ``tiers.tier_upgrade`` does for one member; never down. Changes ``tier_id`` and
    ``tier_changed_at`` in ``states``, which the caller writes."""
    if not shop.tiers_enabled or not states:
        return
    tiers = {t.pk: t for t in Tier.objects.filter(shop=shop)}
    if not tiers:
        return
    windows = rules.qualifying_windows(today + dt.timedelta(days=1), window=shop.tier_window)
    sums = {}
    for i, (start, end) in enumerate(windows):
        condition = Q(created_at__lt=local_midnight(end))
        if start is not None:
            condition &= Q(created_at__gte=local_midnight(start))
        sums[f"w{i}"] = Sum("points", filter=condition)
    qualifying = Q(kind__in=TIER_QUALIFYING_KINDS) | Q(
        kind=EntryKind.REVERSAL, reversal_of__kind__in=TIER_QUALIFYING_KINDS
    )
    earned = {
        row["member_id"]: max((row[name] or 0) for name in sums)
        for row in LedgerEntry.objects.filter(qualifying, member_id__in=[s["id"] for s in states])
        .values("member_id")
        .annotate(**sums)
    }

    for state in states:
        _raise_tier(state, earned.get(state["id"], 0), tiers, now=now)


def _raise_tier(state: dict, earned: int, tiers: dict[int, Tier], *, now: dt.datetime) -> None:
    """Up to the tier ``earned`` reaches with the manual floor (``rules.tier_with_floor``), never
    down: ``state``'s ``tier_id`` and ``tier_changed_at`` change when the tier does."""

    def rank(tier_id: int | None) -> int:
        return -1 if tier_id is None else tiers[tier_id].threshold

    target = rules.tier_with_floor(
        earned, [(t.threshold, t.pk) for t in tiers.values()], state["manual_tier_id"]
    )
    current = state["tier_id"] if state["tier_id"] in tiers else None
    if rank(target) > rank(current):
        state["tier_id"] = target
        state["tier_changed_at"] = now


@dataclass(frozen=True)
class OpeningCredit:
    """Points for a member being created (``members_create_with_credits``)."""

    points: int
    idempotency_key: str
    reference: str = ""


@transaction.atomic
def members_create_with_credits(
    *,
    shop: Shop,
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    same: Mapping[str, Any],
    credits: Sequence[OpeningCredit | None],
    kind: str,
    actor: Actor,
    note: str = "",
    branch: Branch | None = None,
    expires_on: dt.date | bool | None = True,
) -> tuple[list[int], BulkCreditResult]:
    """Create members (``fields`` of each row, ``same`` for all) and credit each its opening
    points, ``credits[i]`` or None: what ``insert_rows`` then ``points_credit_many`` would do,
    with each member row written once, its balance and tier already in it.

    A member created here has nothing before its credit (no entry, no debt, no lock anyone else
    could hold: no other transaction sees it), so the credit's effect on its row is known before
    the row exists: balance = the points, debt 0, and the tier those points reach now (the tier
    given in its row kept when higher), as ``_upgrade_tiers`` would decide it; a member without a
    credit gets the tier no points are needed for (the base tier), as ``tiers.tier_start`` gives
    it. Each credit is checked as ``points_credit_many`` checks it (points, key); a key used
    before belongs to an entry of another member, so it is refused (``IdempotencyMismatch``), as
    there. Returns the new members' ids in the order of ``rows``, and each key's outcome.
    """
    result = BulkCreditResult()
    shop = Shop.objects.get(pk=shop.pk)  # the policy as committed now
    valid: dict[int, tuple[OpeningCredit, str]] = {}
    for index, credit in enumerate(credits):
        key = _checked_key(credit, result, shop=shop) if credit is not None else None
        if key is not None:
            valid[index] = (credit, key)
    used = set(
        LedgerEntry.objects.filter(
            shop=shop, idempotency_key__in=[key for _c, key in valid.values()]
        ).values_list("idempotency_key", flat=True)
        if valid
        else ()
    )
    mismatch = _("This idempotency key was already used for a different request.")
    for index, (_credit, key) in list(valid.items()):
        if key in used:  # another member's entry (its fingerprint names that member)
            result.refused[key] = IdempotencyMismatch(mismatch)
            del valid[index]
        else:
            used.add(key)  # the same key twice here is two members: the second is refused

    today = timezone.localdate()
    if expires_on is True:
        expires_on = rules.expiry_date_for(today, mode=shop.expiry_mode, months=shop.expiry_months)
    now = timezone.now()
    tiers = {t.pk: t for t in Tier.objects.filter(shop=shop)} if shop.tiers_enabled else {}
    qualifies = kind in TIER_QUALIFYING_KINDS
    names = list(fields)
    tier_at = names.index("tier_id") if "tier_id" in names else None
    manual_at = names.index("manual_tier_id") if "manual_tier_id" in names else None
    # The columns written: the given ones (the tier among them, when given), then these.
    written = [*names, "public_id", "balance"]
    written += ["tier_changed_at"] if tier_at is not None else ["tier_id", "tier_changed_at"]
    status_at = names.index("status") if "status" in names else None
    member_rows = []
    public_ids = []
    for index, row in enumerate(rows):
        status = row[status_at] if status_at is not None else same.get("status")
        state = {
            "tier_id": row[tier_at] if tier_at is not None else same.get("tier_id"),
            "manual_tier_id": row[manual_at]
            if manual_at is not None
            else same.get("manual_tier_id"),
            "tier_changed_at": same.get("tier_changed_at"),
        }
        balance = 0
        if index in valid and status in (Member.Status.BLOCKED, Member.Status.ERASED):
            _credit, key = valid.pop(index)
            result.refused[key] = MemberNotActive(
                _("This member is blocked or deleted; points cannot change.")
            )
        if index in valid:
            balance = valid[index][0].points
        if tiers:
            # Every new member gets its tier now, with or without points: the base tier
            # (threshold 0) needs none, so nobody waits for a first earn to have a tier.
            _raise_tier(state, balance if qualifies else 0, tiers, now=now)
        public_id = uuid.uuid4()
        public_ids.append(public_id)
        values = list(row)
        if tier_at is not None:
            values[tier_at] = state["tier_id"]
            member_rows.append((*values, public_id, balance, state["tier_changed_at"]))
        else:
            member_rows.append(
                (*values, public_id, balance, state["tier_id"], state["tier_changed_at"])
            )
    constant = {k: v for k, v in same.items() if k not in ("tier_id", "tier_changed_at")}
    ids_by_public = dict(
        insert_rows(Member, written, member_rows, same=constant, returning=("public_id", "id"))
    )
    ids = [ids_by_public[public_id] for public_id in public_ids]
    if not valid:
        return ids, result

    entries = []
    lots = []
    for index, (credit, key) in valid.items():
        member_id = ids[index]
        print_ = _print_for(kind, Credit(member_id, credit.points, key))
        entries.append(
            (member_id, credit.points, credit.points, key, print_, credit.reference[:100])
        )
        lots.append((member_id, credit.points, credit.points, 0))
    entry_ids = _write_credits(
        shop,
        entries,
        lots,
        kind=kind,
        actor=actor,
        note=note,
        branch=branch,
        now=now,
        today=today,
        expires_on=expires_on,
    )
    result.credited.update(entry_ids)
    return ids, result
