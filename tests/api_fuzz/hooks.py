"""Schemathesis hooks for the run against the live test server (loaded through
``SCHEMATHESIS_HOOKS``): what a well-behaved integrator does that a schema cannot say."""

from __future__ import annotations

import uuid

import schemathesis


@schemathesis.hook
def before_call(ctx, case, kwargs):
    # Every POST carries a fresh Idempotency-Key, as docs/api.md asks of every client; a generated
    # request that omitted it would only ever test the 400 for a missing key (tested on its own
    # in tests/members/test_api.py).
    if case.method.upper() == "POST":
        case.headers = {**(case.headers or {}), "Idempotency-Key": str(uuid.uuid4())}
