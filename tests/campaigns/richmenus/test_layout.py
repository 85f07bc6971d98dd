"""The picture rules LINE sets, checked before anything is sent, and the areas of each layout."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import translation

from campaigns.richmenus.layout import SIZES, area_rects, image_content_type
from tests.campaigns.richmenus.conftest import picture


@pytest.mark.parametrize("size", SIZES)
def test_every_size_line_lists_is_accepted(size):
    assert image_content_type(ContentFile(picture(size))) == ("image/png", size)


def test_a_jpeg_is_accepted_as_jpeg():
    assert image_content_type(ContentFile(picture((800, 540), "JPEG")))[0] == "image/jpeg"


def test_a_picture_of_another_size_is_refused_saying_which_sizes_line_takes():
    with pytest.raises(ValidationError) as refused:
        image_content_type(ContentFile(picture((1000, 500))))
    assert refused.value.code == "size"
    assert "2500×1686" in refused.value.messages[0] and "1000×500" in refused.value.messages[0]


def test_a_picture_over_1_mb_is_refused():
    with pytest.raises(ValidationError) as refused:
        image_content_type(ContentFile(picture((1200, 810), noise=True)))
    assert refused.value.code == "too_big"


def test_a_file_that_is_not_a_picture_is_refused_in_thai_too():
    with translation.override("th"), pytest.raises(ValidationError) as refused:
        image_content_type(ContentFile(b"%PDF-1.4 not a picture"))
    assert refused.value.code == "format"
    assert refused.value.messages[0] == "ไฟล์นี้ไม่ใช่รูปภาพ JPEG หรือ PNG"


def test_a_gif_is_refused():
    with pytest.raises(ValidationError) as refused:
        image_content_type(ContentFile(picture((800, 540), "GIF")))
    assert refused.value.code == "format"


@pytest.mark.parametrize("areas", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("size", [(2500, 1686), (1200, 405), (800, 540)])
def test_the_areas_of_a_layout_cover_the_picture_without_overlap(areas, size):
    rects = area_rects(width=size[0], height=size[1], areas=areas)
    assert len(rects) == areas
    assert sum(r.width * r.height for r in rects) == size[0] * size[1]
    assert all(r.x + r.width <= size[0] and r.y + r.height <= size[1] for r in rects)


def test_six_areas_are_three_columns_in_two_rows():
    rects = area_rects(width=2500, height=1686, areas=6)
    assert [(r.x, r.y) for r in rects] == [
        (0, 0), (833, 0), (1666, 0), (0, 843), (833, 843), (1666, 843)
    ]  # fmt: skip
    assert rects[2].width == 834  # the last column takes the pixel left over
