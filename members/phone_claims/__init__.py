"""Proof of a phone number before a pending member's points change hands (claims, one-time codes,
the cashier's confirmation, the merge)."""
