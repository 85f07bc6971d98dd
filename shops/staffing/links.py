"""QR codes of links that leave the request (invite links, points QR codes); the links themselves
are ``loyalty.links.absolute_url``."""

from __future__ import annotations

import segno


def qr_svg(text: str, *, scale: int = 6) -> str:
    """An inline SVG QR code of ``text`` (error correction M: still scans off a scratched phone
    screen)."""
    return segno.make_qr(text, error="m").svg_inline(scale=scale, border=2, dark="#111827")


def qr_png_data_uri(text: str, *, scale: int = 10) -> str:
    """The same QR code as a PNG data URI, to download and print or send in a chat."""
    return segno.make_qr(text, error="m").png_data_uri(scale=scale, border=3)
