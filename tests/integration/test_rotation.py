"""Key rotation rewraps data keys only: every image still opens, no blob file changes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from retention import audit, keyops, records
from retention.errors import KeyringError
from retention.importer import import_manifest
from retention.keys import Keyring
from retention.models import DataKey, Image, Record
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import clock_at, jpeg_bytes, row, write_manifest


def _blob_hashes(services: Services) -> dict[str, str]:
    root = services.settings.data_dir / "blobs"
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_rotate_then_retire_keeps_every_image_readable_and_every_blob_unchanged(
    tmp_path: Path, services: Services
) -> None:
    (tmp_path / "img").mkdir()
    rows = []
    for n in range(7):
        (tmp_path / "img" / f"{n}.jpg").write_bytes(jpeg_bytes(colour=(n * 30, 60, 90)))
        rows.append(row(booking_number=f"R-{n}", images=f"img/{n}.jpg"))
    import_manifest(
        write_manifest(tmp_path / "m.csv", rows), services, actor="t", clock=clock_at(FIXED_NOW)
    )
    before = _blob_hashes(services)
    assert len(before) == 14
    with pytest.raises(KeyringError, match="still wraps 7 data key"):
        keyops.retire(services, 1, actor="t", clock=clock_at(FIXED_NOW))

    report = keyops.rotate(services, actor="t", clock=clock_at(FIXED_NOW))

    assert (report.new_version, report.rewrapped, report.batches) == (2, 7, 3)
    assert report.remaining == {1: 0}
    keyops.retire(services, 1, actor="t", clock=clock_at(FIXED_NOW))
    ring_doc = json.loads(services.settings.keyring_file.read_text())
    assert ring_doc["kek"]["versions"]["1"]["key"] is None
    assert _blob_hashes(services) == before

    fresh = Keyring.load(services.settings.keyring_file)
    with services.sessions() as s, s.begin():
        assert {v for (v,) in s.execute(select(DataKey.kek_version))} == {2}
        for rec in s.execute(select(Record)).scalars():
            for img in s.execute(select(Image).where(Image.record_id == rec.id)).scalars():
                _, data = records.read_image(
                    s,
                    fresh,
                    services.store,
                    rec,
                    actor="t",
                    reason="x",
                    now=FIXED_NOW,
                    image_id=img.id,
                )
                assert data.startswith(b"\xff\xd8\xff")
        assert audit.verify(s).ok


def test_retiring_a_version_still_in_use_is_refused(tmp_path: Path, services: Services) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(jpeg_bytes())
    import_manifest(
        write_manifest(tmp_path / "m.csv", [row()]), services, actor="t", clock=clock_at(FIXED_NOW)
    )
    services.keyring.add_version(FIXED_NOW)  # a new version, but nothing rewrapped yet
    with pytest.raises(KeyringError, match="still wraps 1 data key"):
        keyops.retire(services, 1, actor="t", clock=clock_at(FIXED_NOW))
    assert Keyring.load(services.settings.keyring_file).versions()[0].key is not None
