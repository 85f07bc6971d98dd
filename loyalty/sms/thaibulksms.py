"""ThaiBulkSMS (thaibulksms.com), v2 HTTP API: one POST per message, over HTTPS.

The call, as ThaiBulkSMS documents it for API v2 (developer.thaibulksms.com):

    POST {SMS_BASE_URL}/sms            (production base URL: https://api-v2.thaibulksms.com)
    Authorization: Basic base64(<API key>:<API secret>)
    Content-Type: application/x-www-form-urlencoded
    msisdn=0812345678&message=...&sender=<registered sender name>

A sent message is answered ``201`` with JSON: ``remaining_credit``, ``total_use_credit``,
``credit_type``, ``phone_number_list`` (``number``, ``message_id``, ``used_credit`` per accepted
number) and ``bad_phone_number_list`` (``number``, ``message`` per refused one). A refused call
is a 4xx with ``{"error": {"code", "name", "description"}}``.

What was and was not checked: the request and answer shapes above follow ThaiBulkSMS's public
v2 documentation and the client code others publish for it; this adapter has run only against
the project's fake gateway (``loyalty.sms.fake_server``), which speaks the same shapes, never
against ThaiBulkSMS itself (that needs an account with credit). docs/sms.md says so too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from loyalty.sms import SmsRefused, SmsUnavailable

logger = logging.getLogger(__name__)

SEND_PATH = "/sms"


def msisdn_for(phone_e164: str) -> str:
    """The number as ThaiBulkSMS takes it: Thai mobiles in local form (+66812345678 →
    0812345678). Other countries are refused: the service sends within Thailand."""
    if not phone_e164.startswith("+66") or not phone_e164[3:].isdigit():
        raise SmsRefused(
            _("SMS codes can be sent to Thai mobile numbers only."),
            detail=f"not a Thai number: {phone_e164}",
        )
    return "0" + phone_e164[3:]


@dataclass(frozen=True)
class ThaiBulkSmsBackend:
    api_key: str
    api_secret: str
    sender: str = ""
    base_url: str = "https://api-v2.thaibulksms.com"
    timeout: float = 10.0

    @classmethod
    def from_settings(cls) -> ThaiBulkSmsBackend:
        return cls(
            api_key=settings.SMS_API_KEY,
            api_secret=settings.SMS_API_SECRET,
            sender=settings.SMS_SENDER,
            base_url=settings.SMS_BASE_URL,
            timeout=settings.SMS_HTTP_TIMEOUT,
        )

    def send(self, phone_e164: str, text: str, *, sender: str = "") -> str:
        """Send one message; the gateway's message id, or ``SmsRefused`` / ``SmsUnavailable``.
        ``sender`` (a sender name registered with ThaiBulkSMS) replaces the default for it."""
        form = {"msisdn": msisdn_for(phone_e164), "message": text}
        if sender or self.sender:
            form["sender"] = sender or self.sender
        try:
            response = requests.post(
                self.base_url.rstrip("/") + SEND_PATH,
                data=form,
                auth=(self.api_key, self.api_secret),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            logger.warning("SMS gateway unreachable: %s", exc)
            raise SmsUnavailable(detail=str(exc)) from exc
        body = _json(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise SmsUnavailable(detail=_error_text(body, response), status=response.status_code)
        if response.status_code >= 400:
            detail = _error_text(body, response)
            logger.error("SMS gateway refused the message: %s %s", response.status_code, detail)
            raise SmsRefused(detail=detail, status=response.status_code)
        accepted = body.get("phone_number_list") or []
        if not accepted or not isinstance(accepted[0], dict):
            bad = body.get("bad_phone_number_list") or []
            detail = "; ".join(
                f"{b.get('number')}: {b.get('message')}" for b in bad if isinstance(b, dict)
            )
            raise SmsRefused(
                _("The SMS service would not send to this number. Check the phone number."),
                detail=detail or "no number accepted",
                status=response.status_code,
            )
        return str(accepted[0].get("message_id") or "")


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_text(body: dict[str, Any], response: requests.Response) -> str:
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    parts = [str(error.get(k)) for k in ("code", "name", "description") if error.get(k)]
    return " ".join(parts) or response.text[:200]
