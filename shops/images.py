"""Safe image uploads: only real JPEG, PNG or WebP within size and pixel caps, re-encoded.

The pixel count is read from the header and checked before any pixel is decoded, so a small file
that claims 20,000 × 20,000 pixels is refused without allocating memory for it. Re-encoding drops
anything hidden in the original (metadata, trailing data, polyglot payloads) and applies the EXIF
rotation so phone photos stand the right way up.
"""

from __future__ import annotations

import io
import uuid
import warnings

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}


def _not_an_image() -> ValidationError:
    return ValidationError(
        _("This file is not a JPEG, PNG or WebP image. Choose a photo or a logo file."),
        code="invalid_image",
    )


def reencode_image(upload, *, max_side: int | None = None) -> ContentFile:
    """Check an uploaded file and return it re-encoded (PNG when it has transparency, else JPEG).

    Raises ``ValidationError`` with a message a shop owner understands for anything else.
    """
    max_bytes = settings.LOYALTY_MAX_IMAGE_BYTES
    max_pixels = settings.LOYALTY_MAX_IMAGE_PIXELS
    max_side = max_side or settings.LOYALTY_IMAGE_MAX_SIDE
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise ValidationError(
            _("The image is %(size)s MB; the limit is %(limit)s MB."),
            code="too_large",
            params={"size": f"{size / 1_048_576:.1f}", "limit": f"{max_bytes / 1_048_576:.0f}"},
        )
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload)
            fmt = image.format
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _not_an_image() from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(None, None, max_pixels) from None
    if fmt not in ALLOWED_FORMATS:
        raise _not_an_image()
    if width * height > max_pixels:
        raise _too_many_pixels(width, height, max_pixels)
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            _("The image file is damaged or incomplete. Save it again and upload the new file."),
            code="corrupt_image",
        ) from None
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    out = io.BytesIO()
    if has_alpha:
        image.convert("RGBA").save(out, format="PNG", optimize=True)
        ext = "png"
    else:
        image.convert("RGB").save(out, format="JPEG", quality=88, optimize=True)
        ext = "jpg"
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.{ext}")


def _too_many_pixels(width, height, max_pixels) -> ValidationError:
    if width and height:
        return ValidationError(
            _("The image is %(width)s × %(height)s pixels; the limit is %(limit)s million pixels."),
            code="too_many_pixels",
            params={"width": width, "height": height, "limit": max_pixels // 1_000_000},
        )
    return ValidationError(
        _("The image has too many pixels; the limit is %(limit)s million pixels."),
        code="too_many_pixels",
        params={"limit": max_pixels // 1_000_000},
    )


def make_thumbnail(image_file, *, side: int = 256) -> ContentFile:
    """A square-bounded PNG thumbnail of an already checked image."""
    image_file.seek(0)
    with Image.open(image_file) as image:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.convert("RGBA").save(out, format="PNG", optimize=True)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}-thumb.png")


class SafeImageField(forms.FileField):
    """A form field that accepts only images that pass ``reencode_image`` and returns the
    re-encoded file. Replaces Django's ImageField, whose error for an oversized image is the
    confusing "not an image"."""

    def __init__(self, *args, max_side: int | None = None, **kwargs):
        self.max_side = max_side
        kwargs.pop("max_length", None)
        super().__init__(*args, **kwargs)
        self.widget.attrs.setdefault("accept", "image/jpeg,image/png,image/webp")

    def to_python(self, data):
        upload = super().to_python(data)
        if upload is None:
            return None
        return reencode_image(upload, max_side=self.max_side)
