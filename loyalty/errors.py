"""Domain errors raised by services.

A service refuses a business rule by raising an ``ApplicationError`` subclass with a translated,
user-facing message. Views turn it into a form error or a message, the API into a 422 with ``code``.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A business rule refused the request. ``message`` is translated and safe to show a user."""

    code = "refused"
    # The Open API answers a refused business rule with 422; input errors override this with 400.
    http_status = 422

    def __init__(
        self,
        message: Any,
        *,
        code: str | None = None,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.extra = extra or {}

    def __str__(self) -> str:
        return str(self.message)


class InvalidInput(ApplicationError):
    """The input itself is wrong (not a number, not a phone, unknown branch): 400 in the API."""

    code = "invalid_input"
    http_status = 400


class LimitReached(ApplicationError):
    """A per-shop limit (tiers, tags, channels, questions) would be exceeded."""

    code = "limit_reached"


class NotFound(ApplicationError):
    """The object does not exist in this shop (another shop's object looks the same)."""

    code = "not_found"
    http_status = 404


class Conflict(ApplicationError):
    """The same idempotency key is in flight, or was used for a different request."""

    code = "conflict"
    http_status = 409
