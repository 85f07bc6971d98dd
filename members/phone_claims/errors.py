"""Refusals of the phone proof services, each with a message a member or cashier understands."""

from loyalty.errors import ApplicationError, InvalidInput


class NoOpenClaim(ApplicationError):
    """The member has no phone number waiting for proof."""

    code = "no_open_claim"
    http_status = 404


class ClaimLost(ApplicationError):
    """Another account proved the phone first, or the pending record is no longer there."""

    code = "claim_lost"
    http_status = 409


class TooManyCodes(ApplicationError):
    """A rate limit on codes per phone number or per LINE account."""

    code = "too_many_codes"
    http_status = 429


class CodeNotValid(InvalidInput):
    """The code typed is wrong, used, expired or out of tries."""

    code = "code_not_valid"
