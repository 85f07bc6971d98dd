"""Who is signed in to the member pages: only what LINE vouches for, and per shop."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from members.member_auth import current_member, line_identity
from members.models import Member
from tests.factories import MemberFactory
from tests.line_fixtures import LOGIN_CHANNEL_ID, NOK, SOMCHAI
from tests.members.pages.conftest import (
    OTHER_LOGIN_CHANNEL_ID,
    liff_sign_in,
    line_login_round_trip,
    register,
)

# These tests read the English messages; Thai (the default) has its own tests.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _liff_post(client, shop, token):
    return client.post(reverse("member:liff", kwargs={"shop_slug": shop.slug}), {"id_token": token})


def _card(shop):
    return reverse("member:card", kwargs={"shop_slug": shop.slug})


# --- LIFF: the ID token a page posts ---------------------------------------------------------------


def test_liff_id_token_verified_by_line_signs_the_line_user_in(client, fake_line, line_shop):
    response = liff_sign_in(client, fake_line, line_shop, SOMCHAI)

    assert response.json()["next"] == reverse("member:signup", kwargs={"shop_slug": "cafe"})
    identity = line_identity(response.wsgi_request, "cafe")
    assert identity.line_user_id == SOMCHAI
    assert identity.display_name == "สมชาย ใจดี"
    verify_calls = [r for r in fake_line.requests if r["path"] == "/oauth2/v2.1/verify"]
    assert len(verify_calls) == 1


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param({"secret": "not-the-channel-secret-0123456789ab"}, id="forged"),
        pytest.param({"expired": True}, id="expired"),
        pytest.param({"channel_id": OTHER_LOGIN_CHANNEL_ID}, id="other-channel"),
    ],
)
def test_forged_expired_or_other_channel_id_token_is_refused(
    client, fake_line, line_shop, other_line_shop, forge
):
    channel_id = forge.pop("channel_id", LOGIN_CHANNEL_ID)
    token = fake_line.mint_id_token(channel_id=channel_id, user_id=SOMCHAI, **forge)

    response = _liff_post(client, line_shop, token)

    assert response.status_code == 401
    assert response.json()["code"].startswith("line_auth")
    assert line_identity(response.wsgi_request, "cafe") is None
    assert client.get(_card(line_shop)).status_code == 302  # still signed out


def test_a_user_id_posted_by_the_page_is_never_trusted(client, fake_line, line_shop):
    response = client.post(
        reverse("member:liff", kwargs={"shop_slug": "cafe"}),
        {"user_id": SOMCHAI, "sub": SOMCHAI, "id_token": ""},
    )

    assert response.status_code == 401
    assert line_identity(response.wsgi_request, "cafe") is None


def test_line_being_down_is_a_try_again_message_not_a_sign_in(
    client, fake_line, line_shop, unreachable_line
):
    response = _liff_post(client, line_shop, "eyJ.anything.x")

    assert response.status_code == 401
    assert response.json()["code"] == "line_unavailable"
    assert "try again" in response.json()["error"].lower() or response.json()["error"]


# --- LINE Login round trip -------------------------------------------------------------------------


def test_line_login_round_trip_through_the_fake_line_platform(client, fake_line, line_shop):
    response = line_login_round_trip(client, fake_line, line_shop, NOK)

    assert response.status_code == 302
    assert response["Location"] == reverse("member:signup", kwargs={"shop_slug": "cafe"})
    assert line_identity(response.wsgi_request, "cafe").line_user_id == NOK
    paths = [r["path"] for r in fake_line.requests]
    assert "/oauth2/v2.1/token" in paths and "/oauth2/v2.1/verify" in paths
    # PKCE and nonce were used: the token call carried the verifier, the verify call the nonce.
    token_call = next(r for r in fake_line.requests if r["path"] == "/oauth2/v2.1/token")
    verify_call = next(r for r in fake_line.requests if r["path"] == "/oauth2/v2.1/verify")
    assert "code_verifier=" in token_call["body"]
    assert "nonce=" in verify_call["body"]


def test_a_registered_member_goes_back_to_the_page_they_asked_for(client, fake_line, line_shop):
    register(client, fake_line, line_shop, SOMCHAI)
    client.post(reverse("member:logout", kwargs={"shop_slug": "cafe"}))
    history = reverse("member:history", kwargs={"shop_slug": "cafe"})

    first = client.get(history)
    assert first.status_code == 302 and first["Location"].startswith("/m/cafe/login/?next=")
    start = client.get(first["Location"] + "&start=1")
    authorize = requests.get(
        start["Location"] + f"&auto_user={SOMCHAI}", allow_redirects=False, timeout=5
    )
    location = authorize.headers["Location"]
    back = client.get(location[location.index("/m/cafe/") :])

    assert back.status_code == 302
    assert back["Location"] == history


def test_callback_with_a_state_this_browser_did_not_start_is_refused(client, fake_line, line_shop):
    response = client.get(
        reverse("member:callback", kwargs={"shop_slug": "cafe"}),
        {"code": "stolen-code", "state": "someone-elses-state"},
    )

    assert response.status_code == 400
    assert "expired" in response.content.decode().lower() or response.context["problem"]
    assert line_identity(response.wsgi_request, "cafe") is None
    assert not [r for r in fake_line.requests if r["path"] == "/oauth2/v2.1/token"]


def test_cancelling_on_the_line_page_shows_a_friendly_retry(client, fake_line, line_shop):
    client.get(reverse("member:login", kwargs={"shop_slug": "cafe"}), {"start": "1"})
    state = client.session["member-login:cafe"]["state"]

    response = client.get(
        reverse("member:callback", kwargs={"shop_slug": "cafe"}),
        {"error": "access_denied", "state": state},
    )

    assert response.status_code == 200
    assert response.context["problem"]
    assert b'data-testid="line-login"' in response.content


def test_next_outside_the_shop_pages_is_ignored(client, fake_line, line_shop):
    register(client, fake_line, line_shop, SOMCHAI)
    client.post(reverse("member:logout", kwargs={"shop_slug": "cafe"}))
    start = client.get(
        reverse("member:login", kwargs={"shop_slug": "cafe"}),
        {"start": "1", "next": "https://evil.example/phish"},
    )
    authorize = requests.get(
        start["Location"] + f"&auto_user={SOMCHAI}", allow_redirects=False, timeout=5
    )
    location = authorize.headers["Location"]
    back = client.get(location[location.index("/m/cafe/") :])

    assert back["Location"] == _card(line_shop)


def test_shop_without_line_settings_says_so(client, db, shop):
    response = client.get(reverse("member:login", kwargs={"shop_slug": shop.slug}))

    assert response.status_code == 503
    assert b"LINE" in response.content


def test_unknown_shop_is_404(client, db):
    assert client.get("/m/no-such-shop/card/").status_code == 404
    assert client.get("/m/no-such-shop/login/").status_code == 404


def test_inside_the_line_app_with_a_liff_id_the_page_uses_liff(client, fake_line, line_shop):
    line_shop.line_channel.liff_id = f"{LOGIN_CHANNEL_ID}-AbCdEfGh"
    line_shop.line_channel.save()

    response = client.get(
        reverse("member:login", kwargs={"shop_slug": "cafe"}),
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36 Line/14.1.0",
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "static.line-scdn.net/liff" in html
    assert f'data-liff-id="{LOGIN_CHANNEL_ID}-AbCdEfGh"' in html


def test_an_ordinary_browser_never_loads_the_liff_sdk(client, fake_line, line_shop):
    line_shop.line_channel.liff_id = f"{LOGIN_CHANNEL_ID}-AbCdEfGh"
    line_shop.line_channel.save()

    response = client.get(reverse("member:login", kwargs={"shop_slug": "cafe"}))

    assert "liff" not in response.content.decode().lower().replace("/login/liff/", "")


# --- sessions are per shop -------------------------------------------------------------------------


def test_signed_in_to_shop_a_is_not_signed_in_to_shop_b(
    client, fake_line, line_shop, other_line_shop
):
    register(client, fake_line, line_shop, SOMCHAI)
    # Somchai is also a member of shop B (same LINE user), registered elsewhere.
    MemberFactory(shop=other_line_shop, line_user_id=SOMCHAI, first_name="SHOP-B-SECRET")

    response = client.get(_card(other_line_shop))

    assert response.status_code == 302
    assert response["Location"].startswith("/m/shop-b/login/")
    assert client.get(_card(line_shop)).status_code == 200


def test_signing_out_of_one_shop_keeps_the_other(client, fake_line, line_shop, other_line_shop):
    register(client, fake_line, line_shop, SOMCHAI)
    liff_sign_in(client, fake_line, other_line_shop, SOMCHAI)
    MemberFactory(shop=other_line_shop, line_user_id=SOMCHAI)

    client.post(reverse("member:logout", kwargs={"shop_slug": "shop-b"}))

    assert client.get(_card(other_line_shop)).status_code == 302
    assert client.get(_card(line_shop)).status_code == 200


def test_a_session_entry_copied_to_another_shops_slug_reads_nothing(
    client, fake_line, line_shop, other_line_shop
):
    """Even a session that claims shop B's slug with shop A's sign-in finds no member of B."""
    register(client, fake_line, line_shop, SOMCHAI)
    MemberFactory(shop=other_line_shop, line_user_id=SOMCHAI)
    session = client.session
    session["member:shop-b"] = dict(session["member:cafe"])  # shop id of A under B's key
    session.save()

    response = client.get(_card(other_line_shop))

    assert response.status_code == 302
    assert b"SHOP-B-SECRET" not in response.content
    request = client.get(_card(line_shop)).wsgi_request
    assert current_member(request, other_line_shop) is None


def test_a_blocked_member_is_told_so(client, fake_line, line_shop):
    member = register(client, fake_line, line_shop, SOMCHAI)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.BLOCKED)

    response = client.get(_card(line_shop))

    assert response.status_code == 403
    assert b"hold" in response.content


def test_sign_in_rotates_the_session_key(client, fake_line, line_shop):
    client.get(reverse("member:login", kwargs={"shop_slug": "cafe"}))
    client.session.save()
    before = client.cookies["sessionid"].value

    liff_sign_in(client, fake_line, line_shop, SOMCHAI)

    assert client.cookies["sessionid"].value != before
