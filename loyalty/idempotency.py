"""Stub for the rewards branch: the ledger helper's loyalty/idempotency.py replaces it at merge."""

from members.ledger.services import clean_key, fingerprint  # replaced at merge

__all__ = ["clean_key", "fingerprint"]
