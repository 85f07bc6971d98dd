"""Who is looking at the member pages: a LINE user, verified by LINE, signed in to one shop.

A member signs in with LINE (LINE Login in a browser, LIFF inside the LINE app); either way the
page ends by handing the server something only LINE can vouch for (an authorization code or an ID
token), and the server asks LINE (``loyalty.line.login``). A user id sent by a page is never
trusted.

Sessions are per shop: the session holds one entry per shop slug (``member:<slug>``) with that
shop's id and the verified LINE user id. Signing in to shop A says nothing about shop B, signing
out of A leaves B alone, and every lookup filters on the shop of the URL *and* the shop id stored
at sign-in, so one shop's session never reads another shop's member.

For other apps (rewards, the staff app's points QR page):

- ``current_member(request, shop) -> Member | None``
- ``@member_required`` on a view of ``/m/<shop_slug>/...``: sets ``request.member`` and
  ``request.shop`` (the member's shop), or sends the visitor to sign in or to sign up.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from loyalty.i18n import activate_page_language
from loyalty.line import LineAuthError
from loyalty.line import login as line_login
from loyalty.links import absolute_url
from members.models import Member
from shops.models import Shop, ShopLineChannel

SESSION_PREFIX = "member:"
LOGIN_PREFIX = "member-login:"
LOGIN_TTL = 10 * 60  # seconds a started LINE Login may take (LINE's codes live 10 minutes)


@dataclass(frozen=True)
class LineIdentity:
    """A LINE user as LINE vouched for them at sign-in, for one shop."""

    shop_id: int
    line_user_id: str
    display_name: str = ""
    picture_url: str = ""
    signed_in_at: float = 0.0


# --- the session ----------------------------------------------------------------------------------


def _session_key(slug: str) -> str:
    return f"{SESSION_PREFIX}{slug}"


def line_identity(request: HttpRequest, shop_slug: str) -> LineIdentity | None:
    """The LINE user signed in to the shop with this slug in this browser, or None."""
    entry = request.session.get(_session_key(shop_slug))
    if not isinstance(entry, dict):
        return None
    try:
        return LineIdentity(
            shop_id=int(entry["shop"]),
            line_user_id=str(entry["line"]),
            display_name=str(entry.get("name", "")),
            picture_url=str(entry.get("picture", "")),
            signed_in_at=float(entry.get("at", 0)),
        )
    except (KeyError, TypeError, ValueError):
        return None


def sign_in(request: HttpRequest, *, shop: Shop, claims: line_login.IdTokenClaims) -> LineIdentity:
    """Remember, for this shop only, the LINE user that LINE vouched for in ``claims``.

    The session key is rotated (no session fixation); other shops' entries and a staff sign-in in
    the same browser are kept.
    """
    request.session.cycle_key()
    entry = {
        "shop": shop.pk,
        "line": claims.sub,
        "name": (claims.name or "")[:100],
        "picture": (claims.picture or "")[:500],
        "at": time.time(),
    }
    request.session[_session_key(shop.slug)] = entry
    return line_identity(request, shop.slug)


def sign_out(request: HttpRequest, shop: Shop) -> None:
    """Sign the member out of this shop only."""
    request.session.pop(_session_key(shop.slug), None)
    request.session.pop(f"{LOGIN_PREFIX}{shop.slug}", None)


def _members_of(identity: LineIdentity, shop_slug: str) -> QuerySet[Member]:
    return Member.objects.filter(
        shop_id=identity.shop_id,
        shop__slug=shop_slug,
        shop__is_active=True,
        line_user_id=identity.line_user_id,
    )


def current_member(request: HttpRequest, shop: Shop) -> Member | None:
    """The registered member of ``shop`` signed in to this browser, or None (one query)."""
    identity = line_identity(request, shop.slug)
    if identity is None or identity.shop_id != shop.pk:
        return None
    return (
        _members_of(identity, shop.slug)
        .filter(status=Member.Status.REGISTERED)
        .select_related("shop", "tier")
        .first()
    )


# --- guarding views -------------------------------------------------------------------------------


def member_shop(shop_slug: str, request: HttpRequest | None = None) -> Shop:
    """The active shop of a member page's URL, or 404. With ``request``, the page speaks the
    shop's language from here on (unless the person chose another with the switch)."""
    shop = get_object_or_404(Shop, slug=shop_slug, is_active=True)
    if request is not None:
        activate_page_language(request, shop.language)
    return shop


def safe_next(request: HttpRequest, shop_slug: str, candidate: str | None) -> str | None:
    """``candidate`` when it is a path of this shop's member pages on this host, else None."""
    if not candidate:
        return None
    prefix = reverse("member:home", kwargs={"shop_slug": shop_slug})
    if not candidate.startswith(prefix) or candidate.startswith("//"):
        return None
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    return candidate


def login_url(shop_slug: str, next_path: str | None = None, **params: str) -> str:
    """The member sign-in page of a shop, coming back to ``next_path`` afterwards."""
    url = reverse("member:login", kwargs={"shop_slug": shop_slug})
    query = {"next": next_path} if next_path else {}
    query.update(params)
    return f"{url}?{urlencode(query)}" if query else url


def _not_a_member_response(request: HttpRequest, shop_slug: str, identity: LineIdentity):
    """Signed in with LINE but no registered member: blocked → say so; else → sign-up."""
    other = _members_of(identity, shop_slug).exclude(status=Member.Status.PENDING).first()
    if other is not None and other.status == Member.Status.BLOCKED:
        return render(
            request,
            "members/pages/blocked.html",
            {"shop": other.shop},
            status=403,
        )
    return HttpResponseRedirect(reverse("member:signup", kwargs={"shop_slug": shop_slug}))


