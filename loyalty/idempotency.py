"""Idempotency helpers every app's writes share: a clean key and a fingerprint of the request.

An idempotent write stores its key and the fingerprint of what was asked; a second call with the
same key and the same fingerprint is a replay (answered with the first result), the same key with
another fingerprint is refused. The ledger (``members.ledger``) and the rewards (``rewards``) use
them; the Open API's own request keys are in ``loyalty.api_idempotency``.

The pattern of a write (``members.ledger.earning`` is the model): check the key (replay), lock the
row the write changes, check the key again (a concurrent twin may have committed meanwhile), write.
Inside a ``request_transaction`` (an Open API request whose key is recorded in the same transaction
as its work) the second check may ride on the locking statement when the lock did not wait.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, transaction
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


_REQUEST = ContextVar("request_transaction", default=False)


@contextmanager
def request_transaction() -> Iterator[None]:
    """One transaction for an Open API request: the work and the record of the request's key with
    its response commit together or roll back together (``loyalty.api_idempotency``). A service
    inside may rely on it (``in_request_transaction``): a refusal rolls the whole request back, so
    a write needs no savepoint of its own (``write_atomic``), and a write whose key turns out to be
    taken is rolled back and answered from the key's record."""
    with transaction.atomic():
        token = _REQUEST.set(True)
        try:
            yield
        finally:
            _REQUEST.reset(token)


def in_request_transaction() -> bool:
    """Whether the code runs inside ``request_transaction``."""
    return _REQUEST.get() and connection.in_atomic_block


def write_atomic(func: Callable) -> Callable:
    """``transaction.atomic`` for a service, without the savepoint (two statements) inside a
    ``request_transaction``: there an error rolls the whole request back anyway."""

    @functools.wraps(func)
    def inner(*args, **kwargs):
        with transaction.atomic(savepoint=not in_request_transaction()):
            return func(*args, **kwargs)

    return inner
