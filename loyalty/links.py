"""Full URLs for links that leave the request: invite links, points QR codes, the LINE Login
callback, images in LINE messages and the API. One rule for every app: on ``SITE_URL`` when it is
set (the server sits behind a proxy that rewrites the host), else on the host the request came to.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def absolute_url(request: HttpRequest | None, path: str) -> str:
    """``path`` (``/staff/join/...``) as a full URL: on ``SITE_URL`` when it is set, else on the
    request's host; without either, ``path`` itself."""
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/") + path
    if request is None:
        return path
    return request.build_absolute_uri(path)


def media_url(request: HttpRequest | None, path: str | None) -> str:
    """The full URL of an uploaded file from its storage URL (``image.url``): a relative
    ``/media/...`` goes through ``absolute_url``; a storage that already answers full URLs (a
    cloud bucket) is left alone; no file is ""."""
    if not path:
        return ""
    if path.startswith(("https://", "http://", "//")):
        return path
    return absolute_url(request, path)
