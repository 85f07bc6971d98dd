"""The only code that talks to the LINE platform.

``login`` speaks LINE Login (OAuth 2 / OpenID Connect) over plain HTTPS, ``messaging`` wraps the
official line-bot-sdk for the Messaging API, and the ``fake`` package is the loopback stand-in for
both that tests and the demo point the base URLs at (``LINE_API_BASE_URL`` and friends in settings).

The errors live here so that callers can catch one family whichever half of LINE they used, and
so that importing them does not pull in ``requests`` or the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from loyalty.errors import ApplicationError


class LineError(ApplicationError):
    """LINE refused or could not serve a request. ``message`` is translated and safe to show."""

    code = "line_error"
    default_message = _("LINE could not complete the request. Please try again.")

    def __init__(
        self,
        message: Any = None,
        *,
        line_error: str = "",
        line_error_description: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message if message is not None else self.default_message)
        # LINE's own words, for logs and tests; never shown to a member.
        self.line_error = line_error
        self.line_error_description = line_error_description
        self.status = status


class LineAuthError(LineError):
    """LINE says a code, ID token or access token is not good (forged, expired, other channel).

    The member has to sign in again; retrying the same request cannot succeed.
    """

    code = "line_auth"
    default_message = _("We could not verify your LINE sign-in. Please sign in with LINE again.")


class LineUnavailable(LineError):
    """LINE could not be reached or failed on its side (network error, timeout, 429, 5xx).

    Unlike ``LineAuthError`` the same request may succeed later, so jobs retry on this one.
    """

    code = "line_unavailable"
    default_message = _("LINE is not answering right now. Please try again in a moment.")


@dataclass(frozen=True)
class LineProfile:
    """A LINE user's public profile, as both LINE Login and the Messaging API return it."""

    user_id: str
    display_name: str
    picture_url: str | None = None
    status_message: str | None = None
    language: str | None = None


__all__ = ["LineAuthError", "LineError", "LineProfile", "LineUnavailable"]
