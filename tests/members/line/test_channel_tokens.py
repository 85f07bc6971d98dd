"""Channel access tokens v2.1 from the channel's assertion key, issued through line-bot-sdk's
ChannelAccessToken API against the fake LINE platform, kept on the row until near expiry."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone
from linebot.v3.oauth import ApiException

from loyalty.line.assertion import InvalidAssertionKey, assertion_jwt
from loyalty.line.messaging import push_text
from shops.models import ShopLineChannel
from shops.services import line_channel_access_token, line_channel_save
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN, MESSAGING_CHANNEL_ID, SOMCHAI

pytestmark = pytest.mark.django_db


def _b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_key() -> tuple[rsa.RSAPrivateKey, str]:
    """An RSA key and its private JWK, as LINE's docs have you generate one."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    n = key.private_numbers()
    jwk = {
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "n": _b64(n.public_numbers.n),
        "e": _b64(n.public_numbers.e),
        "d": _b64(n.d),
        "p": _b64(n.p),
        "q": _b64(n.q),
        "dp": _b64(n.dmp1),
        "dq": _b64(n.dmq1),
        "qi": _b64(n.iqmp),
    }
    return key, json.dumps(jwk)


@pytest.fixture
def keyed_channel(shop, fake_line):
    key, jwk = new_key()
    kid = fake_line.add_assertion_key(channel_id=MESSAGING_CHANNEL_ID, public_key=key.public_key())
    return ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        assertion_kid=kid,
        assertion_private_key=jwk,
    )


def test_a_v21_token_is_issued_kept_and_accepted_by_the_messaging_api(keyed_channel, fake_line):
    token = line_channel_access_token(channel=keyed_channel)

    assert token.startswith("v21-")
    stored = ShopLineChannel.objects.get(pk=keyed_channel.pk)
    assert stored.issued_access_token == token
    assert stored.issued_access_token_expires_at > timezone.now() + dt.timedelta(hours=23)
    # the same token again, from the row (a fresh instance), without asking LINE
    assert line_channel_access_token(channel=stored) == token
    assert len(fake_line.channels[MESSAGING_CHANNEL_ID].access_tokens) == 2  # fixture's + ours
    # and LINE takes it for a push
    assert push_text(channel_access_token=token, to=SOMCHAI, text="สวัสดีค่ะ").message_ids


def test_a_token_near_its_end_is_renewed(keyed_channel):
    first = line_channel_access_token(channel=keyed_channel)
    ShopLineChannel.objects.filter(pk=keyed_channel.pk).update(
        issued_access_token_expires_at=timezone.now() + dt.timedelta(minutes=5)
    )
    renewed = line_channel_access_token(channel=ShopLineChannel.objects.get(pk=keyed_channel.pk))
    assert renewed != first


def test_a_new_key_drops_the_token_issued_from_the_old_one(keyed_channel, fake_line):
    line_channel_access_token(channel=keyed_channel)
    key, jwk = new_key()
    channel = ShopLineChannel.objects.get(pk=keyed_channel.pk)
    channel.assertion_kid = fake_line.add_assertion_key(
        channel_id=MESSAGING_CHANNEL_ID, public_key=key.public_key()
    )
    channel.assertion_private_key = jwk
    line_channel_save(channel=channel)
    assert ShopLineChannel.objects.get(pk=channel.pk).issued_access_token == ""


def test_a_key_line_does_not_know_is_refused_by_line(shop, fake_line):
    _key, jwk = new_key()
    channel = ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        assertion_kid="not-registered",
        assertion_private_key=jwk,
    )
    with pytest.raises(ApiException) as refused:
        line_channel_access_token(channel=channel)
    assert refused.value.status == 400


def test_a_jwt_signed_with_another_key_is_refused(shop, fake_line):
    registered, _ = new_key()
    _other, other_jwk = new_key()
    kid = fake_line.add_assertion_key(
        channel_id=MESSAGING_CHANNEL_ID, public_key=registered.public_key()
    )
    channel = ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        assertion_kid=kid,
        assertion_private_key=other_jwk,
    )
    with pytest.raises(ApiException):
        line_channel_access_token(channel=channel)


def test_without_an_assertion_key_the_long_lived_token_is_used(shop):
    channel = ShopLineChannel.objects.create(
        shop=shop, messaging_access_token=MESSAGING_ACCESS_TOKEN
    )
    assert line_channel_access_token(channel=channel) == MESSAGING_ACCESS_TOKEN


def test_the_jwt_has_lines_claims():
    _key, jwk = new_key()
    header_b64, payload_b64, _sig = assertion_jwt(
        channel_id="1650000002", kid="kid-1", private_jwk=jwk, now=1_800_000_000
    ).split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    header = json.loads(base64.urlsafe_b64decode(pad(header_b64)))
    payload = json.loads(base64.urlsafe_b64decode(pad(payload_b64)))
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
    assert payload["iss"] == payload["sub"] == "1650000002"
    assert payload["aud"] == "https://api.line.me/"
    assert payload["exp"] - 1_800_000_000 <= 30 * 60
    assert 0 < payload["token_exp"] <= 30 * 24 * 3600


def test_a_key_that_is_not_an_rsa_jwk_is_refused():
    for bad in ("not json", '{"kty": "EC"}', '{"kty": "RSA", "n": "AQAB"}'):
        with pytest.raises(InvalidAssertionKey):
            assertion_jwt(channel_id="1", kid="k", private_jwk=bad)
