"""The picture of an auto-reply, resized for LINE: an imagemap's ``baseUrl/<width>`` and an image
message's small preview. Public (LINE's servers fetch it, without cookies); the key in the URL is
the rule's random ``image_key``, never a sequential id, and a new picture gets a new key."""

from __future__ import annotations

import io
import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET
from PIL import Image

from campaigns.autoreplies.messages import IMAGEMAP_WIDTHS, PREVIEW_SIDE
from campaigns.autoreplies.models import KeywordRule

WIDTHS = frozenset({*IMAGEMAP_WIDTHS, PREVIEW_SIDE})
CACHE_SECONDS = 24 * 3600


def resized_image(file, width: int) -> tuple[bytes, str]:
    """The picture ``width`` px wide (height in proportion), as JPEG, or PNG when the original
    is a PNG (transparency kept)."""
    file.open("rb")
    try:
        with Image.open(file) as image:
            kind = "PNG" if image.format == "PNG" else "JPEG"
            height = max(1, round(image.height * width / image.width))
            resized = image.convert("RGBA" if kind == "PNG" else "RGB").resize(
                (width, height), Image.Resampling.LANCZOS
            )
    finally:
        file.close()
    out = io.BytesIO()
    resized.save(out, format=kind, **({"optimize": True} if kind == "PNG" else {"quality": 85}))
    return out.getvalue(), f"image/{kind.lower()}"


@require_GET
def reply_image(request: HttpRequest, key: uuid.UUID, width: int) -> HttpResponse:
    if width not in WIDTHS:
        raise Http404
    rule = get_object_or_404(KeywordRule.objects.exclude(image=""), image_key=key)
    body, content_type = resized_image(rule.image, width)
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response
