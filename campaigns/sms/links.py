"""The opt-out link at the end of every marketing SMS: short (every character of a Thai SMS
costs), signed (nobody opts out a number they only guessed), and the same for one number at one
shop, so that it works for as long as the person keeps the SMS.

The token is ``<shop id>.<number>.<signature>``, the first two in base 62, the signature the
first 10 characters of an HMAC-SHA256 (``SECRET_KEY``) in URL-safe base 64: 60 bits, far beyond
guessing over HTTP (the page itself is not rate-limited). The number is only encoded, not
hidden: the link goes to that number's own SMS inbox.
"""

from __future__ import annotations

import base64
import string

from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from loyalty.links import absolute_url

SALT = "campaigns.sms.opt-out"
ALPHABET = string.digits + string.ascii_letters
SIGNATURE_LENGTH = 10


def _b62(number: int) -> str:
    out = ""
    while True:
        number, rest = divmod(number, 62)
        out = ALPHABET[rest] + out
        if not number:
            return out


def _from_b62(text: str) -> int:
    number = 0
    for char in text:
        number = number * 62 + ALPHABET.index(char)
    return number


def _signature(payload: str) -> str:
    digest = salted_hmac(SALT, payload, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_LENGTH]


def opt_out_token(shop_id: int, phone_e164: str) -> str:
    """The signed token of ``phone_e164`` (``+66812345678``) at shop ``shop_id``."""
    payload = f"{_b62(shop_id)}.{_b62(int(phone_e164.lstrip('+')))}"
    return f"{payload}.{_signature(payload)}"


def read_opt_out_token(token: str) -> tuple[int, str] | None:
    """The shop id and phone of a token, or None when it is not one of ours."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts) or len(token) > 60:
        return None
    shop, number, signature = parts
    if not constant_time_compare(signature, _signature(f"{shop}.{number}")):
        return None
    try:
        return _from_b62(shop), "+" + str(_from_b62(number))
    except ValueError:
        return None


def opt_out_url(shop_id: int, phone_e164: str) -> str:
    return absolute_url(
        None, reverse("sms-opt-out", kwargs={"token": opt_out_token(shop_id, phone_e164)})
    )
