"""LINE Login through ``loyalty.line.login`` against the fake LINE platform.

The browser part (the authorize page) is driven with ``requests``, following the redirect by
hand as a browser would, so the code, token and verify calls are the product's real ones.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from django.core.exceptions import ImproperlyConfigured

from loyalty.line import LineAuthError, LineUnavailable
from loyalty.line import login as line_login
from loyalty.line.fake import FakeLineServer
from tests.line_fixtures import LOGIN_CHANNEL_ID, LOGIN_CHANNEL_SECRET, NOK, PLOY, SOMCHAI

REDIRECT_URI = "http://127.0.0.1:8000/member/line/callback"
OTHER_CHANNEL_ID = "1650000099"
OTHER_CHANNEL_SECRET = "other-channel-secret-0123456789abcd"


def _open_login_page(url: str) -> tuple[str, str]:
    """GET the authorize page; return its HTML and the form's login id."""
    response = requests.get(url, allow_redirects=False, timeout=5)
    assert response.status_code == 200, response.text
    login_id = re.search(r'name="login_id" value="([^"]+)"', response.text)
    assert login_id, response.text
    return response.text, login_id.group(1)


def _submit(fake_line: FakeLineServer, **form: str) -> dict[str, str]:
    """POST the page's form as the browser would; return the callback's query parameters."""
    response = requests.post(
        f"{fake_line.base_url}/__fake__/login", data=form, allow_redirects=False, timeout=5
    )
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def _sign_in(
    fake_line: FakeLineServer,
    *,
    user_id: str = SOMCHAI,
    channel_id: str = LOGIN_CHANNEL_ID,
    nonce: str = "nonce-1",
    code_challenge: str | None = None,
) -> str:
    """Sign a test user in through the page and return the authorization code."""
    url = line_login.authorize_url(
        channel_id=channel_id,
        redirect_uri=REDIRECT_URI,
        state="state-1",
        nonce=nonce,
        code_challenge=code_challenge,
    )
    _html, login_id = _open_login_page(url)
    callback = _submit(fake_line, login_id=login_id, user_id=user_id)
    assert callback["state"] == "state-1"
    return callback["code"]


def _exchange(code: str, **overrides: str) -> line_login.TokenResult:
    arguments = {
        "channel_id": LOGIN_CHANNEL_ID,
        "channel_secret": LOGIN_CHANNEL_SECRET,
        "code": code,
        "redirect_uri": REDIRECT_URI,
    }
    arguments.update(overrides)
    return line_login.exchange_code(**arguments)


def test_authorize_url_points_at_line_access_base_url(settings):
    settings.LINE_ACCESS_BASE_URL = "https://access.line.me"

    url = line_login.authorize_url(
        channel_id="123", redirect_uri=REDIRECT_URI, state="s", nonce="n"
    )

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://access.line.me/oauth2/v2.1/authorize"
    )
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["123"]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["scope"] == ["profile openid"]
    assert query["state"] == ["s"]
    assert query["nonce"] == ["n"]


def test_login_round_trip_from_authorize_page_to_verified_id_token(fake_line):
    # given the authorize page, as the browser sees it
    url = line_login.authorize_url(
        channel_id=LOGIN_CHANNEL_ID, redirect_uri=REDIRECT_URI, state="state-1", nonce="nonce-1"
    )
    page, login_id = _open_login_page(url)
    assert "เลือกบัญชี LINE ทดสอบ" in page
    assert "Choose a test LINE account" in page
    assert "สมชาย ใจดี" in page and f'data-user-id="{SOMCHAI}"' in page

    # when the member picks a test account, and the callback exchanges and verifies
    callback = _submit(fake_line, login_id=login_id, user_id=SOMCHAI)
    assert callback["state"] == "state-1"
    tokens = _exchange(callback["code"])
    claims = line_login.verify_id_token(
        id_token=tokens.id_token, channel_id=LOGIN_CHANNEL_ID, nonce="nonce-1"
    )

    # then LINE vouches for exactly that account, for our channel
    assert tokens.token_type == "Bearer"
    assert tokens.expires_in == 30 * 24 * 3600
    assert tokens.refresh_token
    assert claims.sub == claims.user_id == SOMCHAI
    assert claims.aud == LOGIN_CHANNEL_ID
    assert claims.iss == "https://access.line.me"
    assert claims.nonce == "nonce-1"
    assert claims.name == "สมชาย ใจดี"
    assert claims.picture and claims.picture.startswith(fake_line.base_url)
    assert claims.exp > claims.iat


