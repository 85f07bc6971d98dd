"""Open API keys: created shown once, stored hashed, revocable, last use recorded."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from loyalty.compiled import compiled
from shops.models import ApiKey, Shop, User

KEY_PREFIX = "lk_"
# Record a key's last use at most this often, so busy integrations do not write on every call.
LAST_USED_GRANULARITY = dt.timedelta(seconds=60)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, shop: Shop, name: str, actor: User | None = None) -> tuple[ApiKey, str]:
    """Create a key for ``shop``; returns the row and the raw key, which is never stored."""
    prefix = secrets.token_hex(5)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(shop=shop, name=name.strip(), prefix=prefix, key_hash=_hash(raw), created_by=actor)
    key.full_clean(exclude=["key_hash", "prefix"])
    key.save()
    return key, raw


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """Revoke a key at once; requests with it get 401 from then on."""
    if key.revoked_at is None:
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        key.refresh_from_db()
    return key


def _key_by_prefix(*, prefix: str):
    return ApiKey.objects.select_related("shop").filter(prefix=prefix).order_by("pk")[:1]


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key matching ``raw``, or None. Compares hashes in constant time."""
    raw = (raw or "").strip()
    if not raw.startswith(KEY_PREFIX) or raw.count("_") < 2:
        return None
    prefix = raw[len(KEY_PREFIX) :].split("_", 1)[0]
    found = compiled("shops.api_key_by_prefix", _key_by_prefix, prefix=prefix)
    key = found[0] if found else None
    if key is None or not hmac.compare_digest(key.key_hash, _hash(raw)):
        return None
    if key.revoked_at is not None or not key.shop.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
