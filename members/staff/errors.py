"""Refusals of the staff app's services, each with a message a cashier or member understands."""

from loyalty.errors import ApplicationError, NotFound


class StaffNotAllowed(ApplicationError):
    """This account may not do this here (wrong role, not at this branch, deactivated)."""

    code = "staff_not_allowed"
    http_status = 403


class ClaimNotFound(NotFound):
    code = "claim_not_found"


class ClaimUsed(ApplicationError):
    code = "claim_used"
    http_status = 409


class ClaimExpired(ApplicationError):
    code = "claim_expired"
    http_status = 410


class ClaimCancelled(ApplicationError):
    code = "claim_cancelled"
    http_status = 410
