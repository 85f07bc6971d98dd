"""Writes of a broadcast's pictures and videos (uploaded from the composer before the broadcast
is saved; a message names one by its key)."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from PIL import Image

from campaigns.broadcasts.models import BroadcastMedia
from shops.models import Shop


def broadcast_media_upload(
    *, shop: Shop, kind: str, file: UploadedFile, preview: UploadedFile | None = None
) -> BroadcastMedia:
    """Store a picture (its size kept, for an imagemap's areas) or a video with its preview
    picture, as the shop's. The file is already checked (re-encoded picture, MP4 video)."""
    media = BroadcastMedia(shop=shop, kind=kind)
    if kind == BroadcastMedia.Kind.IMAGE:
        media.width, media.height = _size(file)
    media.file.save(file.name or "upload", file, save=False)
    if preview is not None:
        media.preview.save("preview.jpg", preview, save=False)
    media.save()
    return media


def _size(file: UploadedFile) -> tuple[int, int]:
    file.seek(0)
    with Image.open(file) as image:
        size = image.size
    file.seek(0)
    return size