def test_access_token_from_login_gives_the_profile_and_verifies_for_our_channel(fake_line):
    tokens = _exchange(_sign_in(fake_line, user_id=NOK))

    profile = line_login.get_profile(tokens.access_token)
    info = line_login.verify_access_token(
        access_token=tokens.access_token, channel_id=LOGIN_CHANNEL_ID
    )

    assert profile.user_id == NOK
    assert profile.display_name == "Nok"
    assert info.client_id == LOGIN_CHANNEL_ID
    assert 0 < info.expires_in <= 30 * 24 * 3600
    assert "profile" in info.scope.split()


def test_access_token_of_another_channel_is_refused(fake_line):
    fake_line.add_channel(channel_id=OTHER_CHANNEL_ID, channel_secret=OTHER_CHANNEL_SECRET)
    code = _sign_in(fake_line, channel_id=OTHER_CHANNEL_ID)
    tokens = line_login.exchange_code(
        channel_id=OTHER_CHANNEL_ID,
        channel_secret=OTHER_CHANNEL_SECRET,
        code=code,
        redirect_uri=REDIRECT_URI,
    )

    with pytest.raises(LineAuthError):
        line_login.verify_access_token(
            access_token=tokens.access_token, channel_id=LOGIN_CHANNEL_ID
        )


def test_unknown_access_token_is_refused_for_profile_and_verify(fake_line):
    with pytest.raises(LineAuthError) as profile_error:
        line_login.get_profile("not-a-token")
    with pytest.raises(LineAuthError) as verify_error:
        line_login.verify_access_token(access_token="not-a-token", channel_id=LOGIN_CHANNEL_ID)

    assert profile_error.value.status == 401
    assert verify_error.value.status == 400


def test_authorize_page_can_create_a_new_test_user(fake_line):
    url = line_login.authorize_url(
        channel_id=LOGIN_CHANNEL_ID, redirect_uri=REDIRECT_URI, state="state-1", nonce="n"
    )
    _page, login_id = _open_login_page(url)

    callback = _submit(fake_line, login_id=login_id, display_name="มะลิ")
    claims = line_login.verify_id_token(
        id_token=_exchange(callback["code"]).id_token, channel_id=LOGIN_CHANNEL_ID
    )

    assert claims.name == "มะลิ"
    assert re.fullmatch(r"U[0-9a-f]{32}", claims.sub)
    assert fake_line.users[claims.sub].display_name == "มะลิ"


def test_auto_user_skips_the_authorize_page(fake_line):
    url = line_login.authorize_url(
        channel_id=LOGIN_CHANNEL_ID, redirect_uri=REDIRECT_URI, state="st", nonce="n"
    )

    response = requests.get(f"{url}&auto_user={NOK}", allow_redirects=False, timeout=5)

    assert response.status_code == 302
    callback = parse_qs(urlsplit(response.headers["Location"]).query)
    assert callback["state"] == ["st"]
    claims = line_login.verify_id_token(
        id_token=_exchange(callback["code"][0]).id_token, channel_id=LOGIN_CHANNEL_ID
    )
    assert claims.sub == NOK


def test_cancel_on_the_authorize_page_returns_access_denied(fake_line):
    url = line_login.authorize_url(
        channel_id=LOGIN_CHANNEL_ID, redirect_uri=REDIRECT_URI, state="st", nonce="n"
    )
    _page, login_id = _open_login_page(url)

    callback = _submit(fake_line, login_id=login_id, cancel="1")

    assert callback["error"] == "access_denied"
    assert callback["state"] == "st"
    assert "code" not in callback


def test_authorize_page_refuses_an_unknown_channel_without_redirecting(fake_line):
    url = line_login.authorize_url(
        channel_id="999", redirect_uri=REDIRECT_URI, state="st", nonce="n"
    )

    response = requests.get(url, allow_redirects=False, timeout=5)

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_authorization_code_is_single_use(fake_line):
    code = _sign_in(fake_line)
    _exchange(code)

    with pytest.raises(LineAuthError) as error:
        _exchange(code)

    assert error.value.line_error == "invalid_grant"


