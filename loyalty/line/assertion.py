"""Channel access tokens v2.1: a JWT signed with the channel's assertion private key is exchanged
at ``POST /oauth2/v2.1/token`` (``client_credentials``) for a short-lived channel access token,
through line-bot-sdk's ``ChannelAccessToken`` API (LINE's "Issue channel access token v2.1").

The private key is the JWK that LINE's docs have you generate (RSA, ``alg`` RS256); its public half
is registered in the LINE Developers console (Basic settings → Assertion Signing Key), which gives
the ``kid``. The JWT: header ``{"alg": "RS256", "typ": "JWT", "kid": kid}``, payload ``iss`` and
``sub`` the channel ID, ``aud`` ``https://api.line.me/``, ``exp`` at most 30 minutes ahead, and
``token_exp``: how long the issued token lives (at most 30 days).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

import urllib3
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from linebot.v3.oauth import ApiClient, ChannelAccessToken, Configuration

from loyalty.line import LineUnavailable

AUDIENCE = "https://api.line.me/"
ASSERTION_SECONDS = 30 * 60
TOKEN_SECONDS = 24 * 3600  # a day: short-lived, yet one token serves a day of messages


class InvalidAssertionKey(ValueError):
    """The saved private key is not an RSA private JWK."""


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    key_id: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def private_key_from_jwk(jwk_json: str) -> rsa.RSAPrivateKey:
    """The RSA private key in a JWK (``kty`` RSA with ``n e d p q dp dq qi``)."""
    try:
        jwk = json.loads(jwk_json)
        if jwk.get("kty") != "RSA":
            raise InvalidAssertionKey("The assertion key must be an RSA JWK.")
        public = rsa.RSAPublicNumbers(_b64url_int(jwk["e"]), _b64url_int(jwk["n"]))
        numbers = rsa.RSAPrivateNumbers(
            p=_b64url_int(jwk["p"]),
            q=_b64url_int(jwk["q"]),
            d=_b64url_int(jwk["d"]),
            dmp1=_b64url_int(jwk["dp"]),
            dmq1=_b64url_int(jwk["dq"]),
            iqmp=_b64url_int(jwk["qi"]),
            public_numbers=public,
        )
        return numbers.private_key()
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, InvalidAssertionKey):
            raise
        raise InvalidAssertionKey("The assertion key is not an RSA private JWK.") from exc


def assertion_jwt(*, channel_id: str, kid: str, private_jwk: str, now: float | None = None) -> str:
    """The signed JWT that asks LINE for a channel access token of ``TOKEN_SECONDS``."""
    issued = int(now if now is not None else time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    payload = {
        "iss": channel_id,
        "sub": channel_id,
        "aud": AUDIENCE,
        "exp": issued + ASSERTION_SECONDS,
        "token_exp": TOKEN_SECONDS,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    ).encode("ascii")
    key = private_key_from_jwk(private_jwk)
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode()}.{_b64url(signature)}"


def issue_channel_token(*, channel_id: str, kid: str, private_jwk: str) -> IssuedToken:
    """Ask LINE (``LINE_API_BASE_URL``) for a v2.1 channel access token; ``LineUnavailable`` when
    LINE cannot be reached, the SDK's ``ApiException`` when it refuses (a wrong kid or key)."""
    client = ChannelAccessToken(ApiClient(Configuration(host=settings.LINE_API_BASE_URL)))
    try:
        response = client.issue_channel_token_by_jwt(
            grant_type="client_credentials",
            client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            client_assertion=assertion_jwt(channel_id=channel_id, kid=kid, private_jwk=private_jwk),
            _request_timeout=settings.LINE_HTTP_TIMEOUT,
        )
    except urllib3.exceptions.HTTPError as exc:  # network errors: the caller may retry later
        raise LineUnavailable("LINE could not be reached to issue a channel access token.") from exc
    return IssuedToken(
        access_token=response.access_token,
        expires_in=int(response.expires_in),
        key_id=response.key_id,
    )
