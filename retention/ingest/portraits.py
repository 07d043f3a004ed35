"""Drawn cartoon booking portraits for the synthetic demo data set.

Layer: ``retention.ingest``. Imports the standard library and Pillow only.

Every portrait is fake on purpose: a cartoon face drawn from Pillow primitives — never a
photograph of, or derived from, a real person — in front of a height chart, holding a placard
reading "DEMO — SYNTHETIC" with a banner saying the same. Deterministic: the caller's
``random.Random`` and arguments give byte-identical output on a given Pillow build.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import random
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFont

DEFAULT_SIZE = (480, 600)
# Quality and grain amplitude were tuned together so that the mean JPEG lands near the 64 KiB the
# import benchmark wants; the flat cartoon alone compresses to a fraction of that.
JPEG_QUALITY = 85
GRAIN = 5


_Colour = tuple[int, int, int]
_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

_SKIN: tuple[_Colour, ...] = (
    (255, 224, 196), (241, 194, 125), (234, 192, 160), (224, 172, 105), (198, 134, 66),
    (161, 102, 64), (141, 85, 36), (110, 70, 45), (82, 55, 38),
)  # fmt: skip
_HAIR: tuple[_Colour, ...] = (
    (28, 24, 20), (62, 40, 26), (105, 70, 42), (140, 62, 30), (214, 182, 112),
    (150, 150, 150), (224, 224, 218), (60, 90, 200), (214, 88, 160),
)  # fmt: skip
_EYES: tuple[_Colour, ...] = (
    (90, 56, 30),
    (60, 40, 25),
    (70, 120, 170),
    (80, 130, 80),
    (130, 110, 60),
    (110, 115, 120),
)
_WALLS: tuple[_Colour, ...] = (
    (214, 216, 220), (200, 212, 226), (208, 222, 206), (228, 218, 196), (222, 206, 208),
    (196, 200, 190),
)  # fmt: skip
_CLOTHES: tuple[_Colour, ...] = (
    (230, 110, 30),
    (40, 60, 110),
    (90, 90, 95),
    (200, 200, 195),
    (60, 110, 70),
    (150, 30, 40),
)
_HAIR_STYLES = ("short", "long", "curly", "bald", "bun", "mohawk", "fringe")
_HEAD_SHAPES = ("oval", "round", "square", "long")
_EXPRESSIONS = ("neutral", "frown", "smirk", "surprised", "tired", "grimace")

_BASE_W, _BASE_H = DEFAULT_SIZE
_DASH = "\u2014"


@functools.lru_cache(maxsize=32)
def _font(size: int) -> _Font:
    return ImageFont.load_default(size=size)


def _shade(colour: _Colour, factor: float) -> _Colour:
    r, g, b = (max(0, min(255, int(c * factor))) for c in colour)
    return (r, g, b)


def _text_width(draw: ImageDraw.ImageDraw, text: str, size: int) -> float:
    # The bundled font has no em dash, so it is drawn as a bar one em wide.
    parts = text.split(_DASH)
    return sum(draw.textlength(p, font=_font(size)) for p in parts) + size * (len(parts) - 1)


def _centred_text(
    draw: ImageDraw.ImageDraw, centre_x: float, y: float, text: str, size: int, fill: _Colour
) -> None:
    font = _font(size)
    x = centre_x - _text_width(draw, text, size) / 2
    for i, part in enumerate(text.split(_DASH)):
        if i:
            bar_y = y + size * 0.55
            draw.rectangle((x + 2, bar_y, x + size - 2, bar_y + max(2, size // 10)), fill=fill)
            x += size
        draw.text((x, y), part, font=font, fill=fill)
        x += draw.textlength(part, font=font)


def _fitted_size(draw: ImageDraw.ImageDraw, text: str, size: int, width: float) -> int:
    while size > 8 and _text_width(draw, text, size) > width:
        size -= 1
    return size


@dataclass(frozen=True)
class _Face:
    skin: _Colour
    hair: _Colour
    eyes: _Colour
    wall: _Colour
    clothes: _Colour
    hair_style: str
    head_shape: str
    expression: str
    glasses: bool
    beard: str  # "", "stubble" or "full"
    metric: bool
    lean: int
    half_width: int
    half_height: int
    chart_offset: int
    facing_left: bool

    @classmethod
    def draw_from(cls, rng: random.Random) -> _Face:
        head_shape = rng.choice(_HEAD_SHAPES)
        half_width = rng.randint(78, 96) - (10 if head_shape == "long" else 0)
        half_height = rng.randint(100, 116) + (8 if head_shape == "long" else 0)
        if head_shape == "round":
            half_height = half_width + rng.randint(8, 16)
        return cls(
            skin=rng.choice(_SKIN),
            hair=rng.choice(_HAIR),
            eyes=rng.choice(_EYES),
            wall=rng.choice(_WALLS),
            clothes=rng.choice(_CLOTHES),
            hair_style=rng.choice(_HAIR_STYLES),
            head_shape=head_shape,
            expression=rng.choice(_EXPRESSIONS),
            glasses=rng.random() < 0.25,
            beard=rng.choices(("", "stubble", "full"), (70, 15, 15))[0],
            metric=rng.random() < 0.5,
            lean=rng.randint(-12, 12),
            half_width=half_width,
            half_height=half_height,
            chart_offset=rng.randint(-30, 30),
            facing_left=rng.random() < 0.5,
        )


def generate_portrait(
    rng: random.Random,
    *,
    booking_number: str,
    agency: str,
    when: dt.date,
    size: tuple[int, int] = DEFAULT_SIZE,
    fmt: str = "JPEG",
    variant: int = 0,
) -> bytes:
    """Draw a synthetic cartoon booking portrait and return it encoded as ``fmt`` bytes.

    The face, height chart and placard ("DEMO — SYNTHETIC", agency, booking number, date) are
    drawn from Pillow primitives; the look is taken from ``rng``, so the same rng state gives
    the same bytes. ``variant`` 0 is the front view and 1 the profile view of the same face
    (pass an rng in the same state for both). JPEGs get seeded grain to reach a photo-like file
    size (~64 KiB at 480x600); PNGs are left clean.
    """
    fmt = fmt.upper()
    if fmt not in ("JPEG", "PNG"):
        raise ValueError(f"fmt must be 'JPEG' or 'PNG', got {fmt!r}")
    if variant not in (0, 1):
        raise ValueError(f"variant must be 0 (front) or 1 (profile), got {variant!r}")
    width, height = size
    if width < 16 or height < 16:
        raise ValueError(f"size too small: {size!r}")

    face = _Face.draw_from(rng)
    image = Image.new("RGB", DEFAULT_SIZE, face.wall)
    draw = ImageDraw.Draw(image)
    _draw_chart(draw, face)
    _draw_body(draw, face)
    if variant == 0:
        _draw_front(draw, face)
    else:
        _draw_profile(draw, face)
    _draw_placard(draw, face, agency=agency, booking_number=booking_number, when=when)
    _draw_banner(draw)

    if size != DEFAULT_SIZE:
        image = image.resize(size, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    if fmt == "JPEG":
        image = _add_grain(image, rng)
        image.save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        image.save(out, "PNG", compress_level=6)
    return out.getvalue()


def _add_grain(image: Image.Image, rng: random.Random) -> Image.Image:
    # Seeded from rng (not Image.effect_noise, which uses the C library's unseeded rand()).
    grain = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
    grain = grain.point([v * 2 * GRAIN // 255 for v in range(256)])
    return ImageChops.add(image, Image.merge("RGB", (grain, grain, grain)), 1.0, -GRAIN)


def _draw_chart(draw: ImageDraw.ImageDraw, face: _Face) -> None:
    line = _shade(face.wall, 0.55)
    label = _shade(face.wall, 0.35)
    top, step = 30 + face.chart_offset % 20, 20
    # 20 px per 5 cm or per 2 inches; the top line reads 200 cm or 6'8".
    for i, y in enumerate(range(top, 460, step)):
        major = i % 2 == 0 if face.metric else i % 3 == 0
        draw.line((0, y, _BASE_W, y), fill=line, width=3 if major else 1)
        if not major:
            continue
        if face.metric:
            text = f"{200 - 5 * i}"
        else:
            inches = 80 - 2 * i
            text = f"{inches // 12}'{inches % 12}\""
        draw.text((6, y + 2), text, font=_font(15), fill=label)
        draw.text((_BASE_W - 44, y + 2), text, font=_font(15), fill=label)


def _draw_body(draw: ImageDraw.ImageDraw, face: _Face) -> None:
    cx = _BASE_W // 2 + face.lean
    skin_dark = _shade(face.skin, 0.85)
    draw.rectangle((cx - 34, 300, cx + 34, 440), fill=skin_dark)
    draw.ellipse((cx - 190, 405, cx + 190, 760), fill=face.clothes)
    draw.polygon(
        [(cx - 40, 408), (cx, 455), (cx + 40, 408)],
        fill=skin_dark,
        outline=_shade(face.clothes, 0.6),
    )


def _head_box(face: _Face, cx: int, cy: int) -> tuple[int, int, int, int]:
    return (
        cx - face.half_width,
        cy - face.half_height,
        cx + face.half_width,
        cy + face.half_height,
    )


def _draw_head(draw: ImageDraw.ImageDraw, face: _Face, cx: int, cy: int) -> None:
    box = _head_box(face, cx, cy)
    outline = _shade(face.skin, 0.7)
    if face.head_shape == "square":
        draw.rounded_rectangle(box, radius=face.half_width // 2, fill=face.skin, outline=outline)
    else:
        draw.ellipse(box, fill=face.skin, outline=outline, width=2)


def _draw_back_hair(draw: ImageDraw.ImageDraw, face: _Face, cx: int, cy: int) -> None:
    hw, hh = face.half_width, face.half_height
    if face.hair_style == "long":
        draw.rounded_rectangle(
            (cx - hw - 16, cy - hh - 8, cx + hw + 16, cy + int(hh * 0.95)),
            radius=60,
            fill=face.hair,
        )
    elif face.hair_style == "bun":
        draw.ellipse((cx - 34, cy - hh - 52, cx + 34, cy - hh + 14), fill=face.hair)


def _draw_top_hair(draw: ImageDraw.ImageDraw, face: _Face, cx: int, cy: int) -> None:
    hw, hh = face.half_width, face.half_height
    style = face.hair_style
    cap = (cx - hw - 4, cy - hh - 10, cx + hw + 4, cy - int(hh * 0.2))
    if style in ("short", "long", "bun"):
        draw.pieslice(cap, 180, 360, fill=face.hair)
    elif style == "fringe":
        draw.pieslice(cap, 180, 360, fill=face.hair)
        low = cy - int(hh * 0.42)
        teeth = [
            (cx - hw + 6 + k * (2 * hw - 12) // 8, low + (10 if k % 2 else 0)) for k in range(9)
        ]
        draw.polygon(
            [(cx - hw + 2, cy - int(hh * 0.6)), *teeth, (cx + hw - 2, cy - int(hh * 0.6))],
            fill=face.hair,
        )
    elif style == "curly":
        for k in range(15):
            angle = math.pi + math.pi * k / 14
            x = cx + int((hw + 2) * math.cos(angle))
            y = cy - int(hh * 0.35) + int((hh * 0.75) * math.sin(angle))
            draw.ellipse((x - 24, y - 24, x + 24, y + 24), fill=face.hair)
        draw.pieslice(cap, 180, 360, fill=face.hair)
    elif style == "mohawk":
        draw.polygon(
            [
                (cx - 14, cy - hh + 30),
                (cx - 10, cy - hh - 34),
                (cx + 10, cy - hh - 34),
                (cx + 14, cy - hh + 30),
            ],
            fill=face.hair,
        )
    else:  # bald: a highlight so the dome reads as a head, not a balloon
        draw.arc(
            (cx - hw + 20, cy - hh + 10, cx + hw - 20, cy),
            220,
            300,
            fill=_shade(face.skin, 1.15),
            width=4,
        )


def _draw_front(draw: ImageDraw.ImageDraw, face: _Face) -> None:
    cx, cy = _BASE_W // 2 + face.lean, 222
    hw, hh = face.half_width, face.half_height
    ear = _shade(face.skin, 0.9)
    _draw_back_hair(draw, face, cx, cy)
    for side in (-1, 1):
        ex = cx + side * hw
        draw.ellipse((ex - 14, cy - 20, ex + 14, cy + 28), fill=ear, outline=_shade(face.skin, 0.7))
    _draw_head(draw, face, cx, cy)
    if face.beard:
        _draw_beard(draw, face, _head_box(face, cx, cy), 20, 160)
    _draw_top_hair(draw, face, cx, cy)

    eye_y = cy - int(hh * 0.08)
    for side in (-1, 1):
        ex = cx + side * int(hw * 0.4)
        _draw_eye(draw, face, ex, eye_y)
        _draw_brow(draw, face, ex, eye_y - 24, side)
        if face.glasses:
            draw.rounded_rectangle(
                (ex - 25, eye_y - 18, ex + 25, eye_y + 18), radius=8, outline=(25, 25, 30), width=4
            )
            draw.line(
                (ex + side * 25, eye_y - 6, cx + side * hw, eye_y), fill=(25, 25, 30), width=3
            )
    if face.glasses:
        draw.line(
            (cx - int(hw * 0.4) + 25, eye_y - 4, cx + int(hw * 0.4) - 25, eye_y - 4),
            fill=(25, 25, 30),
            width=3,
        )

    nose = _shade(face.skin, 0.68)
    nose_y = cy + int(hh * 0.3)
    draw.line(
        [(cx + 2, eye_y + 8), (cx - 8, nose_y), (cx + 8, nose_y + 2)],
        fill=nose,
        width=3,
        joint="curve",
    )
    _draw_mouth(draw, face, cx, cy + int(hh * 0.55), 28)


def _draw_profile(draw: ImageDraw.ImageDraw, face: _Face) -> None:
    # Profile: the same face turned 90 degrees; facing_left mirrors which way it looks.
    d = -1 if face.facing_left else 1
    cx, cy = _BASE_W // 2 + face.lean - d * 6, 222
    hw, hh = face.half_width - 6, face.half_height
    box = (cx - hw, cy - hh, cx + hw, cy + hh)
    if face.hair_style == "long":
        _draw_back_hair(draw, face, cx - d * 10, cy)
    draw.ellipse(box, fill=face.skin, outline=_shade(face.skin, 0.7), width=2)
    front = cx + d * hw
    nose_y = cy + int(hh * 0.3)
    draw.polygon(
        [(front - d * 4, cy - 10), (front + d * 24, nose_y), (front - d * 4, nose_y + 8)],
        fill=face.skin,
        outline=_shade(face.skin, 0.7),
    )
    if face.beard:
        start, end = (0, 110) if d == 1 else (70, 180)
        _draw_beard(draw, face, box, start, end)
    # Hair: the crown cap plus a wedge over the back of the skull that follows its curve
    # (Pillow angles run clockwise from three o'clock; the back is on the left when d == 1).
    style = face.hair_style
    if style == "mohawk":
        draw.chord(
            (cx - hw + 10, cy - hh - 30, cx + hw - 10, cy - hh + 60), 180, 360, fill=face.hair
        )
    elif style != "bald":
        cap = (cx - hw - 4 - d * 10, cy - hh - 10, cx + hw + 4 - d * 10, cy - int(hh * 0.2))
        draw.pieslice(cap, 180, 360, fill=face.hair)
        reach = 90 if style == "long" else 20  # degrees below the horizontal
        back = (cx - hw - 4, cy - hh - 4, cx + hw + 4, cy + hh + 4)
        if d == 1:
            draw.pieslice(back, 180 - reach, 280, fill=face.hair)
        else:
            draw.pieslice(back, 260, 360 + reach, fill=face.hair)
        if style == "bun":
            bun_x = cx - d * (hw - 6)
            draw.ellipse((bun_x - 30, cy - hh - 6, bun_x + 30, cy - hh + 54), fill=face.hair)
    ear_x = cx - d * int(hw * 0.15)
    draw.ellipse(
        (ear_x - 14, cy - 20, ear_x + 14, cy + 28),
        fill=_shade(face.skin, 0.9),
        outline=_shade(face.skin, 0.7),
    )
    eye_x, eye_y = cx + d * int(hw * 0.62), cy - int(hh * 0.08)
    draw.ellipse((eye_x - 8, eye_y - 8, eye_x + 8, eye_y + 8), fill=(250, 250, 250))
    draw.ellipse((eye_x + d * 2 - 5, eye_y - 5, eye_x + d * 2 + 5, eye_y + 5), fill=face.eyes)
    _draw_brow(draw, face, eye_x, eye_y - 22, d)
    if face.glasses:
        draw.ellipse(
            (eye_x - 18, eye_y - 16, eye_x + 18, eye_y + 16), outline=(25, 25, 30), width=4
        )
        draw.line((eye_x - d * 18, eye_y - 4, ear_x, eye_y - 2), fill=(25, 25, 30), width=3)
    mouth_x = front - d * 18
    draw.line(
        (mouth_x - 12, cy + int(hh * 0.55), mouth_x + 12, cy + int(hh * 0.55)),
        fill=(120, 50, 50),
        width=4,
    )


def _draw_beard(
    draw: ImageDraw.ImageDraw, face: _Face, box: tuple[int, int, int, int], start: int, end: int
) -> None:
    if face.beard == "full":
        draw.chord(box, start, end, fill=face.hair)
    else:
        draw.chord(box, start, end, fill=_shade(face.skin, 0.8))


def _draw_eye(draw: ImageDraw.ImageDraw, face: _Face, x: int, y: int) -> None:
    draw.ellipse((x - 15, y - 9, x + 15, y + 9), fill=(250, 250, 250), outline=(60, 40, 40))
    draw.ellipse((x - 8, y - 8, x + 8, y + 8), fill=face.eyes)
    draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(10, 10, 10))
    if face.expression == "tired":
        draw.chord((x - 16, y - 10, x + 16, y + 10), 180, 360, fill=_shade(face.skin, 0.9))


def _draw_brow(draw: ImageDraw.ImageDraw, face: _Face, x: int, y: int, side: int) -> None:
    # side is -1 left, +1 right; (inner, outer) heights by expression.
    inner, outer = {"frown": (8, -4), "surprised": (-8, -8), "grimace": (6, -2)}.get(
        face.expression, (0, 0)
    )
    brow = face.hair if face.hair_style != "bald" else _shade(face.skin, 0.5)
    draw.line((x - side * 18, y + inner, x + side * 18, y + outer), fill=brow, width=6)


def _draw_mouth(draw: ImageDraw.ImageDraw, face: _Face, x: int, y: int, half: int) -> None:
    lips = (120, 50, 50)
    expression = face.expression
    if expression == "frown":
        draw.arc((x - half, y, x + half, y + 24), 200, 340, fill=lips, width=4)
    elif expression == "smirk":
        draw.line((x - half, y + 2, x + half - 6, y - 6), fill=lips, width=4)
    elif expression == "surprised":
        draw.ellipse((x - 11, y - 12, x + 11, y + 14), fill=(70, 20, 20), outline=lips, width=3)
    elif expression == "grimace":
        draw.rectangle(
            (x - half, y - 8, x + half, y + 8), fill=(245, 245, 240), outline=lips, width=3
        )
        for k in range(-2, 3):
            draw.line((x + k * 10, y - 8, x + k * 10, y + 8), fill=(160, 160, 160), width=1)
    else:
        draw.line((x - half, y, x + half, y), fill=lips, width=4)


def _draw_placard(
    draw: ImageDraw.ImageDraw, face: _Face, *, agency: str, booking_number: str, when: dt.date
) -> None:
    cx = _BASE_W // 2 + face.lean // 2
    left, top, right, bottom = cx - 165, 440, cx + 165, 590
    draw.rounded_rectangle(
        (left, top, right, bottom), radius=6, fill=(22, 22, 24), outline=(235, 235, 235), width=3
    )
    for hand_x in (left + 8, right - 8):
        draw.ellipse(
            (hand_x - 20, bottom - 44, hand_x + 20, bottom - 4),
            fill=face.skin,
            outline=_shade(face.skin, 0.7),
        )
    inner = right - left - 40
    size = _fitted_size(draw, agency, 20, inner)
    _centred_text(draw, cx, top + 10, agency, size, (240, 240, 240))
    size = _fitted_size(draw, booking_number, 34, inner)
    _centred_text(draw, cx, top + 38, booking_number, size, (255, 255, 255))
    _centred_text(draw, cx, top + 80, when.isoformat(), 20, (240, 240, 240))
    _centred_text(draw, cx, top + 110, "DEMO \u2014 SYNTHETIC", 24, (255, 214, 0))


def _draw_banner(draw: ImageDraw.ImageDraw) -> None:
    draw.rectangle((0, 0, _BASE_W, 22), fill=(180, 20, 20))
    _centred_text(
        draw, _BASE_W / 2, 3, "SYNTHETIC DEMO IMAGE \u2014 NOT A REAL PERSON", 14, (255, 255, 255)
    )