def test_code_exchange_refuses_a_wrong_secret_or_redirect_uri(fake_line):
    with pytest.raises(LineAuthError) as wrong_secret:
        _exchange(_sign_in(fake_line), channel_secret="not-the-secret")
    with pytest.raises(LineAuthError) as wrong_redirect:
        _exchange(_sign_in(fake_line), redirect_uri="http://127.0.0.1:8000/elsewhere")

    assert wrong_secret.value.line_error == "invalid_client"
    assert wrong_redirect.value.line_error == "invalid_grant"


def test_authorization_code_expires_after_ten_minutes(fake_line):
    code = _sign_in(fake_line)

    eleven_minutes_later = dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=11)
    with time_machine.travel(eleven_minutes_later), pytest.raises(LineAuthError) as error:
        _exchange(code)

    assert error.value.line_error == "invalid_grant"


def test_pkce_code_needs_its_verifier(fake_line):
    verifier, challenge = line_login.pkce_pair()

    with pytest.raises(LineAuthError):
        _exchange(_sign_in(fake_line, code_challenge=challenge), code_verifier="wrong" * 10)
    tokens = _exchange(_sign_in(fake_line, code_challenge=challenge), code_verifier=verifier)

    assert tokens.id_token


@pytest.mark.parametrize(
    ("mint", "line_says"),
    [
        pytest.param({"secret": "forged-secret"}, "Invalid IdToken.", id="forged"),
        pytest.param({"expired": True}, "IdToken expired.", id="expired"),
        pytest.param({"channel_id": OTHER_CHANNEL_ID}, "Invalid IdToken Audience.", id="other"),
        pytest.param({"nonce": "someone-elses"}, "Invalid IdToken Nonce.", id="nonce"),
    ],
)
def test_bad_id_tokens_are_refused(fake_line, mint, line_says):
    # given an ID token as a LIFF page would post it, gone wrong in one way
    fake_line.add_channel(channel_id=OTHER_CHANNEL_ID, channel_secret=OTHER_CHANNEL_SECRET)
    token = fake_line.mint_id_token(
        **{"channel_id": LOGIN_CHANNEL_ID, "user_id": SOMCHAI, "nonce": "ours", **mint}
    )

    # when / then
    with pytest.raises(LineAuthError) as error:
        line_login.verify_id_token(id_token=token, channel_id=LOGIN_CHANNEL_ID, nonce="ours")

    assert error.value.line_error == "invalid_request"
    assert error.value.line_error_description == line_says
    assert str(error.value.message)  # a translated sentence for the member


def test_good_id_token_from_the_control_endpoint_verifies(fake_line):
    # given a token minted over HTTP, as a browser test would get one for its LIFF page
    response = requests.post(
        f"{fake_line.base_url}/__fake__/id_token",
        json={"channel_id": LOGIN_CHANNEL_ID, "user_id": PLOY, "nonce": "n-9"},
        timeout=5,
    )
    expired = requests.post(
        f"{fake_line.base_url}/__fake__/id_token",
        data={"channel_id": LOGIN_CHANNEL_ID, "user_id": PLOY, "expired": "true"},
        timeout=5,
    )

    claims = line_login.verify_id_token(
        id_token=response.json()["id_token"], channel_id=LOGIN_CHANNEL_ID, nonce="n-9"
    )
    assert claims.sub == PLOY
    assert claims.name == "Ploy"
    with pytest.raises(LineAuthError):
        line_login.verify_id_token(id_token=expired.json()["id_token"], channel_id=LOGIN_CHANNEL_ID)


def test_garbage_id_token_is_refused(fake_line):
    with pytest.raises(LineAuthError) as error:
        line_login.verify_id_token(id_token="not.a.jwt", channel_id=LOGIN_CHANNEL_ID)

    assert error.value.line_error_description == "Invalid IdToken."


def test_unreachable_line_is_line_unavailable(unreachable_line):
    with pytest.raises(LineUnavailable):
        line_login.verify_id_token(id_token="x.y.z", channel_id=LOGIN_CHANNEL_ID)


def test_fake_server_refuses_to_start_outside_debug_and_testing(settings):
    settings.DEBUG = False
    settings.TESTING = False

    with pytest.raises(ImproperlyConfigured):
        FakeLineServer().start()


def test_fake_server_refuses_to_bind_beyond_loopback(settings):
    settings.TESTING = True

    with pytest.raises(ImproperlyConfigured):
        FakeLineServer(host="0.0.0.0").start()  # noqa: S104 (the point of the test)
