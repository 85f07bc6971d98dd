"""Logo and background uploads: only real JPEG, PNG or WebP within the caps, re-encoded.

Bad files are uploaded through the shop's admin change form as the owner, as a browser would, and
must be refused with the message from ``shops/images.py`` while the shop's logo stays as it was.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from shops.images import reencode_image
from shops.models import Shop, Tier
from tests.admin_forms import admin_change_data, errors_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

NOT_AN_IMAGE = "This file is not a JPEG, PNG or WebP image."
DAMAGED = "The image file is damaged or incomplete."


# --- files ------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def crafted_png(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` × ``height`` pixels but holds one tiny IDAT: small on disk,
    huge once decoded (a decompression bomb in miniature)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + _png_chunk(b"IEND", b"")
    )


def image_bytes(fmt: str, size=(64, 40), mode="RGB", colour=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format=fmt, **save)
    return out.getvalue()


def noisy_jpeg(size=(256, 256)) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 80).convert("RGB").save(out, format="JPEG", quality=95)
    return out.getvalue()


def upload(name: str, content: bytes, content_type="image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- helpers ----------------------------------------------------------------------------------


def post_logo(client, shop: Shop, file) -> object:
    page = client.get(reverse("admin:shops_shop_change", args=[shop.pk]))
    data = admin_change_data(page)
    data["logo"] = file
    return client.post(reverse("admin:shops_shop_change", args=[shop.pk]), data)


def open_stored(field_file) -> Image.Image:
    field_file.open("rb")
    image = Image.open(io.BytesIO(field_file.read()))
    field_file.close()
    return image


@pytest.fixture
def shop_with_logo(owner_client, shop):
    response = post_logo(owner_client, shop, upload("logo.png", image_bytes("PNG")))
    assert response.status_code == 302, errors_text(response)
    shop.refresh_from_db()
    assert shop.logo and shop.logo_thumbnail
    return shop


# --- refused ----------------------------------------------------------------------------------


def _assert_refused(response, shop: Shop, message: str) -> None:
    before = (shop.logo.name, shop.logo_thumbnail.name)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "logo" in errors
    assert message in " ".join(errors["logo"]), errors["logo"]
    shop.refresh_from_db()
    assert (shop.logo.name, shop.logo_thumbnail.name) == before


def test_text_file_renamed_png_is_refused(owner_client, shop_with_logo):
    fake = upload("logo.png", b"This is not a picture, just some text.\n" * 20)

    response = post_logo(owner_client, shop_with_logo, fake)

    _assert_refused(response, shop_with_logo, NOT_AN_IMAGE)


def test_crafted_png_of_20000_by_20000_pixels_is_refused_without_decoding(
    owner_client, shop_with_logo
):
    content = crafted_png(20_000, 20_000)
    assert len(content) < 200  # tiny on disk

    response = post_logo(owner_client, shop_with_logo, upload("bomb.png", content))

    _assert_refused(response, shop_with_logo, "too many pixels; the limit is 40 million pixels")


def test_png_just_over_the_pixel_cap_is_refused_with_its_size(owner_client, shop_with_logo):
    response = post_logo(owner_client, shop_with_logo, upload("big.png", crafted_png(8_000, 6_000)))

    _assert_refused(response, shop_with_logo, "8000 × 6000 pixels; the limit is 40 million pixels")


def test_pixel_cap_is_a_setting(owner_client, shop_with_logo, settings):
    settings.LOYALTY_MAX_IMAGE_PIXELS = 1_000_000

    response = post_logo(
        owner_client, shop_with_logo, upload("wide.png", image_bytes("PNG", size=(2000, 600)))
    )

    _assert_refused(response, shop_with_logo, "2000 × 600 pixels; the limit is 1 million pixels")


def test_gif_is_refused(owner_client, shop_with_logo):
    response = post_logo(
        owner_client, shop_with_logo, upload("anim.gif", image_bytes("GIF"), "image/gif")
    )

    _assert_refused(response, shop_with_logo, NOT_AN_IMAGE)


def test_gif_renamed_png_is_refused(owner_client, shop_with_logo):
    response = post_logo(owner_client, shop_with_logo, upload("anim.png", image_bytes("GIF")))

    _assert_refused(response, shop_with_logo, NOT_AN_IMAGE)


def test_file_over_five_megabytes_is_refused(owner_client, shop_with_logo):
    big = upload("huge.jpg", noisy_jpeg((64, 64)) + b"\x00" * (5 * 1024 * 1024 + 10), "image/jpeg")

    response = post_logo(owner_client, shop_with_logo, big)

    _assert_refused(response, shop_with_logo, "the limit is 5 MB")


def test_truncated_jpeg_is_refused(owner_client, shop_with_logo):
    whole = noisy_jpeg()
    truncated = whole[: len(whole) // 2]

    response = post_logo(owner_client, shop_with_logo, upload("cut.jpg", truncated, "image/jpeg"))

    _assert_refused(response, shop_with_logo, DAMAGED)


def test_corrupt_jpeg_is_refused(owner_client, shop_with_logo):
    import random

    whole = bytearray(noisy_jpeg())
    # Keep the header (so it still opens as a JPEG) and overwrite the image data with noise.
    rng = random.Random(1)
    start = whole.find(b"\xff\xda") + 20
    for i in range(start, len(whole) - 2):
        whole[i] = rng.randrange(256)
    response = post_logo(
        owner_client, shop_with_logo, upload("bad.jpg", bytes(whole), "image/jpeg")
    )

    _assert_refused(response, shop_with_logo, DAMAGED)


def test_tier_card_background_is_checked_too(owner_client, shop):
    response = owner_client.post(
        reverse("admin:shops_tier_add"),
        {
            "name": "Gold",
            "threshold": "1000",
            "earn_multiplier": "1.00",
            "colour": "#D4A017",
            "card_background": upload("card.png", b"<?php echo 'hi'; ?>"),
        },
    )

    assert response.status_code == 200
    assert NOT_AN_IMAGE in errors_text(response)
    assert not Tier.objects.exists()


# --- accepted and re-encoded ------------------------------------------------------------------


def test_png_with_transparency_is_reencoded_as_png_keeping_alpha(owner_client, shop):
    # given a logo with a transparent left half
    image = Image.new("RGBA", (120, 60), (0, 0, 0, 0))
    image.paste((10, 120, 200, 255), (60, 0, 120, 60))
    out = io.BytesIO()
    image.save(out, format="PNG")

    # when it is uploaded
    response = post_logo(owner_client, shop, upload("logo.png", out.getvalue()))

    # then it is stored as a PNG that is still transparent where it was
    assert response.status_code == 302, errors_text(response)
    shop.refresh_from_db()
    assert shop.logo.name.endswith(".png")
    stored = open_stored(shop.logo)
    assert stored.format == "PNG"
    assert stored.mode == "RGBA"
    assert stored.getpixel((5, 30))[3] == 0
    assert stored.getpixel((100, 30))[3] == 255


def test_jpeg_with_exif_rotation_is_stored_upright_without_exif(owner_client, shop):
    # given a landscape photo (red left, blue right) whose EXIF says "rotate 90° clockwise"
    image = Image.new("RGB", (300, 100), (255, 0, 0))
    image.paste((0, 0, 255), (150, 0, 300, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=95)

    # when it is uploaded
    response = post_logo(owner_client, shop, upload("photo.jpg", out.getvalue(), "image/jpeg"))

    # then the stored file is a portrait JPEG, red on top, and carries no orientation tag
    assert response.status_code == 302, errors_text(response)
    shop.refresh_from_db()
    assert shop.logo.name.endswith(".jpg")
    stored = open_stored(shop.logo)
    assert stored.format == "JPEG"
    assert stored.size == (100, 300)
    top, bottom = stored.getpixel((50, 20)), stored.getpixel((50, 280))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60
    assert 0x0112 not in stored.getexif()


def test_large_image_is_scaled_down_to_the_max_side(owner_client, shop, settings):
    settings.LOYALTY_IMAGE_MAX_SIDE = 400

    response = post_logo(
        owner_client, shop, upload("wide.jpg", image_bytes("JPEG", size=(1200, 600)), "image/jpeg")
    )

    assert response.status_code == 302, errors_text(response)
    shop.refresh_from_db()
    assert open_stored(shop.logo).size == (400, 200)


def test_default_max_side_is_2048(shop):
    reencoded = reencode_image(upload("big.jpg", image_bytes("JPEG", size=(3000, 1000))))

    assert Image.open(reencoded).size == (2048, 683)


def test_upload_gets_a_thumbnail(owner_client, shop):
    response = post_logo(
        owner_client, shop, upload("logo.jpg", image_bytes("JPEG", size=(1000, 500)), "image/jpeg")
    )

    assert response.status_code == 302, errors_text(response)
    shop.refresh_from_db()
    thumbnail = open_stored(shop.logo_thumbnail)
    assert thumbnail.format == "PNG"
    assert thumbnail.size == (256, 128)


def test_webp_is_accepted_and_reencoded(owner_client, shop):
    response = post_logo(owner_client, shop, upload("logo.webp", image_bytes("WEBP"), "image/webp"))

    assert response.status_code == 302, errors_text(response)
    shop.refresh_from_db()
    assert open_stored(shop.logo).format == "JPEG"


def test_reencoding_drops_trailing_data(shop):
    """A polyglot (an image with a payload appended) comes out as a clean image."""
    payload = b"<script>alert(1)</script>"
    reencoded = reencode_image(upload("logo.png", image_bytes("PNG") + payload))

    assert payload not in reencoded.read()


def test_changing_the_logo_makes_a_new_thumbnail(owner_client, shop_with_logo):
    old_thumbnail = shop_with_logo.logo_thumbnail.name

    response = post_logo(
        owner_client,
        shop_with_logo,
        upload("new.png", image_bytes("PNG", size=(300, 300), colour=(0, 0, 255))),
    )

    assert response.status_code == 302, errors_text(response)
    shop_with_logo.refresh_from_db()
    assert shop_with_logo.logo_thumbnail.name != old_thumbnail
    red, green, blue = open_stored(shop_with_logo.logo_thumbnail).getpixel((10, 10))[:3]
    assert red < 10 and green < 10 and blue > 245


def test_clearing_the_logo_removes_the_thumbnail(owner_client, shop_with_logo):
    page = owner_client.get(reverse("admin:shops_shop_change", args=[shop_with_logo.pk]))
    data = admin_change_data(page)
    data["logo-clear"] = "on"

    response = owner_client.post(reverse("admin:shops_shop_change", args=[shop_with_logo.pk]), data)

    assert response.status_code == 302, errors_text(response)
    shop_with_logo.refresh_from_db()
    assert not shop_with_logo.logo
    assert not shop_with_logo.logo_thumbnail
