"""Keyword auto-replies and the greeting: LINE chat answered by the shop's own rules."""
