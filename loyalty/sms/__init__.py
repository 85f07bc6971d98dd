"""Sending text messages (SMS), behind one small interface.

The product sends SMS for two things: the one-time codes that prove a phone number
(``members.phone_claims``), and the text version of a broadcast for members LINE cannot reach
(``campaigns.sms``: an outbox with each shop's sender name, opt-outs and monthly budget).
Everything that sends goes through ``sms_send(phone_e164, text, sender=...)``, which hands the
message to the gateway chosen by ``settings.SMS_BACKEND``:

- ``thaibulksms``: ThaiBulkSMS's v2 HTTP API over HTTPS (``loyalty.sms.thaibulksms``), with
  ``SMS_API_KEY``/``SMS_API_SECRET``/``SMS_SENDER`` and the base URL ``SMS_BASE_URL``. Tests and
  the demo point that URL at the project's fake gateway on loopback (``loyalty.sms.fake_server``),
  which speaks the same API, so the real adapter runs there too.
- empty (or no API key): SMS is off; ``sms_available()`` is False and the pages offer the
  cashier's confirmation at the counter instead.

A gateway refuses with ``SmsRefused`` (bad credentials, no credit, a number it will not send to:
retrying the same message cannot help) or ``SmsUnavailable`` (network error, timeout, 5xx: a later
try may work). Both carry a translated message that is safe to show; the provider's own words are
kept apart for the logs.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from loyalty.errors import ApplicationError

# Short names for the built-in gateways; any other value is a dotted path to a backend class.
BACKENDS = {"thaibulksms": "loyalty.sms.thaibulksms.ThaiBulkSmsBackend"}


class SmsError(ApplicationError):
    """The SMS could not be handed to the gateway."""

    code = "sms_error"
    default_message = _("We could not send the SMS. Please try again in a moment.")

    def __init__(self, message: Any = None, *, detail: str = "", status: int | None = None):
        super().__init__(message if message is not None else self.default_message)
        # The gateway's own words, for logs and tests; never shown to a member.
        self.detail = detail
        self.status = status


class SmsRefused(SmsError):
    """The gateway refused this message (credentials, credit, the number): retrying cannot help."""

    code = "sms_refused"


class SmsUnavailable(SmsError):
    """The gateway could not be reached or failed on its side: a later try may work."""

    code = "sms_unavailable"
    http_status = 503


class SmsBackend(Protocol):
    """What a gateway adapter offers: send one text to one number, return the gateway's id.

    ``sender`` (optional, keyword-only) is the sender name to show for this message, instead of
    the account's default (``SMS_SENDER``). A backend written before it existed, whose ``send``
    takes no ``sender``, still works: it is simply not given one."""

    def send(self, phone_e164: str, text: str, *, sender: str = "") -> str: ...


def sms_available() -> bool:
    """Whether this installation can send SMS (a backend is chosen and has its credentials)."""
    name = (getattr(settings, "SMS_BACKEND", "") or "").strip()
    if not name:
        return False
    if name in BACKENDS:
        return bool(settings.SMS_API_KEY and settings.SMS_API_SECRET)
    return True


def get_backend() -> SmsBackend:
    """The configured gateway, built from settings (``SmsRefused`` when SMS is off)."""
    if not sms_available():
        raise SmsRefused(_("Sending SMS is not set up on this system."), detail="SMS is off")
    name = settings.SMS_BACKEND.strip()
    return import_string(BACKENDS.get(name, name)).from_settings()


def sms_send(phone_e164: str, text: str, *, sender: str = "") -> str:
    """Send ``text`` to ``phone_e164`` through the configured gateway; the gateway's message id.
    ``sender``: the sender name for this message (empty: the account's default).

    Call it after the deciding transaction has committed (``transaction.on_commit``) or from a
    job, never inside the transaction: an outside call must not hold row locks, and a rolled-back
    decision must not have sent anything.
    """
    backend = get_backend()
    if sender and _takes_sender(backend):
        return backend.send(phone_e164, text, sender=sender)
    return backend.send(phone_e164, text)


def _takes_sender(backend: SmsBackend) -> bool:
    """Whether the backend's ``send`` accepts ``sender`` (backends older than it do not)."""
    try:
        parameters = inspect.signature(backend.send).parameters
    except (TypeError, ValueError):
        return False
    return "sender" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


__all__ = [
    "SmsBackend",
    "SmsError",
    "SmsRefused",
    "SmsUnavailable",
    "get_backend",
    "sms_available",
    "sms_send",
]
