"""LINE Login on the fake platform: the OAuth 2.0 authorize page, tokens, ID tokens, the profile.

Endpoints (LINE Login v2.1): ``GET /oauth2/v2.1/authorize`` (the consent page, or a redirect with
``auto_user``), ``POST /oauth2/v2.1/token`` (code and refresh grants, PKCE; and the Messaging API's
``client_credentials`` grant with a JWT assertion, "Issue channel access token v2.1", for keys
registered with ``add_assertion_key``), ``POST`` and ``GET
/oauth2/v2.1/verify`` (ID token, access token) and ``GET /v2/profile``; plus the authorize page's
own form, ``POST /__fake__/login``. ID tokens are HS256 JWTs signed with the channel secret, as
LINE signs them for web login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from loyalty.fake_http import (
    Request,
    Response,
    html_response,
    json_response,
    redirect,
    routes,
    with_query,
)
from loyalty.line.fake.pages import LinePages, error_page
from loyalty.line.fake.state import (
    ACCESS_TOKEN_TTL,
    AUTH_FAILED,
    CODE_TTL,
    ID_TOKEN_TTL,
    ISSUER,
    KNOWN_SCOPES,
    PENDING_LOGIN_TTL,
    FakeChannel,
    FakeUser,
    LoginCode,
    LoginToken,
)

ROUTES = routes(
    ("GET", r"/oauth2/v2\.1/authorize", "_authorize"),
    ("POST", r"/oauth2/v2\.1/token", "_token"),
    ("POST", r"/oauth2/v2\.1/verify", "_verify_id_token"),
    ("GET", r"/oauth2/v2\.1/verify", "_verify_access_token"),
    ("GET", r"/v2/profile", "_login_profile"),
    ("POST", r"/__fake__/login", "_fake_login"),
)


def oauth_error(error: str, description: str) -> Response:
    return json_response(HTTPStatus.BAD_REQUEST, {"error": error, "error_description": description})


# --- JWT (HS256), as LINE Login signs web-login ID tokens with the channel secret -----------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, signing_input: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), signing_input, hashlib.sha256).digest()


def encode_id_token(claims: dict[str, Any], secret: str) -> str:
    """Sign claims as LINE does for web login: a compact JWT, HS256 with the channel secret."""
    header = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    payload = _b64url(json.dumps(claims, ensure_ascii=False).encode("utf-8"))
    signing_input = f"{header}.{payload}".encode("ascii")
    return f"{header}.{payload}.{_b64url(_sign(secret, signing_input))}"


def _decode_id_token(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Split a JWT into header, claims, signing input and signature; ValueError if malformed."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWT")
    header = json.loads(_b64url_decode(parts[0]))
    claims = json.loads(_b64url_decode(parts[1]))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("not a JSON object")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), _b64url_decode(parts[2])


class LoginEndpoints(LinePages):
    """LINE Login's endpoints and the ID tokens tests mint without a browser."""

    def mint_id_token(
        self,
        *,
        channel_id: str,
        user_id: str,
        nonce: str | None = None,
        expired: bool = False,
        secret: str | None = None,
        scope: str = "profile openid",
    ) -> str:
        """An ID token as LIFF or LINE Login would hand it to a page.

        ``expired`` backdates it past its one-hour life; ``secret`` signs it with another key,
        which is how a forgery looks to LINE.
        """
        with self._lock:
            channel = self.channels.get(str(channel_id))
            if secret is None:
                if channel is None:
                    raise KeyError(f"Unknown channel {channel_id!r}; add_channel() it first")
                secret = channel.secret
            user = self.users[user_id]
            issued = int(time.time()) - (2 * ID_TOKEN_TTL if expired else 0)
            claims = self._id_token_claims(
                channel_id=str(channel_id), user=user, scope=scope, nonce=nonce, issued=issued
            )
        return encode_id_token(claims, secret)

    def _redirect_allowed(self, channel: FakeChannel, redirect_uri: str) -> bool:
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        if not channel.callback_urls:
            return True
        return redirect_uri.split("?")[0] in {url.split("?")[0] for url in channel.callback_urls}

    def _authorize(self, request: Request) -> Response:
        params = request.query
        channel = self.channels.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if channel is None or not self._redirect_allowed(channel, redirect_uri):
            # LINE shows its own error page here: it never redirects to an unverified URI.
            return html_response(
                HTTPStatus.BAD_REQUEST,
                error_page("400 Bad Request", "Invalid client_id or redirect_uri."),
            )
        state = params.get("state", "")
        scopes = set(params.get("scope", "").split())
        error = None
        if params.get("response_type") != "code":
            error = ("unsupported_response_type", "response_type must be code")
        elif not state:
            error = ("invalid_request", "state is required")
        elif not scopes or not scopes <= KNOWN_SCOPES:
            error = ("invalid_scope", "invalid scope")
        elif params.get("code_challenge") and params.get("code_challenge_method") != "S256":
            error = ("invalid_request", "code_challenge_method must be S256")
        if error:
            return redirect(
                with_query(redirect_uri, error=error[0], error_description=error[1], state=state)
            )
        auto_user = params.get("auto_user")
        if auto_user:
            if auto_user not in self.users:
                return html_response(
                    HTTPStatus.BAD_REQUEST, error_page("400 Bad Request", "Unknown auto_user.")
                )
            return self._grant(params, auto_user)
        login_id = secrets.token_urlsafe(16)
        self._pending_logins[login_id] = (dict(params), time.time() + PENDING_LOGIN_TTL)
        return html_response(HTTPStatus.OK, self._login_page(login_id, channel, params))

    def _fake_login(self, request: Request) -> Response:
        """The form on the authorize page: pick a user, create one, or cancel."""
        form = request.form()
        pending = self._pending_logins.pop(form.get("login_id", ""), None)
        if pending is None or pending[1] < time.time():
            return html_response(
                HTTPStatus.BAD_REQUEST,
                error_page("400 Bad Request", "This sign-in page has expired."),
            )
        params = pending[0]
        if form.get("cancel"):
            return redirect(
                with_query(
                    params["redirect_uri"],
                    error="access_denied",
                    error_description="The user has denied the approval",
                    state=params["state"],
                )
            )
        user_id = form.get("user_id", "")
        if form.get("display_name", "").strip():
            user_id = self.add_user(form["display_name"]).user_id
        if user_id not in self.users:
            return html_response(
                HTTPStatus.BAD_REQUEST, error_page("400 Bad Request", "Unknown user.")
            )
        return self._grant(params, user_id)

    def _grant(self, params: dict[str, str], user_id: str) -> Response:
        code = secrets.token_urlsafe(16)
        self._codes[code] = LoginCode(
            channel_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            user_id=user_id,
            scope=params["scope"],
            nonce=params.get("nonce"),
            code_challenge=params.get("code_challenge"),
            expires_at=time.time() + CODE_TTL,
        )
        return redirect(with_query(params["redirect_uri"], code=code, state=params["state"]))

    def _id_token_claims(
        self, *, channel_id: str, user: FakeUser, scope: str, nonce: str | None, issued: int
    ) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": user.user_id,
            "aud": channel_id,
            "exp": issued + ID_TOKEN_TTL,
            "iat": issued,
            "amr": ["linesso"],
        }
        if nonce:
            claims["nonce"] = nonce
        scopes = set(scope.split())
        if "profile" in scopes:
            claims["name"] = user.display_name
            claims["picture"] = self._picture_url(user)
        if "email" in scopes and user.email:
            claims["email"] = user.email
        return claims

    def _token(self, request: Request) -> Response:
        form = request.form()
        grant_type = form.get("grant_type")
        if grant_type == "client_credentials":
            return self._channel_token_by_jwt(form)
        if grant_type not in ("authorization_code", "refresh_token"):
            return oauth_error("unsupported_grant_type", "unsupported grant type")
        channel = self.channels.get(form.get("client_id", ""))
        if channel is None or not hmac.compare_digest(
            channel.secret.encode(), form.get("client_secret", "").encode()
        ):
            return oauth_error("invalid_client", "invalid client_id or client_secret")
        if grant_type == "refresh_token":
            return self._refresh(channel, form)
        # Popped before any check: a code is good for one attempt, whatever its outcome.
        code = self._codes.pop(form.get("code", ""), None)
        if code is None or code.expires_at < time.time() or code.channel_id != channel.channel_id:
            return oauth_error("invalid_grant", "invalid authorization code")
        if code.redirect_uri != form.get("redirect_uri"):
            return oauth_error("invalid_grant", "redirect_uri does not match")
        if code.code_challenge:
            verifier = form.get("code_verifier", "").encode("ascii", "replace")
            if _b64url(hashlib.sha256(verifier).digest()) != code.code_challenge:
                return oauth_error("invalid_grant", "invalid code_verifier")
        return self._issue_tokens(channel, code.user_id, code.scope, code.nonce)

    # -- channel access tokens v2.1 (a JWT signed with the channel's assertion key) --------------

    def add_assertion_key(self, *, channel_id: str, public_key: Any) -> str:
        """Register an assertion signing key's public half for a channel, as the console's "Basic
        settings → Assertion Signing Key" does; the ``kid`` LINE would give it."""
        kid = secrets.token_hex(16)
        keys = self.__dict__.setdefault("_assertion_keys", {})
        keys[kid] = (str(channel_id), public_key)
        return kid

    def _channel_token_by_jwt(self, form: dict[str, str]) -> Response:
        if form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return oauth_error("invalid_request", "client_assertion_type is invalid")
        try:
            header_b64, payload_b64, signature_b64 = form.get("client_assertion", "").split(".")
            header = json.loads(_b64url_decode(header_b64))
            payload = json.loads(_b64url_decode(payload_b64))
            signature = _b64url_decode(signature_b64)
        except ValueError:
            return oauth_error("invalid_request", "client_assertion is not a JWT")
        known = self.__dict__.get("_assertion_keys", {}).get(header.get("kid", ""))
        if header.get("alg") != "RS256" or known is None:
            return oauth_error("invalid_client", "unknown kid")
        channel_id, public_key = known
        try:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding

            public_key.verify(
                signature,
                f"{header_b64}.{payload_b64}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return oauth_error("invalid_client", "invalid signature")
        now = time.time()
        token_exp = payload.get("token_exp")
        if (
            payload.get("iss") != channel_id
            or payload.get("sub") != channel_id
            or payload.get("aud") != "https://api.line.me/"
            or not isinstance(payload.get("exp"), int)
            or not now < payload["exp"] <= now + 30 * 60 + 5
            or not isinstance(token_exp, int)
            or not 0 < token_exp <= 30 * 24 * 3600
        ):
            return oauth_error("invalid_request", "invalid JWT claims")
        channel = self.channels.get(channel_id)
        if channel is None:
            return oauth_error("invalid_client", "unknown channel")
        access_token = "v21-" + secrets.token_urlsafe(32)
        with self._lock:
            channel.access_tokens.add(access_token)
        return json_response(
            HTTPStatus.OK,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": token_exp,
                "key_id": secrets.token_urlsafe(16),
            },
        )

    def _refresh(self, channel: FakeChannel, form: dict[str, str]) -> Response:
        access_token = self._refresh_tokens.pop(form.get("refresh_token", ""), None)
        old = self._login_tokens.pop(access_token, None) if access_token else None
        if old is None or old.channel_id != channel.channel_id:
            return oauth_error("invalid_grant", "invalid refresh token")
        response = self._issue_tokens(channel, old.user_id, old.scope, None, with_id_token=False)
        return response

    def _issue_tokens(
        self,
        channel: FakeChannel,
        user_id: str,
        scope: str,
        nonce: str | None,
        *,
        with_id_token: bool = True,
    ) -> Response:
        access_token = secrets.token_urlsafe(32)
        refresh_token = secrets.token_urlsafe(16)
        granted = " ".join(s for s in scope.split() if s != "email")  # LINE leaves email out
        self._login_tokens[access_token] = LoginToken(
            channel.channel_id, user_id, granted, time.time() + ACCESS_TOKEN_TTL, refresh_token
        )
        self._refresh_tokens[refresh_token] = access_token
        payload: dict[str, Any] = {
            "access_token": access_token,
            "expires_in": ACCESS_TOKEN_TTL,
            "refresh_token": refresh_token,
            "scope": granted,
            "token_type": "Bearer",
        }
        if with_id_token and "openid" in scope.split():
            claims = self._id_token_claims(
                channel_id=channel.channel_id,
                user=self.users[user_id],
                scope=scope,
                nonce=nonce,
                issued=int(time.time()),
            )
            payload["id_token"] = encode_id_token(claims, channel.secret)
        return json_response(HTTPStatus.OK, payload)

    def _verify_id_token(self, request: Request) -> Response:
        form = request.form()
        client_id = form.get("client_id", "")
        if not client_id:
            return oauth_error("invalid_request", "client_id is required")
        try:
            header, claims, signing_input, signature = _decode_id_token(form.get("id_token", ""))
        except (ValueError, UnicodeError):
            return oauth_error("invalid_request", "Invalid IdToken.")
        channel = self.channels.get(str(claims.get("aud")))
        if (
            channel is None
            or header.get("alg") != "HS256"
            or not hmac.compare_digest(_sign(channel.secret, signing_input), signature)
        ):
            return oauth_error("invalid_request", "Invalid IdToken.")
        if claims.get("iss") != ISSUER:
            return oauth_error("invalid_request", "Invalid IdToken Issuer.")
        if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
            return oauth_error("invalid_request", "IdToken expired.")
        if str(claims.get("aud")) != client_id:
            return oauth_error("invalid_request", "Invalid IdToken Audience.")
        if form.get("nonce") and claims.get("nonce") != form["nonce"]:
            return oauth_error("invalid_request", "Invalid IdToken Nonce.")
        if form.get("user_id") and claims.get("sub") != form["user_id"]:
            return oauth_error("invalid_request", "Invalid IdToken Subject Identifier.")
        return json_response(HTTPStatus.OK, claims)

    def _live_login_token(self, access_token: str | None) -> LoginToken | None:
        token = self._login_tokens.get(access_token or "")
        return token if token is not None and token.expires_at > time.time() else None

    def _verify_access_token(self, request: Request) -> Response:
        access_token = request.query.get("access_token", "")
        token = self._live_login_token(access_token)
        if token is None:
            known = access_token in self._login_tokens
            return oauth_error(
                "invalid_request", "access token expired" if known else "invalid access token"
            )
        return json_response(
            HTTPStatus.OK,
            {
                "scope": token.scope,
                "client_id": token.channel_id,
                "expires_in": int(token.expires_at - time.time()),
            },
        )

    def _login_profile(self, request: Request) -> Response:
        token = self._live_login_token(request.bearer())
        if token is None:
            return json_response(HTTPStatus.UNAUTHORIZED, {"message": AUTH_FAILED})
        if "profile" not in token.scope.split():
            return json_response(HTTPStatus.FORBIDDEN, {"message": "Not allowed to use this API"})
        return json_response(HTTPStatus.OK, self._profile_json(self.users[token.user_id]))
