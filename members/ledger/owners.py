"""Entries that belong to a higher layer: the registry the ledger offers them.

A debit that paid for a reward belongs to its redemption: reversing the entry alone would give
the points back while the coupon, the delivery, the stock and the member's limit stayed taken (a
double spend). The ledger cannot import rewards (layering), so an app that owns entries registers
a lookup here in its ``AppConfig.ready()``; ``entry_reverse`` then refuses those entries unless
the owner's own service reverses them (``as_owner=<kind>``), which undoes the rest of it too.

A lookup takes entry ids and returns, for those it owns, an ``EntryOwner``: what to call it in
a message, how to undo it, and where in the back office that is done.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class EntryOwner:
    """The record of a higher layer that an entry belongs to."""

    kind: str  # e.g. "redemption"; the API's refusal code is ``owned_by_<kind>``
    public_id: uuid.UUID
    noun: str  # translated, lower case: "redemption"
    label: str  # translated, names it: the redemption of “Free latte” (ID …)
    undo: str  # translated: how to undo it instead
    admin_url: str = ""  # the back-office page where it is undone


EntryOwnersLookup = Callable[[Collection[int]], Mapping[int, EntryOwner]]

_LOOKUPS: dict[str, EntryOwnersLookup] = {}


def register_entry_owner(kind: str, lookup: EntryOwnersLookup) -> None:
    """Let an app claim entries: ``lookup(entry_ids)`` returns ``{entry_id: EntryOwner}`` for the
    ones it owns. Registering the same kind again replaces the lookup (a reloaded app)."""
    _LOOKUPS[kind] = lookup


def registered_owner_kinds() -> list[str]:
    return sorted(_LOOKUPS)


def entry_owners(entry_ids: Collection[int]) -> dict[int, EntryOwner]:
    """The owner of each of ``entry_ids`` that has one (one query per registered kind)."""
    ids = [i for i in entry_ids if i is not None]
    if not ids:
        return {}
    found: dict[int, EntryOwner] = {}
    for lookup in _LOOKUPS.values():
        found.update(lookup(ids))
    return found


def entry_owner(entry_id: int) -> EntryOwner | None:
    """The owner of one entry, or None when the entry is the ledger's own."""
    return entry_owners([entry_id]).get(entry_id)
