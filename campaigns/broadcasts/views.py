"""A broadcast's picture, resized for LINE (an imagemap's ``baseUrl/<width>``, an image's
preview). Public, as LINE's servers fetch it without cookies; the random key is the only way in."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from campaigns.autoreplies.views import CACHE_SECONDS, WIDTHS, resized_image
from campaigns.broadcasts.models import BroadcastMedia


@require_GET
def media(request: HttpRequest, key: uuid.UUID, width: int) -> HttpResponse:
    if width not in WIDTHS:
        raise Http404
    item = get_object_or_404(BroadcastMedia, key=key, kind=BroadcastMedia.Kind.IMAGE)
    body, content_type = resized_image(item.file, width)
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response
