"""Refusals of the rewards services, each with its own code and a message a member, cashier or
integrator understands. Views turn them into a form error or an answer's status (the Open API's
error envelope, the staff app's ``REFUSAL_STATUS``)."""

from loyalty.errors import ApplicationError, InvalidInput


class RewardUnavailable(ApplicationError):
    """Inactive, another shop's, not yet open or closed, or the member may not redeem at all."""

    code = "reward_unavailable"


class OutOfStock(ApplicationError):
    """No stock left, or no free code left in the reward's pool."""

    code = "out_of_stock"


class TierNotAllowed(ApplicationError):
    code = "tier_not_allowed"


class LimitReachedForMember(ApplicationError):
    """The member has redeemed this reward as many times as ``per_member_limit`` allows."""

    code = "member_limit_reached"


class AddressRequired(InvalidInput):
    """A delivered reward without a usable address (recipient, address, postcode or phone)."""

    code = "address_required"


class CouponNotUsable(ApplicationError):
    """A coupon (or spot code) that is used, expired, cancelled, lapsed or for another platform."""

    code = "coupon_not_usable"


class WrongState(ApplicationError):
    """A redemption or delivery that cannot move to the asked state (e.g. cancel a used coupon)."""

    code = "wrong_state"


class DuplicateCodes(InvalidInput):
    """Codes given twice in a batch, or already in the reward's pool (``extra["duplicates"]``)."""

    code = "duplicate_codes"
