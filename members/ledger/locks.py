"""Row locks for the ledger, in one place.

Lock order, everywhere in the project: Shop → Member → Reward (→ reward codes). A transaction takes
the locks it needs in that order and never the other way round, so two transactions cannot wait on
each other. Lots and allocations of a member are only changed while holding that member's lock, so
they need no lock of their own. Jobs that touch many members lock them in ascending id order.

Locks are ``FOR NO KEY UPDATE``: they exclude other writers of the row but not the foreign-key
checks (``FOR KEY SHARE``) that inserting an entry, lot or purchase takes on the shop and member rows;
a plain ``FOR UPDATE`` would make a transaction holding a member wait on another holding the shop.

On SQLite ``select_for_update`` is a no-op; there every write transaction starts IMMEDIATE (see
settings), which serialises writers for the whole database.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import OuterRef, Subquery

from loyalty.compiled import compiled
from members.ledger.models import LedgerEntry
from members.models import Member
from shops.models import Branch
from shops.services import lock_shop

__all__ = ["lock_member", "lock_member_by_public_id", "lock_members", "lock_shop"]


def lock_member(member_id: int) -> Member:
    """Lock one member row and return it fresh (balance, debt, tier as committed).

    One query in the common case. When the lock had to wait for another writer, PostgreSQL hands
    back the member row as that writer committed it, but the tier joined to it as read before the
    wait (it re-checks only the locked row): after a concurrent upgrade the member's ``tier_id`` is
    Gold while the joined tier is missing. Then the related rows are read again, now that the lock
    is held, so every caller sees the tier that is really the member's.
    """
    member = (
        Member.objects.select_for_update(of=("self",), no_key=True)
        .select_related("shop", "tier", "manual_tier")
        .get(pk=member_id)
    )
    if _joined_stale(member, "tier") or _joined_stale(member, "manual_tier"):
        member = Member.objects.select_related("shop", "tier", "manual_tier").get(pk=member_id)
    return member


def lock_member_by_public_id(
    *, shop_id: int, public_id, branch_code: str | None = None, entry_key: str | None = None
) -> Member | None:
    """Find the shop's member by its public id and lock it in one statement (an API write: one
    statement instead of a read, then a lock), or None (no such member, or erased). The same
    statement reads, as attributes of the member, the pk of the shop's active branch with
    ``branch_code`` (``branch_pk``) and of the shop's entry with the ledger key ``entry_key``
    (``keyed_entry_pk``) when they are given. The statement is compiled once per process
    (``loyalty.compiled``): the earn path's hottest query.

    Those reads see the database as it was when the statement began: when the lock had to wait
    for another writer of the member (PostgreSQL), they may miss what that writer committed.
    ``member.lock_waited`` says so (the row as read then differs from the row as locked); the
    caller then reads again what matters (``earning._earn_by_public_id``: the key's entry). As
    ``lock_member``, the related rows are read again when the lock waited."""
    public_id = Member._meta.get_field("public_id").to_python(public_id)
    values = {"shop_id": shop_id, "public_id": public_id}
    if branch_code is not None:
        values["branch_code"] = branch_code
    if entry_key is not None:
        values["entry_key"] = entry_key
    shape = f"ledger.lock_member_by_public_id:{branch_code is not None}:{entry_key is not None}"
    found = compiled(shape, _member_by_public_id, **values)
    if not found:
        return None
    member = found[0]
    member.lock_waited = (member.seen_updated_at, member.seen_balance) != (
        member.updated_at,
        member.balance,
    )
    if _joined_stale(member, "tier") or _joined_stale(member, "manual_tier"):
        fresh = Member.objects.select_related("shop", "tier", "manual_tier").get(pk=member.pk)
        for name in ("branch_pk", "keyed_entry_pk"):
            if hasattr(member, name):
                setattr(fresh, name, getattr(member, name))
        fresh.lock_waited = True
        member = fresh
    return member


def _member_by_public_id(*, shop_id, public_id, branch_code=None, entry_key=None):
    reads = {}
    if branch_code is not None:
        branches = Branch.objects.filter(shop_id=shop_id, code=branch_code, is_active=True)
        reads["branch_pk"] = Subquery(branches.values("pk")[:1])
    if entry_key is not None:
        keyed = LedgerEntry.objects.filter(shop_id=shop_id, idempotency_key=entry_key)
        reads["keyed_entry_pk"] = Subquery(keyed.values("pk")[:1])
    before = Member.objects.filter(pk=OuterRef("pk"))
    return (
        Member.objects.select_for_update(of=("self",), no_key=True)
        .select_related("shop", "tier", "manual_tier")
        .annotate(
            **reads,
            seen_updated_at=Subquery(before.values("updated_at")[:1]),
            seen_balance=Subquery(before.values("balance")[:1]),
        )
        .filter(shop_id=shop_id, public_id=public_id)
        .exclude(status=Member.Status.ERASED)
        .order_by("pk")[:1]
    )


def _joined_stale(member: Member, name: str) -> bool:
    field = Member._meta.get_field(name)
    joined = field.get_cached_value(member, default=None)
    return getattr(joined, "pk", None) != getattr(member, field.attname)


def lock_members(member_ids: Iterable[int]) -> list[int]:
    """Lock many member rows, in ascending id order (jobs)."""
    return list(
        Member.objects.select_for_update(no_key=True)
        .filter(pk__in=list(member_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
