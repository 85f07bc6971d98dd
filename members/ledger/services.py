"""The ledger's public API: every change of points goes through the services named here.

The code lives by concern in this package; callers outside it import from here only:
- ``earning``: ``points_earn`` (priced by ``points_quote``), ``points_credit``, ``points_welcome``;
- ``spending``: ``points_adjust`` (by hand, either way), ``points_spend`` (a reward);
- ``reversals``: ``entry_reverse``, ``purchase_reverse``, ``reverse_refusal``;
- ``tiers``: ``tier_start``, ``tier_target``, ``earned_in_window(s)``;
- ``core``: the input checks, the credit/debit every service writes through, ``expire_lots_now``.

Each service locks the member row first (``locks.lock_member``; lock order Shop → Member →
Reward), returns the first result when its idempotency key was seen before with the same request
and raises ``IdempotencyMismatch`` when the key was used for a different one, and writes one
immutable ``LedgerEntry``, the lots or allocations it implies, and the member's cached balance and
debt, in one transaction. The pure rules are in ``rules``; the set-based writes in ``bulk``; the
scheduled jobs in ``jobs``.
"""

from __future__ import annotations

from members.ledger.actors import Actor
from members.ledger.core import (
    check_points_cap,
    clean_amount,
    clean_phone,
    expire_lots_now,
)
from members.ledger.earning import (
    EarnQuote,
    EarnResult,
    LineItem,
    points_credit,
    points_earn,
    points_quote,
    points_welcome,
)
from members.ledger.errors import (
    CannotReverse,
    DuplicateOrder,
    EntryOwned,
    IdempotencyMismatch,
    InvalidAmount,
    InvalidBranch,
    InvalidPhoneNumber,
    MemberHasDebt,
    MemberNotActive,
    NoPointsForSpend,
    NotEnoughPoints,
    TooManyPoints,
)
from members.ledger.locks import lock_shop
from members.ledger.reversals import entry_reverse, purchase_reverse, reverse_refusal
from members.ledger.spending import points_adjust, points_spend
from members.ledger.tiers import earned_in_window, earned_in_windows, tier_start, tier_target

__all__ = [
    "Actor",
    "CannotReverse",
    "DuplicateOrder",
    "EarnQuote",
    "EarnResult",
    "EntryOwned",
    "IdempotencyMismatch",
    "InvalidAmount",
    "InvalidBranch",
    "InvalidPhoneNumber",
    "LineItem",
    "MemberHasDebt",
    "MemberNotActive",
    "NoPointsForSpend",
    "NotEnoughPoints",
    "TooManyPoints",
    "check_points_cap",
    "clean_amount",
    "clean_phone",
    "earned_in_window",
    "earned_in_windows",
    "entry_reverse",
    "expire_lots_now",
    "lock_shop",
    "points_adjust",
    "points_credit",
    "points_earn",
    "points_quote",
    "points_spend",
    "points_welcome",
    "purchase_reverse",
    "reverse_refusal",
    "tier_start",
    "tier_target",
]
