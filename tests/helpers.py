"""Test helpers: image bytes and manifests built on the fly (no fixtures on disk), and staff
accounts created through the core."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import stat
import struct
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from PIL import Image

from retention.accounts import users
from retention.db.models import Role
from retention.ingest.manifest import ALL_COLUMNS
from retention.services import Services
from retention.settings import Settings

# A byte pattern that cannot occur by chance: what "no plaintext at rest" tests look for.
MARKER = b"PLAINTEXT-MARKER-7f3a9c"


def jpeg_bytes(
    size: tuple[int, int] = (480, 600), colour: tuple[int, int, int] = (180, 120, 90)
) -> bytes:
    """A small valid JPEG with a distinctive comment segment embedded (kept byte-for-byte)."""
    img = Image.new("RGB", size, colour)
    for x in range(0, size[0], 7):
        img.putpixel((x, x % size[1]), (x % 256, 40, 200))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, comment=MARKER)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (300, 400)) -> bytes:
    """A small valid PNG."""
    img = Image.new("RGB", size, (20, 140, 90))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + kind
        + body
        + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def bomb_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A PNG whose header claims billions of pixels (a decompression bomb's shape)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def row(**overrides: str) -> dict[str, str]:
    """A valid manifest row; override any column."""
    base = {
        "booking_number": "MPS-2020-000001",
        "agency": "MPS",
        "jurisdiction": "GB-ENG",
        "holder": "law_enforcement",
        "data_kind": "booking_photo",
        "name": "Alex Rivera",
        "date_of_birth": "1990-02-03",
        "state_id": "",
        "arrest_date": "2020-05-05",
        "offence": "theft from a shop",
        "offence_class": "nonviolent",
        "mopi_group": "3",
        "outcome": "no_further_action",
        "outcome_date": "2020-06-01",
        "legal_basis": "arrest",
        "images": "img/a.jpg",
        "source_system": "NICHE-RMS",
        "captured_at": "2020-05-05T10:15:00+00:00",
        "captured_by": "OP1234",
        "capture_device": "CAM-07",
        "capture_place": "Custody suite 2",
    }
    base.update(overrides)
    return base


def write_manifest(path: Path, rows: Iterable[Mapping[str, str]]) -> Path:
    """Write rows (dicts keyed by column) as a manifest with the full header."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ALL_COLUMNS))
        writer.writeheader()
        for r in rows:
            writer.writerow(r)
    return path


def clock_at(now: dt.datetime):  # type: ignore[no-untyped-def]
    """A fixed clock."""
    return lambda: now


def backend_env(settings: Settings) -> dict[str, str]:
    """The ``MUGSHOT_*`` variables that make a child process (or ``CliRunner``) use exactly the
    database, blob store and key provider of ``settings`` — whichever backends the run selected.
    """
    env = {
        "MUGSHOT_DATA_DIR": str(settings.data_dir),
        "MUGSHOT_DATABASE_URL": settings.database_url,
        "MUGSHOT_BLOB_STORE": settings.blob_store,
        "MUGSHOT_KEYRING": str(settings.keyring_file),
        "MUGSHOT_AWS_REGION": settings.aws_region,
    }
    optional = {
        "MUGSHOT_S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "MUGSHOT_KMS_KEY_ID": settings.kms_key_id,
        "MUGSHOT_KMS_ENDPOINT_URL": settings.kms_endpoint_url,
    }
    env.update({name: value for name, value in optional.items() if value})
    return env


def create_staff(
    services: Services,
    username: str,
    role: Role | str,
    *,
    password: str,
    now: dt.datetime,
    actor: str,
) -> tuple[str, str]:
    """Create a staff account through the core, in a transaction of its own; returns its
    username as stored (normalised) and its TOTP secret, which is handed out only this once."""
    with services.sessions() as session, session.begin():
        user, secret = users.create_user(
            session,
            username=username,
            role=role,
            password=password,
            keyring=services.keyring,
            actor=actor,
            now=now,
        )
        return user.username, secret


def not_private(root: Path) -> list[tuple[str, str]]:
    """Every folder under ``root`` (itself included) that is not 0700 and every file that is not
    0600, as (path, mode) pairs: what "private by default" tests expect to be empty."""
    wrong: list[tuple[str, str]] = []
    for folder, _dirs, names in os.walk(root):
        mode = stat.S_IMODE(os.stat(folder).st_mode)
        if mode != 0o700:
            wrong.append((folder, f"{mode:o}"))
        for name in names:
            path = os.path.join(folder, name)
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            if mode != 0o600:
                wrong.append((path, f"{mode:o}"))
    return wrong
