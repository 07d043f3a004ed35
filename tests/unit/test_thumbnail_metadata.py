"""Thumbnails carry pixels only: no comment, EXIF, XMP, IPTC, ICC profile or PNG text chunk of
the source survives into the derived JPEG (the original is kept byte-for-byte; it is evidence).

Each source carries a distinctive marker in one kind of metadata; the thumbnail's bytes are then
read segment by segment: only the segments a bare baseline JPEG needs may be there, and the
marker appears nowhere."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageChops, PngImagePlugin

from retention.storage.images import check_image

LIMITS = {"max_bytes": 2_000_000, "max_pixels": 10_000_000, "thumbnail_size": 128}
SECRET = b"SECRET-METADATA-5d1e"
# SOI, APP0 (JFIF: version and density only), DQT, SOF0, DHT, SOS: a bare baseline JPEG.
BARE_MARKERS = {0xD8, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA}


def _picture(mode: str = "RGB") -> Image.Image:
    img = Image.new(mode, (300, 240), (40, 90, 160) if mode == "RGB" else 128)
    img.paste((230, 20, 20) if mode == "RGB" else 250, (0, 0, 150, 240))  # a red left half
    return img


def _jpeg(**save: object) -> bytes:
    out = io.BytesIO()
    _picture().save(out, "JPEG", quality=90, **save)
    return out.getvalue()


def _with_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """``jpeg`` with one more APPn segment right after SOI (as cameras and editors write)."""
    assert jpeg[:2] == b"\xff\xd8"
    segment = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def _iptc() -> bytes:
    """A Photoshop APP13 resource block holding one IPTC record (2:120, the caption)."""
    dataset = b"\x1c\x02\x78" + struct.pack(">H", len(SECRET)) + SECRET
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00"
    resource += struct.pack(">I", len(dataset)) + dataset + b"\x00" * (len(dataset) % 2)
    return b"Photoshop 3.0\x00" + resource


def _fake_icc() -> bytes:
    """Bytes shaped like an ICC profile whose description text is the marker."""
    body = b"desc" + SECRET.ljust(120, b"\x00")
    return struct.pack(">I", 128 + len(body)) + b"\x00" * 124 + body


def _png(**save: object) -> bytes:
    out = io.BytesIO()
    _picture().save(out, "PNG", **save)
    return out.getvalue()


def _png_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET.decode())
    info.add_text("Description", SECRET.decode(), zip=True)  # zTXt
    info.add_itxt("Author", SECRET.decode(), lang="en", tkey="Author")  # iTXt
    return _png(pnginfo=info)


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = SECRET.decode()  # Make
    exif[0x0131] = SECRET.decode()  # Software
    return exif


def _xmp_packet() -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description>' + SECRET + b"</rdf:Description></rdf:RDF>"
        b"</x:xmpmeta>"
    )


SOURCES = {
    "jpeg comment (COM)": lambda: _jpeg(comment=SECRET),
    "jpeg exif (APP1)": lambda: _jpeg(exif=_exif()),
    "jpeg xmp (APP1)": lambda: _with_segment(
        _jpeg(), 0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + _xmp_packet()
    ),
    "jpeg iptc (APP13)": lambda: _with_segment(_jpeg(), 0xED, _iptc()),
    "jpeg icc profile (APP2)": lambda: _jpeg(icc_profile=_fake_icc()),
    "jpeg every kind at once": lambda: _with_segment(
        _with_segment(_jpeg(comment=SECRET, exif=_exif(), icc_profile=_fake_icc()), 0xED, _iptc()),
        0xE1,
        b"http://ns.adobe.com/xap/1.0/\x00" + _xmp_packet(),
    ),
    "png text chunks (tEXt, zTXt, iTXt)": _png_text,
    "png exif (eXIf)": lambda: _png(exif=_exif()),
    "png icc profile (iCCP)": lambda: _png(icc_profile=_fake_icc()),
}


def _segments(jpeg: bytes) -> list[tuple[int, bytes]]:
    """The (marker, payload) segments of a JPEG up to its scan."""
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    found: list[tuple[int, bytes]] = [(0xD8, b"")]
    pos = 2
    while pos < len(jpeg):
        assert jpeg[pos] == 0xFF, f"no marker at byte {pos}"
        marker = jpeg[pos + 1]
        length = struct.unpack(">H", jpeg[pos + 2 : pos + 4])[0]
        found.append((marker, jpeg[pos + 4 : pos + 2 + length]))
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return found
        pos += 2 + length
    raise AssertionError("no start-of-scan segment")


@pytest.mark.parametrize("make", list(SOURCES.values()), ids=list(SOURCES))
def test_the_thumbnail_keeps_pixels_and_drops_every_kind_of_metadata(make) -> None:  # type: ignore[no-untyped-def]
    source = make()
    assert SECRET in source or _decodes_with_metadata(source)  # the source really carries it

    checked = check_image(source, **LIMITS)

    assert checked.data == source  # the original is kept byte-for-byte (evidence)
    segments = _segments(checked.thumbnail)
    markers = {marker for marker, _ in segments}
    assert markers <= BARE_MARKERS, sorted(hex(m) for m in markers - BARE_MARKERS)
    app0 = [payload for marker, payload in segments if marker == 0xE0]
    assert all(p.startswith(b"JFIF\x00") and len(p) == 14 for p in app0)  # density, no thumbnail
    assert SECRET not in checked.thumbnail
    assert b"Photoshop" not in checked.thumbnail
    assert b"ICC_PROFILE" not in checked.thumbnail
    with Image.open(io.BytesIO(checked.thumbnail)) as thumb:
        assert not thumb.getexif()
        assert not ({"comment", "exif", "icc_profile", "xmp", "photoshop"} & set(thumb.info))
        assert max(thumb.size) <= 128
        # The pixels are there: the source's red half is red in the thumbnail.
        red, _green, blue = thumb.convert("RGB").split()
        assert ImageChops.subtract(red, blue).getextrema()[1] > 150


def _decodes_with_metadata(data: bytes) -> bool:
    """True when Pillow finds compressed metadata (zTXt, iCCP) in the source."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return bool({"icc_profile", "exif", "Description"} & set(img.info) or img.getexif())


def test_a_greyscale_source_gives_a_bare_greyscale_thumbnail() -> None:
    out = io.BytesIO()
    _picture("L").save(out, "JPEG", comment=SECRET)
    checked = check_image(out.getvalue(), **LIMITS)
    assert SECRET not in checked.thumbnail
    assert {m for m, _ in _segments(checked.thumbnail)} <= BARE_MARKERS
    with Image.open(io.BytesIO(checked.thumbnail)) as thumb:
        assert thumb.mode == "L"
