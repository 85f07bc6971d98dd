"""Refusals of the ledger services, each with its own code and a message a member, cashier or
integrator understands."""

from loyalty.errors import ApplicationError, InvalidInput
from loyalty.idempotency import IdempotencyMismatch as IdempotencyMismatch  # a ledger refusal too


class InvalidAmount(InvalidInput):
    code = "invalid_amount"


class NoPointsForSpend(ApplicationError):
    code = "no_points"


class TooManyPoints(ApplicationError):
    """More points in one entry than the shop allows (``Shop.max_points_per_entry``): a typing
    mistake, not a real purchase (422 in the API)."""

    code = "too_many_points"


class NotEnoughPoints(ApplicationError):
    code = "not_enough_points"


class MemberHasDebt(ApplicationError):
    code = "member_has_debt"


class MemberNotActive(ApplicationError):
    code = "member_not_active"


class CannotReverse(ApplicationError):
    code = "cannot_reverse"


class EntryOwned(CannotReverse):
    """The entry belongs to a higher layer's record (a redemption) and is undone only through it.
    ``owner`` is the ``members.ledger.owners.EntryOwner``; the code is ``owned_by_<kind>``."""

    def __init__(self, message, *, owner, **kwargs) -> None:
        super().__init__(message, code=f"owned_by_{owner.kind}", **kwargs)
        self.owner = owner


class DuplicateOrder(ApplicationError):
    code = "duplicate_order"


class InvalidPhoneNumber(InvalidInput):
    code = "invalid_phone"


class InvalidBranch(InvalidInput):
    code = "invalid_branch"
