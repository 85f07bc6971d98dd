"""Idempotency helpers every app's writes share: a clean key and a fingerprint of the request.

An idempotent write stores its key and the fingerprint of what was asked; a second call with the
same key and the same fingerprint is a replay (answered with the first result), the same key with
another fingerprint is refused. The ledger (``members.ledger``) and the rewards (``rewards``) use
them; the Open API's own request keys are in ``loyalty.api_idempotency``.
"""

from __future__ import annotations

import hashlib
import json

from django.utils.translation import gettext as _

from loyalty.errors import Conflict

MAX_KEY_LENGTH = 200


class IdempotencyMismatch(Conflict):
    """The key was used before for a different request (or is missing or too long)."""

    code = "idempotency_key_reused"
    http_status = 422


def clean_key(key: str) -> str:
    """``key`` stripped, or ``IdempotencyMismatch`` when it is empty or longer than
    ``MAX_KEY_LENGTH``."""
    key = (key or "").strip()
    if not key:
        raise IdempotencyMismatch(_("An idempotency key is required."))
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyMismatch(
            _("The idempotency key is too long (at most %(max)s characters).")
            % {"max": MAX_KEY_LENGTH}
        )
    return key


def fingerprint(**fields) -> str:
    """A stable hash of a request's content, to tell a replay from a reused key."""
    payload = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()
