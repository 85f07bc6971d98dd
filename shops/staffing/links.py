"""Links that leave the request (invite links, points QR codes) and their QR codes."""

from __future__ import annotations

import segno
from django.conf import settings
from django.http import HttpRequest


def absolute_url(request: HttpRequest | None, path: str) -> str:
    """``path`` as a full URL: on ``SITE_URL`` when it is set (behind a proxy that rewrites the
    host), else on the host the request came to."""
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/") + path
    if request is None:
        return path
    return request.build_absolute_uri(path)


def qr_svg(text: str, *, scale: int = 6) -> str:
    """An inline SVG QR code of ``text`` (error correction M: still scans off a scratched phone
    screen)."""
    return segno.make_qr(text, error="m").svg_inline(scale=scale, border=2, dark="#111827")


def qr_png_data_uri(text: str, *, scale: int = 10) -> str:
    """The same QR code as a PNG data URI, to download and print or send in a chat."""
    return segno.make_qr(text, error="m").png_data_uri(scale=scale, border=3)
