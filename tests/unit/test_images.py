"""Image validation: only whole JPEG/PNG files within limits; originals kept byte-for-byte."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from retention.errors import ImageRejectedError
from retention.storage.images import check_image
from tests.helpers import bomb_png, jpeg_bytes, png_bytes

LIMITS = {"max_bytes": 2_000_000, "max_pixels": 10_000_000, "thumbnail_size": 256}


def test_a_jpeg_is_accepted_unchanged_with_a_small_thumbnail() -> None:
    data = jpeg_bytes()
    checked = check_image(data, **LIMITS)
    assert checked.data is data
    assert (checked.media_type, checked.width, checked.height) == ("image/jpeg", 480, 600)
    thumb = Image.open(io.BytesIO(checked.thumbnail))
    assert thumb.format == "JPEG"
    assert max(thumb.size) <= 256
    assert thumb.size == (checked.thumbnail_width, checked.thumbnail_height)


def test_a_png_is_accepted() -> None:
    checked = check_image(png_bytes(), **LIMITS)
    assert (checked.media_type, checked.width, checked.height) == ("image/png", 300, 400)


def test_the_thumbnail_carries_no_exif_metadata() -> None:
    img = Image.new("RGB", (400, 400), (1, 2, 3))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    checked = check_image(out.getvalue(), **LIMITS)
    assert b"CameraMaker" in checked.data
    assert b"CameraMaker" not in checked.thumbnail
    assert not Image.open(io.BytesIO(checked.thumbnail)).getexif()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.7 not an image", "not a JPEG or PNG"),
        (_gif(), "not a JPEG or PNG"),
        (jpeg_bytes()[:3000], "truncated"),
        (jpeg_bytes()[:-200], "truncated"),
        (png_bytes()[:200], "truncated|corrupt|not a readable"),
        (bomb_png(), "decompression bomb"),
        (b"\xff\xd8\xff" + b"\x00" * 100, "not a readable|corrupt|truncated"),
    ],
    ids=[
        "empty",
        "pdf",
        "gif",
        "jpeg-cut-early",
        "jpeg-cut-late",
        "png-cut",
        "bomb",
        "jpeg-magic-garbage",
    ],
)
def test_bad_images_are_rejected_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(ImageRejectedError, match=message):
        check_image(data, **LIMITS)


def test_a_file_over_the_byte_limit_is_rejected_before_decoding() -> None:
    data = jpeg_bytes()
    with pytest.raises(ImageRejectedError, match=f"{len(data)} bytes; the limit is 1000"):
        check_image(data, max_bytes=1000, max_pixels=10_000_000, thumbnail_size=256)


def test_the_pixel_limit_is_configurable() -> None:
    with pytest.raises(ImageRejectedError, match="480x600 = 288000 pixels"):
        check_image(jpeg_bytes(), max_bytes=2_000_000, max_pixels=100_000, thumbnail_size=256)
