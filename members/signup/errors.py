"""Refusals of sign-up and account services, each with a message a member understands."""

from loyalty.errors import ApplicationError, InvalidInput


class PhoneTaken(ApplicationError):
    """The phone number belongs to another member of the shop."""

    code = "phone_taken"


class AlreadyRegistered(ApplicationError):
    """This LINE account is already a registered member of the shop."""

    code = "already_registered"


class AccountNotActive(ApplicationError):
    """The member's account is blocked or deleted."""

    code = "account_not_active"
    http_status = 403


class InvalidBirthday(InvalidInput):
    code = "invalid_birthday"


class InvalidAnswer(InvalidInput):
    code = "invalid_answer"


class ConsentRequired(InvalidInput):
    code = "consent_required"