def member_required(
    view: Callable | None = None,
    *,
    queryset: Callable[[QuerySet[Member]], QuerySet[Member]] | None = None,
):
    """Decorate a view of ``/m/<shop_slug>/...`` that needs a registered member.

    Sets ``request.member`` (with ``shop`` and ``tier`` loaded) and ``request.shop`` in one query.
    Not signed in → the LINE sign-in, then back here; signed in but not a member → sign-up;
    blocked → a page that says so. ``queryset`` may add annotations or ``select_related`` to the
    member query (the card adds its seasonal background there).
    """

    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, shop_slug: str, *args: Any, **kwargs: Any):
            identity = line_identity(request, shop_slug)
            if identity is None:
                member_shop(shop_slug, request)  # 404 for an unknown shop, not a sign-in page
                return HttpResponseRedirect(login_url(shop_slug, request.get_full_path()))
            members = _members_of(identity, shop_slug).filter(status=Member.Status.REGISTERED)
            members = members.select_related("shop", "tier")
            if queryset is not None:
                members = queryset(members)
            member = members.first()
            if member is None:
                member_shop(shop_slug, request)
                return _not_a_member_response(request, shop_slug, identity)
            request.member = member
            request.shop = member.shop
            activate_page_language(request, member.shop.language)
            return func(request, shop_slug, *args, **kwargs)

        return wrapper

    if view is not None:
        return decorator(view)
    return decorator


def line_identity_required(func: Callable) -> Callable:
    """Decorate a view that needs a LINE sign-in but not a member (sign-up). Sets
    ``request.shop`` and ``request.line_identity``."""

    @functools.wraps(func)
    def wrapper(request: HttpRequest, shop_slug: str, *args: Any, **kwargs: Any):
        shop = member_shop(shop_slug, request)
        identity = line_identity(request, shop_slug)
        if identity is None or identity.shop_id != shop.pk:
            return HttpResponseRedirect(login_url(shop_slug, request.get_full_path()))
        request.shop = shop
        request.line_identity = identity
        return func(request, shop_slug, *args, **kwargs)

    return wrapper


# --- LINE Login (browser) and LIFF (inside LINE) --------------------------------------------------


def line_channel(shop: Shop) -> ShopLineChannel | None:
    """The shop's LINE settings when members can sign in with them, else None."""
    channel = ShopLineChannel.objects.filter(shop=shop).first()
    return channel if channel is not None and channel.login_ready else None


def callback_url(request: HttpRequest, shop: Shop) -> str:
    """The LINE Login callback URL of this shop (registered in the LINE Developers console)."""
    return absolute_url(request, reverse("member:callback", kwargs={"shop_slug": shop.slug}))


def line_login_start(
    request: HttpRequest, *, shop: Shop, channel: ShopLineChannel, next_path: str | None
) -> str:
    """Begin LINE Login: remember a fresh state, nonce and PKCE verifier in the session and
    return the LINE page to send the browser to."""
    state, nonce = line_login.new_state(), line_login.new_state()
    verifier, challenge = line_login.pkce_pair()
    request.session[f"{LOGIN_PREFIX}{shop.slug}"] = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": next_path or "",
        "at": time.time(),
    }
    return line_login.authorize_url(
        channel_id=channel.login_channel_id,
        redirect_uri=callback_url(request, shop),
        state=state,
        nonce=nonce,
        code_challenge=challenge,
    )


class LoginExpired(LineAuthError):
    code = "login_expired"
    default_message = _lazy("This sign-in has expired. Please sign in with LINE again.")


def line_login_finish(
    request: HttpRequest, *, shop: Shop, channel: ShopLineChannel, code: str, state: str
) -> tuple[LineIdentity, str | None]:
    """Finish LINE Login: check ``state`` against this browser's pending sign-in (once), trade
    the code for tokens, have LINE verify the ID token (channel and nonce), and sign in.

    Returns the identity and the page to go back to. Raises ``LineAuthError`` (or
    ``LineUnavailable``) with a message for the member.
    """
    pending = request.session.pop(f"{LOGIN_PREFIX}{shop.slug}", None)
    if (
        not isinstance(pending, dict)
        or not state
        or pending.get("state") != state
        or time.time() - float(pending.get("at", 0)) > LOGIN_TTL
    ):
        raise LoginExpired(_("This sign-in has expired. Please sign in with LINE again."))
    tokens = line_login.exchange_code(
        channel_id=channel.login_channel_id,
        channel_secret=channel.login_channel_secret,
        code=code,
        redirect_uri=callback_url(request, shop),
        code_verifier=pending.get("verifier"),
    )
    if not tokens.id_token:
        raise LineAuthError(line_error="no_id_token")
    claims = line_login.verify_id_token(
        id_token=tokens.id_token, channel_id=channel.login_channel_id, nonce=pending["nonce"]
    )
    return sign_in(request, shop=shop, claims=claims), pending.get("next") or None


def liff_login(
    request: HttpRequest, *, shop: Shop, channel: ShopLineChannel, id_token: str
) -> LineIdentity:
    """Sign in with the ID token the LIFF SDK handed the page (``liff.getIDToken()``), after LINE
    verified it for this shop's LINE Login channel."""
    if not id_token or len(id_token) > 4096:
        raise LineAuthError()
    claims = line_login.verify_id_token(id_token=id_token, channel_id=channel.login_channel_id)
    return sign_in(request, shop=shop, claims=claims)


def in_line_app(request: HttpRequest) -> bool:
    """Whether the page is open in the LINE app's browser (where LIFF can sign in silently)."""
    agent = request.headers.get("User-Agent", "")
    return " Line/" in agent or agent.startswith("Line/")


__all__ = [
    "LineIdentity",
    "current_member",
    "line_identity",
    "line_identity_required",
    "member_required",
    "sign_in",
    "sign_out",
]
