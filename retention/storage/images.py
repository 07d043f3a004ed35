"""Image validation and derivation (Pillow).

Layer: ``retention.storage``. Originals are stored byte-for-byte as captured — evidence is never
re-encoded — so validation only *reads* them: type by magic bytes and by Pillow's parser (JPEG
and PNG only), byte and pixel limits checked on the header before any decoding (decompression
bombs), and a full decode of the pixel data to catch truncated or corrupt files. JPEGs are
decoded through libjpeg's DCT scaling (``draft``) at thumbnail size: every entropy-coded block
is still read, so truncation is caught, for less than a full-size decode costs.

The thumbnail is a new JPEG that carries pixels only: it is encoded from a fresh image built
from the decoded pixel values, so nothing of the source's metadata can ride along — no comment
(``COM``), EXIF (GPS positions, device serials), XMP, IPTC, ICC profile or PNG text chunk.
Pillow copies some of these from the source's ``info`` when saving (a JPEG's comment, for
one), so the rebuild, not a list of keys to drop, is what guarantees it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from retention.errors import ImageRejectedError

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
THUMBNAIL_QUALITY = 80


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """A validated original and its derived thumbnail (both plaintext, in memory only)."""

    data: bytes
    media_type: str
    width: int
    height: int
    thumbnail: bytes
    thumbnail_width: int
    thumbnail_height: int

    def __repr__(self) -> str:
        return f"<CheckedImage {self.media_type} {self.width}x{self.height} {len(self.data)}B>"


def check_image(
    data: bytes, *, max_bytes: int, max_pixels: int, thumbnail_size: int
) -> CheckedImage:
    """Validate an original and derive its thumbnail, or raise ``ImageRejectedError``."""
    if not data:
        raise ImageRejectedError("file is empty")
    if len(data) > max_bytes:
        raise ImageRejectedError(f"file is {len(data)} bytes; the limit is {max_bytes}")
    if not (data.startswith(JPEG_MAGIC) or data.startswith(PNG_MAGIC)):
        raise ImageRejectedError("not a JPEG or PNG image (unrecognised file signature)")
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # pragma: no cover - a global someone else set
        raise ImageRejectedError("Pillow is configured to accept truncated images; refusing")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as img:
                width, height = img.size
                fmt = img.format or ""
                if fmt not in MEDIA_TYPES:
                    raise ImageRejectedError(f"image format {fmt or 'unknown'} is not allowed")
                if width < 1 or height < 1:
                    raise ImageRejectedError(f"image has impossible dimensions {width}x{height}")
                if width * height > max_pixels:
                    raise ImageRejectedError(
                        f"decompression bomb: {width}x{height} = {width * height} pixels "
                        f"exceeds the limit of {max_pixels}"
                    )
                if fmt == "JPEG":
                    # Ask libjpeg for the smallest DCT scale that still covers the thumbnail.
                    scale = thumbnail_size / max(width, height)
                    if scale < 1:
                        img.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
                img.load()
                thumb = ImageOps.exif_transpose(img)
                if thumb.mode not in ("RGB", "L"):
                    thumb = thumb.convert("RGB")
                thumb.thumbnail((thumbnail_size, thumbnail_size), Image.Resampling.BILINEAR)
                pixels = Image.frombytes(thumb.mode, thumb.size, thumb.tobytes())
                out = io.BytesIO()
                pixels.save(out, format="JPEG", quality=THUMBNAIL_QUALITY)
                thumb_w, thumb_h = thumb.size
    except ImageRejectedError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejectedError(f"decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise ImageRejectedError("not a readable JPEG or PNG image") from None
    except (OSError, SyntaxError, ValueError) as exc:
        text = str(exc)
        if "truncated" in text or "broken data stream" in text:
            raise ImageRejectedError("image data is truncated") from None
        raise ImageRejectedError(f"image data is corrupt ({type(exc).__name__})") from None
    return CheckedImage(
        data=data,
        media_type=MEDIA_TYPES[fmt],
        width=width,
        height=height,
        thumbnail=out.getvalue(),
        thumbnail_width=thumb_w,
        thumbnail_height=thumb_h,
    )
