"""Secrets at rest: the column holds a Fernet token, Python sees the secret, a wrong key refuses."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from loyalty import crypto
from shops.models import ShopLineChannel

pytestmark = pytest.mark.django_db

SECRETS = (
    "login_channel_secret",
    "messaging_channel_secret",
    "messaging_access_token",
    "assertion_private_key",
)


def raw_columns(pk: int) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(SECRETS)} FROM shops_shoplinechannel WHERE id = %s",  # noqa: S608
            [pk],
        )
        return dict(zip(SECRETS, cursor.fetchone(), strict=True))


def test_secrets_are_stored_encrypted_and_read_back_in_plain(shop):
    channel = ShopLineChannel.objects.create(
        shop=shop,
        login_channel_id="1650000001",
        login_channel_secret="login-secret-123",
        messaging_channel_id="1650000002",
        messaging_channel_secret="messaging-secret-456",
        messaging_access_token="token-789",
        assertion_kid="kid-1",
        assertion_private_key='{"kty":"RSA","d":"private"}',
    )
    stored = raw_columns(channel.pk)
    for name in SECRETS:
        assert stored[name].startswith(crypto.TOKEN_PREFIX), name
        assert getattr(channel, name) not in stored[name]
    fresh = ShopLineChannel.objects.get(pk=channel.pk)
    assert fresh.messaging_channel_secret == "messaging-secret-456"
    assert fresh.assertion_private_key == '{"kty":"RSA","d":"private"}'
    assert list(ShopLineChannel.objects.values_list("messaging_access_token", flat=True)) == [
        "token-789"
    ]


def test_an_empty_secret_stays_empty(shop):
    channel = ShopLineChannel.objects.create(shop=shop)
    assert raw_columns(channel.pk) == dict.fromkeys(SECRETS, "")
    assert ShopLineChannel.objects.filter(messaging_channel_secret="").count() == 1


def test_the_same_secret_encrypts_differently_each_time():
    assert crypto.encrypt("same") != crypto.encrypt("same")


def test_a_value_under_another_key_is_refused_not_read_as_garbage(settings):
    foreign = Fernet(Fernet.generate_key()).encrypt(b"secret").decode()
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(foreign)


def test_a_rotated_key_list_reads_old_values_and_writes_with_the_new_key(settings):
    old = settings.FIELD_ENCRYPTION_KEY
    token = crypto.encrypt("kept")
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    assert crypto.decrypt(token) == "kept"
    fresh = crypto.encrypt("fresh")
    settings.FIELD_ENCRYPTION_KEY = new
    assert crypto.decrypt(fresh) == "fresh"
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(token)


def test_the_data_migration_encrypts_plain_values_and_leaves_tokens(shop):
    # given a row written before the migration: plain text in the columns
    channel = ShopLineChannel.objects.create(shop=shop)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE shops_shoplinechannel SET login_channel_secret = %s, "
            "messaging_access_token = %s WHERE id = %s",
            ["plain-login-secret", "", channel.pk],
        )
    migration = importlib.import_module("shops.migrations.0008_line_messaging_channel_encrypted")
    from django.apps import apps

    # (what RunPython's functions use of the schema editor; SQLite's own refuses to open inside
    # the test's transaction)
    editor = SimpleNamespace(connection=connection, quote_name=connection.ops.quote_name)
    # when the migration runs (twice: it is safe to run again)
    migration.encrypt_existing(apps, editor)
    migration.encrypt_existing(apps, editor)
    # then the column holds a token of the secret, and empty stays empty
    stored = raw_columns(channel.pk)
    assert crypto.decrypt(stored["login_channel_secret"]) == "plain-login-secret"
    assert stored["messaging_access_token"] == ""
    # and the reverse gives the plain text back
    migration.decrypt_existing(apps, editor)
    assert raw_columns(channel.pk)["login_channel_secret"] == "plain-login-secret"


def _settings_import(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "FIELD_ENCRYPTION_KEY")}
    return subprocess.run(
        [sys.executable, "-c", "import loyalty.settings"],
        env={**clean, "TESTING": "false", "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_key_or_with_a_bad_one():
    missing = _settings_import({})
    assert missing.returncode != 0
    assert "FIELD_ENCRYPTION_KEY" in missing.stderr
    bad = _settings_import({"FIELD_ENCRYPTION_KEY": "not-a-key"})
    assert bad.returncode != 0
    assert "FIELD_ENCRYPTION_KEY" in bad.stderr
    good = _settings_import({"FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()})
    assert good.returncode == 0, good.stderr


def test_debug_derives_a_key_from_secret_key(settings):
    assert crypto.valid_key(crypto.derived_key(settings.SECRET_KEY))
