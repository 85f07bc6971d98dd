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
- the tier goes up at once when the credit crosses a threshold (never down), as ``_maybe_upgrade``.

One credit refused does not stop the others: the caller gets each key's outcome. The whole batch
is one transaction (the caller's, when it has one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import ApplicationError
from members.ledger import rules
from members.ledger.actors import Actor
from members.ledger.errors import IdempotencyMismatch, InvalidAmount, MemberNotActive
from members.ledger.locks import lock_members
from members.ledger.models import TIER_QUALIFYING_KINDS, EntryKind, LedgerEntry, PointLot
from members.ledger.services import clean_key, fingerprint
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
    """Each key's outcome: credited (its new entry), replayed (the first entry's id) or refused."""

    credited: dict[str, LedgerEntry] = field(default_factory=dict)
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
    valid: list[tuple[Credit, str, str]] = []  # (credit, clean key, fingerprint)
    for credit in credits:
        try:
            key = clean_key(credit.idempotency_key)
        except IdempotencyMismatch as exc:
            result.refused[credit.idempotency_key] = exc
            continue
        points = credit.points
        if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
            result.refused[key] = InvalidAmount(
                _("Points must be a whole number above 0."), field="points"
            )
            continue
        if points > rules.MAX_POINTS_PER_ENTRY:
            result.refused[key] = InvalidAmount(
                _("That is too many points for one entry."), field="points"
            )
            continue
        valid.append((credit, key, _print_for(kind, credit)))
    if not valid:
        return result

    shop = Shop.objects.get(pk=shop.pk)  # the policy as committed now
    member_ids = sorted({credit.member_id for credit, _k, _p in valid})
    lock_members(member_ids)
    states = {
        row["id"]: row
        for row in Member.objects.filter(pk__in=member_ids).values(
            "id", "shop_id", "status", "balance", "debt", "tier_id", "manual_tier_id"
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
    entries: list[LedgerEntry] = []
    lots: list[PointLot] = []
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
        entry = LedgerEntry(
            shop=shop,
            member_id=state["id"],
            kind=kind,
            points=credit.points,
            balance_after=state["balance"],
            idempotency_key=key,
            fingerprint=print_,
            branch=branch,
            channel=actor.channel,
            note=note[:500],
            reference=credit.reference[:100],
            created_at=now,
            **actor.entry_fields(),
        )
        entries.append(entry)
        lots.append(
            PointLot(
                shop=shop,
                member_id=state["id"],
                points=credit.points,
                remaining=credit.points - pay,
                debt_paid=pay,
                earned_on=today,
                available_on=today,
                expires_on=expires_on,
            )
        )
    if not entries:
        return result

    LedgerEntry.objects.bulk_create(entries, batch_size=1000)
    for entry, lot in zip(entries, lots, strict=True):
        lot.entry = entry
        result.credited[entry.idempotency_key] = entry
    PointLot.objects.bulk_create(lots, batch_size=1000)
    Member.objects.bulk_update(
        [
            Member(pk=s["id"], balance=s["balance"], debt=s["debt"], updated_at=now)
            for s in changed.values()
        ],
        ["balance", "debt", "updated_at"],
        batch_size=1000,
    )
    _upgrade_tiers(shop, list(changed.values()), today=today, now=now)
    return result


def _upgrade_tiers(shop: Shop, states: list[dict], *, today: dt.date, now: dt.datetime) -> None:
    """Move members up to the tier their earned points reach now (with the manual floor), as
    ``services._maybe_upgrade`` does for one member; never down."""
    if not shop.tiers_enabled or not states:
        return
    tiers = {t.pk: t for t in Tier.objects.filter(shop=shop)}
    if not tiers:
        return
    thresholds = [(t.threshold, t.pk) for t in tiers.values()]
    windows = rules.qualifying_windows(today + dt.timedelta(days=1), window=shop.tier_window)
    sums = {}
    for i, (start, end) in enumerate(windows):
        condition = Q(created_at__lt=_local_midnight(end))
        if start is not None:
            condition &= Q(created_at__gte=_local_midnight(start))
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

    def rank(tier_id: int | None) -> int:
        return -1 if tier_id is None else tiers[tier_id].threshold

    upgrades = []
    for state in states:
        target = rules.tier_for_points(earned.get(state["id"], 0), thresholds)
        floor = state["manual_tier_id"]
        if floor in tiers and rank(floor) > rank(target):
            target = floor
        current = state["tier_id"] if state["tier_id"] in tiers else None
        if rank(target) > rank(current):
            upgrades.append(
                Member(pk=state["id"], tier_id=target, tier_changed_at=now, updated_at=now)
            )
    if upgrades:
        Member.objects.bulk_update(
            upgrades, ["tier", "tier_changed_at", "updated_at"], batch_size=1000
        )


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
