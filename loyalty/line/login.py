"""LINE Login v2.1 (OAuth 2 / OpenID Connect) over plain HTTPS.

Why not a library: the five calls below are the whole protocol we need, and every one of them is a
form post or a GET that ``requests`` does in a line. ID tokens are verified by LINE's own verify
endpoint rather than locally, so we never hold JWT keys or track LINE's signing algorithms (web
login signs HS256 with the channel secret, LIFF signs ES256), and a forged, expired or
other-channel token is refused by the one party that knows.

Base URLs come from settings (``LINE_ACCESS_BASE_URL`` for the browser-facing authorize page,
``LINE_API_BASE_URL`` for the server-to-server calls), so tests and the demo run this very code
against the fake LINE server on loopback.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from loyalty.line import LineAuthError, LineError, LineProfile, LineUnavailable

logger = logging.getLogger(__name__)

AUTHORIZE_PATH = "/oauth2/v2.1/authorize"
TOKEN_PATH = "/oauth2/v2.1/token"  # noqa: S105 (a URL path, not a secret)
VERIFY_PATH = "/oauth2/v2.1/verify"
PROFILE_PATH = "/v2/profile"

# What LINE says when an ID token is only too old, so the member is told to sign in again rather
# than that something is wrong.
_EXPIRED_DESCRIPTIONS = {"IdToken expired.", "access token expired"}


@dataclass(frozen=True)
class TokenResult:
    """LINE's answer to a code exchange. ``id_token`` is there when the ``openid`` scope was asked."""

    access_token: str
    expires_in: int
    token_type: str
    scope: str
    id_token: str | None = None
    refresh_token: str | None = None


@dataclass(frozen=True)
class IdTokenClaims:
    """The claims LINE vouched for after verifying an ID token. ``sub`` is the LINE user id."""

    iss: str
    sub: str
    aud: str
    exp: int
    iat: int
    nonce: str | None = None
    name: str | None = None
    picture: str | None = None
    email: str | None = None
    amr: tuple[str, ...] = ()

    @property
    def user_id(self) -> str:
        return self.sub


@dataclass(frozen=True)
class AccessTokenInfo:
    """LINE's answer to "is this access token good": for which channel, and for how long."""

    scope: str
    client_id: str
    expires_in: int


