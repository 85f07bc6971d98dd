"""Pure rules of a rich menu's picture: the sizes LINE accepts, the image checks, and the area
rectangles of each layout template."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
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
# The layout whose areas are the shop's own rectangles (x, y, width, height on each area).
CUSTOM = 0
LAYOUT_CHOICES = [(n, str(n)) for n in LAYOUT_GRIDS] + [(CUSTOM, gettext_lazy("Custom rectangles"))]
# LINE takes at most 20 areas a rich menu.
MAX_AREAS = 20


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int


def area_rects(
    *, width: int, height: int, areas: int, custom: Sequence[Rect | None] = ()
) -> list[Rect]:
    """The rectangles of a layout of ``areas`` areas, left to right then top to bottom; the last
    column and row take the pixels an even split leaves over, so the areas cover the picture.
    The custom layout (``areas == CUSTOM``) is the ``custom`` rectangles themselves, in order;
    ``check_custom_rects`` says whether LINE and a tapping thumb can use them."""
    if areas == CUSTOM:
        return [rect for rect in custom if rect is not None]
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


def custom_rect_errors(
    areas: Sequence[tuple[int, Rect | None]], *, width: int, height: int
) -> list[str]:
    """What is wrong with the custom ``areas`` ((area number, rectangle) pairs) on a ``width``×``height``
    picture, as translated sentences; none when LINE can take them. An area needs its four
    numbers, a width and height of at least 1 pixel, and to lie inside the picture; areas may not
    overlap (LINE allows it, but a tap on the overlap goes to one of them unpredictably); at most
    ``MAX_AREAS``."""
    errors = []
    rects = [rect for _number, rect in areas]
    numbers = [number for number, _rect in areas]
    if not rects:
        errors.append(_("Add at least one area with its rectangle."))
    if len(rects) > MAX_AREAS:
        errors.append(
            _("A rich menu has at most %(max)s areas; this one has %(count)s.")
            % {"max": MAX_AREAS, "count": len(rects)}
        )
    for number, rect in areas:
        if rect is None:
            errors.append(
                _("Area %(area)s: give its x, y, width and height in pixels.") % {"area": number}
            )
        elif rect.width < 1 or rect.height < 1:
            errors.append(
                _("Area %(area)s: the width and height must be at least 1 pixel.")
                % {"area": number}
            )
        elif (
            rect.x < 0 or rect.y < 0 or rect.x + rect.width > width or rect.y + rect.height > height
        ):
            errors.append(
                _(
                    "Area %(area)s (x %(x)s, y %(y)s, %(w)s×%(h)s) runs outside the "
                    "%(width)s×%(height)s picture."
                )
                % {
                    "area": number,
                    "x": rect.x,
                    "y": rect.y,
                    "w": rect.width,
                    "h": rect.height,
                    "width": width,
                    "height": height,
                }
            )
    for first in range(len(rects)):
        for second in range(first + 1, len(rects)):
            a, b = rects[first], rects[second]
            if a is None or b is None or a.width < 1 or b.width < 1:
                continue
            if rects_overlap(a, b):
                errors.append(
                    _("Area %(first)s and area %(second)s overlap: a tap there could open either.")
                    % {"first": numbers[first], "second": numbers[second]}
                )
    return errors


def rects_overlap(a: Rect, b: Rect) -> bool:
    """Whether two rectangles share any pixel (touching edges do not)."""
    return (
        a.x < b.x + b.width
        and b.x < a.x + a.width
        and a.y < b.y + b.height
        and b.y < a.y + a.height
    )
