"""Segments: saved audiences of a shop's members, and the RFM groups they can target."""
