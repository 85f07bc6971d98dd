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


class ApprovalRequired(ApplicationError):
    """A cashier's amount above the shop's cashier amount limit needs a manager's approval."""

    code = "approval_required"
    http_status = 403


class ApprovalInvalid(ApplicationError):
    """The approval is for another purchase, has expired, or its manager may no longer approve."""

    code = "approval_invalid"
    http_status = 403


class ApprovalRefused(ApplicationError):
    """Wrong username, password or PIN, or the person may not approve here."""

    code = "approval_refused"
    http_status = 403


class ApprovalLockedOut(ApplicationError):
    """Too many wrong passwords or PINs for this username from this device (django-axes)."""

    code = "approval_locked_out"
    http_status = 429
