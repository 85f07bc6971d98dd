"""The points ledger: immutable entries, lots with expiry dates, allocations from lots to debits,
purchases and products. Rules: DESIGN.md, "Points are a ledger of lots"."""
