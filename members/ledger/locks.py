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

from members.models import Member
from shops.services import lock_shop

__all__ = ["lock_member", "lock_members", "lock_shop"]


def lock_member(member_id: int) -> Member:
    """Lock one member row and return it fresh (balance, debt, tier as committed)."""
    return (
        Member.objects.select_for_update(of=("self",), no_key=True)
        .select_related("shop", "tier", "manual_tier")
        .get(pk=member_id)
    )


def lock_members(member_ids: Iterable[int]) -> list[int]:
    """Lock many member rows, in ascending id order (jobs)."""
    return list(
        Member.objects.select_for_update(no_key=True)
        .filter(pk__in=list(member_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
