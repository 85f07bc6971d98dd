"""Secrets encrypted at rest: a model field whose column holds a Fernet token, never the secret.

The key comes from the environment (``FIELD_ENCRYPTION_KEY``, a Fernet key; a comma-separated list
rotates keys: the first encrypts, every one decrypts). With ``DEBUG`` or under the tests a key
derived from ``SECRET_KEY`` is used when none is set; production refuses to start without one
(``loyalty/settings.py``). A database dump or a backup alone then gives no LINE channel secret or
access token away.

Fernet (AES-128-CBC with HMAC-SHA256, ``cryptography``) authenticates the token, so a value written
under another key, or changed in the database, is refused with ``DecryptionFailed`` rather than read
as garbage. Encrypting the same secret twice gives two different tokens: the column cannot be
searched or made unique, which these secrets never need.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models

# Every Fernet token starts with its version byte 0x80, base64url-encoded.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - a format marker, not a secret


class DecryptionFailed(Exception):
    """A stored value does not decrypt under any configured key (wrong FIELD_ENCRYPTION_KEY?)."""


def derived_key(secret_key: str) -> str:
    """The development key: a Fernet key derived from ``SECRET_KEY`` (DEBUG and tests only)."""
    digest = hashlib.sha256(f"loyalty.crypto:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def valid_key(key: str) -> bool:
    """Whether ``key`` is a Fernet key (32 bytes, base64url)."""
    try:
        Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False
    return True


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = [k.strip() for k in (settings.FIELD_ENCRYPTION_KEY or "").split(",") if k.strip()]
    if not keys:
        raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEY (a Fernet key).")
    try:
        return MultiFernet([Fernet(key.encode("ascii")) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is not a valid Fernet key.") from exc


def _reset(*, setting: str, **kwargs) -> None:
    if setting in ("FIELD_ENCRYPTION_KEY", "SECRET_KEY"):
        _fernet.cache_clear()


setting_changed.connect(_reset)


def encrypt(plain: str) -> str:
    """The Fernet token of ``plain`` under the first configured key."""
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The secret in ``token``; ``DecryptionFailed`` when no configured key opens it."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise DecryptionFailed(
            "A stored secret does not decrypt: was FIELD_ENCRYPTION_KEY changed without keeping "
            "the old key in the list?"
        ) from exc


def looks_encrypted(value: str) -> bool:
    """Whether a stored value is already a Fernet token (the data migration skips those)."""
    return value.startswith(TOKEN_PREFIX)


class EncryptedTextField(models.TextField):
    """A text secret stored as a Fernet token; Python code only ever sees the plain value.

    An empty value is stored empty (a blank setting is not a secret), so ``filter(field="")``
    still finds the rows without one. ``max_length`` checks the plain value, as typed.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