def new_state() -> str:
    """A fresh random ``state`` or ``nonce`` value (CSRF and replay protection for one sign-in)."""
    return secrets.token_urlsafe(24)


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``(code_verifier, code_challenge)`` pair (S256), as LINE recommends for web login.

    The verifier stays in the session; only the challenge goes into the authorize URL.
    """
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


def authorize_url(
    *,
    channel_id: str,
    redirect_uri: str,
    state: str,
    nonce: str,
    scope: str = "profile openid",
    code_challenge: str | None = None,
    bot_prompt: str | None = None,
) -> str:
    """The LINE Login page to send the browser to.

    ``state`` and ``nonce`` are required (not optional as in LINE's docs): the callback must check
    ``state`` against the session, and the ID token's ``nonce`` ties it to this one sign-in.
    """
    params = {
        "response_type": "code",
        "client_id": channel_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": scope,
        "nonce": nonce,
    }
    if code_challenge:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    if bot_prompt:
        params["bot_prompt"] = bot_prompt
    return f"{settings.LINE_ACCESS_BASE_URL}{AUTHORIZE_PATH}?{urlencode(params)}"


def exchange_code(
    *,
    channel_id: str,
    channel_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str | None = None,
) -> TokenResult:
    """Trade the authorization code from the callback for tokens.

    A code is single use and short-lived, so a refused exchange means "sign in again".
    """
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": channel_id,
        "client_secret": channel_secret,
    }
    if code_verifier:
        data["code_verifier"] = code_verifier
    body = _call(
        "POST",
        TOKEN_PATH,
        data=data,
        refused=_("The LINE sign-in has expired or was already used. Please sign in again."),
    )
    try:
        return TokenResult(
            access_token=str(body["access_token"]),
            expires_in=int(body["expires_in"]),
            token_type=str(body.get("token_type", "Bearer")),
            scope=str(body.get("scope", "")),
            id_token=body.get("id_token"),
            refresh_token=body.get("refresh_token"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _malformed(TOKEN_PATH, body) from exc


def verify_id_token(
    *,
    id_token: str,
    channel_id: str,
    nonce: str | None = None,
    user_id: str | None = None,
) -> IdTokenClaims:
    """Ask LINE whether an ID token is genuine, unexpired, for our channel (and nonce, and user).

    This is the only way a member's LINE user id enters the product: the member pages post the
    ID token they got from LIFF or LINE Login, never a user id, and trust only what LINE vouches.
    """
    data = {"id_token": id_token, "client_id": channel_id}
    if nonce is not None:
        data["nonce"] = nonce
    if user_id is not None:
        data["user_id"] = user_id
    body = _call("POST", VERIFY_PATH, data=data, refused=LineAuthError.default_message)
    try:
        claims = IdTokenClaims(
            iss=str(body["iss"]),
            sub=str(body["sub"]),
            aud=str(body["aud"]),
            exp=int(body["exp"]),
            iat=int(body["iat"]),
            nonce=body.get("nonce"),
            name=body.get("name"),
            picture=body.get("picture"),
            email=body.get("email"),
            amr=tuple(body.get("amr") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _malformed(VERIFY_PATH, body) from exc
    # LINE already checked these; checking again costs nothing and keeps a misbehaving proxy or a
    # misconfigured base URL from turning into an account takeover.
    if claims.aud != str(channel_id) or (nonce is not None and claims.nonce != nonce):
        raise LineAuthError(line_error="invalid_request", line_error_description="claims mismatch")
    return claims


def verify_access_token(*, access_token: str, channel_id: str) -> AccessTokenInfo:
    """Check a LINE Login access token is live and was issued to *our* channel.

    LINE's verify answers for any channel's token, so the ``client_id`` check here is what stops
    a token obtained by another app from signing a member in to ours.
    """
    body = _call(
        "GET",
        VERIFY_PATH,
        params={"access_token": access_token},
        refused=LineAuthError.default_message,
    )
    try:
        info = AccessTokenInfo(
            scope=str(body.get("scope", "")),
            client_id=str(body["client_id"]),
            expires_in=int(body["expires_in"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _malformed(VERIFY_PATH, body) from exc
    if info.client_id != str(channel_id) or info.expires_in <= 0:
        raise LineAuthError(
            line_error="invalid_request", line_error_description="token of another channel"
        )
    return info


def get_profile(access_token: str) -> LineProfile:
    """The signed-in user's profile (needs the ``profile`` scope)."""
    body = _call(
        "GET",
        PROFILE_PATH,
        headers={"Authorization": f"Bearer {access_token}"},
        refused=LineAuthError.default_message,
    )
    try:
        return LineProfile(
            user_id=str(body["userId"]),
            display_name=str(body["displayName"]),
            picture_url=body.get("pictureUrl"),
            status_message=body.get("statusMessage"),
        )
    except (KeyError, TypeError) as exc:
        raise _malformed(PROFILE_PATH, body) from exc


def _call(
    method: str,
    path: str,
    *,
    refused: Any,
    data: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One request to LINE's API host, with LINE's failures mapped onto our two error kinds.

    4xx means LINE refused these credentials (``LineAuthError`` with ``refused`` as the message);
    a network error, a timeout, 429 or 5xx means "try again later" (``LineUnavailable``).
    """
    url = f"{settings.LINE_API_BASE_URL}{path}"
    try:
        response = requests.request(
            method,
            url,
            data=data,
            params=params,
            headers=headers,
            timeout=settings.LINE_HTTP_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        logger.warning("LINE %s %s failed: %s", method, path, exc)
        raise LineUnavailable() from exc

    body = _json_or_empty(response)
    status = response.status_code
    if status == 200:
        if not isinstance(body, dict):
            raise _malformed(path, body)
        return body
    line_error = str(body.get("error", "")) if isinstance(body, dict) else ""
    description = (
        str(body.get("error_description") or body.get("message") or "")
        if isinstance(body, dict)
        else ""
    )
    if status == 429 or status >= 500:
        logger.warning("LINE %s %s answered %s: %s", method, path, status, description)
        raise LineUnavailable(
            line_error=line_error, line_error_description=description, status=status
        )
    logger.info("LINE %s %s refused (%s): %s %s", method, path, status, line_error, description)
    message = (
        _("Your LINE sign-in has expired. Please sign in with LINE again.")
        if description in _EXPIRED_DESCRIPTIONS
        else refused
    )
    raise LineAuthError(
        message, line_error=line_error, line_error_description=description, status=status
    )


def _json_or_empty(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _malformed(path: str, body: Any) -> LineError:
    """LINE answered 200 with something we cannot read: treat it as an outage, and log it."""
    logger.error("LINE %s answered an unexpected body: %r", path, body)
    return LineUnavailable(line_error="malformed_response")
