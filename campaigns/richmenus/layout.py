"""Pure rules of a rich menu's picture: the sizes LINE accepts, the image checks, and the area
rectangles of each layout template."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

# The sizes LINE's rich-menu guide lists (width, height); LINE refuses other pictures.
SIZES: tuple[tuple[int, int], ...] = (
    (2500, 1686),
    (2500, 843),
    (1200, 810),
    (1200, 405),
    (800, 540),
)
MAX_IMAGE_BYTES = 1024 * 1024
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
# Areas of a layout: (columns, rows).
LAYOUT_GRIDS = {1: (1, 1), 2: (2, 1), 3: (3, 1), 4: (2, 2), 6: (3, 2)}


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int


def area_rects(*, width: int, height: int, areas: int) -> list[Rect]:
    """The rectangles of a layout of ``areas`` areas, left to right then top to bottom; the last
    column and row take the pixels an even split leaves over, so the areas cover the picture."""
    columns, rows = LAYOUT_GRIDS[areas]
    rects = []
    for row in range(rows):
        y, y_end = height * row // rows, height * (row + 1) // rows
        for column in range(columns):
            x, x_end = width * column // columns, width * (column + 1) // columns
            rects.append(Rect(x, y, x_end - x, y_end - y))
    return rects


def image_content_type(file) -> tuple[str, tuple[int, int]]:
    """The picture's content type and size, or a translated ``ValidationError`` saying what LINE
    would refuse: not a JPEG or PNG, over 1 MB, or not one of ``SIZES``."""
    if file.size > MAX_IMAGE_BYTES:
        raise ValidationError(
            _("The picture is %(size)s KB; LINE takes at most 1024 KB."),
            code="too_big",
            params={"size": file.size // 1024},
        )
    position = file.tell() if hasattr(file, "tell") else 0
    try:
        file.seek(0)
        with Image.open(file) as image:
            kind, size = image.format, image.size
    except (UnidentifiedImageError, OSError) as exc:
        raise ValidationError(_("This file is not a JPEG or PNG picture."), code="format") from exc
    finally:
        file.seek(position)
    if kind not in IMAGE_FORMATS:
        raise ValidationError(_("This file is not a JPEG or PNG picture."), code="format")
    if size not in SIZES:
        raise ValidationError(
            _("The picture is %(width)s×%(height)s pixels; LINE takes %(sizes)s."),
            code="size",
            params={
                "width": size[0],
                "height": size[1],
                "sizes": ", ".join(f"{w}×{h}" for w, h in SIZES),
            },
        )
    return IMAGE_FORMATS[kind], size


def validate_rich_menu_image(file) -> None:
    """Model-field validator: ``image_content_type`` without its answer."""
    image_content_type(file)
