"""Key rotation rewraps data keys only: every image still opens, no blob file changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from retention.audit import chain as audit
from retention.db.models import AuditEntry, DataKey, Image, Record
from retention.engine import records
from retention.errors import KeyringError
from retention.ingest.importer import import_manifest
from retention.jobs import rotation
from retention.keys import crypto
from retention.keys.keyring import Keyring
from retention.keys.kms import key_provider
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import clock_at, jpeg_bytes, row, write_manifest
from tests.integration.engine_helpers import open_every_image


def _blob_hashes(services: Services) -> dict[str, str]:
    """The stored bytes' hashes, as stored (files on disk or objects in the bucket)."""
    store = services.store
    keys = list(store.keys())  # a BlobStore, not a dict
    return {key: hashlib.sha256(store.get(key)).hexdigest() for key in keys}


def _fresh(services: Services) -> Keyring:
    """The key provider as another process would load it from the files."""
    return key_provider(services.settings, Keyring.load(services.settings.keyring_file))


def _erased(services: Services, version: int) -> bool:
    """A retired version is unusable: its key erased from the keyring file, or (with KMS) the
    KMS key scheduled for deletion."""
    entry = {v.version: v for v in _fresh(services).versions()}[version]
    return entry.key is None and entry.retired_at is not None


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
    old = services.keyring.active_version
    with pytest.raises(KeyringError, match="still wraps 7 data key"):
        rotation.retire(services, old, actor="t", clock=clock_at(FIXED_NOW))

    report = rotation.rotate(services, actor="t", clock=clock_at(FIXED_NOW))

    assert (report.new_version, report.rewrapped, report.batches) == (old + 1, 7, 3)
    assert report.remaining[old] == 0
    rotation.retire(services, old, actor="t", clock=clock_at(FIXED_NOW))
    assert _erased(services, old)
    if services.settings.kms_key_id is None:
        ring_doc = json.loads(services.settings.keyring_file.read_text())
        assert ring_doc["kek"]["versions"][str(old)]["key"] is None
    assert _blob_hashes(services) == before

    fresh = _fresh(services)
    with services.sessions() as s, s.begin():
        assert {v for (v,) in s.execute(select(DataKey.kek_version))} == {old + 1}
        open_every_image(s, fresh, services.store)
        assert audit.verify(s).ok


def test_retiring_a_version_still_in_use_is_refused(tmp_path: Path, services: Services) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(jpeg_bytes())
    import_manifest(
        write_manifest(tmp_path / "m.csv", [row()]), services, actor="t", clock=clock_at(FIXED_NOW)
    )
    old = services.keyring.active_version
    services.keyring.add_version(FIXED_NOW)  # a new version, but nothing rewrapped yet
    with pytest.raises(KeyringError, match="still wraps 1 data key"):
        rotation.retire(services, old, actor="t", clock=clock_at(FIXED_NOW))
    assert not _erased(services, old)
    assert {v.version: v for v in _fresh(services).versions()}[old].retired_at is None


class Crash(BaseException):
    """The process dying at this point (nothing catches it)."""


def _import(tmp_path: Path, services: Services, n: int) -> None:
    (tmp_path / "img").mkdir()
    rows = []
    for i in range(n):
        (tmp_path / "img" / f"{i}.jpg").write_bytes(jpeg_bytes(colour=(i * 40, 60, 90)))
        rows.append(row(booking_number=f"C-{i}", images=f"img/{i}.jpg"))
    import_manifest(
        write_manifest(tmp_path / "m.csv", rows), services, actor="t", clock=clock_at(FIXED_NOW)
    )


def _kek_entries(services: Services) -> list[tuple[str, str]]:
    with services.readers() as s:
        return [
            (action, object_id)
            for action, object_id in s.execute(
                select(AuditEntry.action, AuditEntry.object_id)
                .where(AuditEntry.object_type == "kek", AuditEntry.action != "keys.rewrapped")
                .order_by(AuditEntry.seq)
            )
        ]


def _unaudited_versions(services: Services, first: int) -> set[int]:
    """Versions in the key files (as another process loads them) that no audit entry names."""
    named = {object_id for _, object_id in _kek_entries(services)}
    return {v.version for v in _fresh(services).versions() if v.version > first} - {
        int(name[1:]) for name in named
    }


def _kek_versions_in_use(services: Services) -> set[int]:
    with services.readers() as s:
        return set(s.execute(select(DataKey.kek_version)).scalars())


def _every_image_opens(services: Services) -> None:
    fresh = _fresh(services)
    with services.sessions() as s:
        for rec in s.execute(select(Record)).scalars():
            key = records.data_key(s, fresh, rec)
            for img in s.execute(select(Image).where(Image.record_id == rec.id)).scalars():
                crypto.open_blob(key, services.store.get(img.id), record_id=rec.id, image_id=img.id)
        assert audit.verify(s).ok


def test_a_crash_right_after_a_new_version_is_saved_leaves_it_audited_and_a_rerun_completes(
    tmp_path: Path, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _import(tmp_path, services, 4)
    old = services.keyring.active_version
    saved = services.keyring.add_version

    def save_then_die(now: dt.datetime) -> int:
        saved(now)
        raise Crash("killed right after the keyring was saved")

    monkeypatch.setattr(services.keyring, "add_version", save_then_die)
    with pytest.raises(Crash):
        rotation.rotate(services, actor="t", clock=clock_at(FIXED_NOW))
    monkeypatch.undo()

    # The new version exists in the key files and is active, and the audit log names it.
    assert _fresh(services).active_version == old + 1
    assert _unaudited_versions(services, old) == set()
    assert ("keys.version_adding", f"v{old + 1}") in _kek_entries(services)
    assert _kek_versions_in_use(services) == {old}  # nothing rewrapped yet
    _every_image_opens(services)

    report = rotation.rotate(services, actor="t", clock=clock_at(FIXED_NOW))

    assert report.new_version == old + 2
    assert _kek_versions_in_use(services) == {old + 2}
    assert _unaudited_versions(services, old) == set()
    assert _kek_entries(services)[-2:] == [
        ("keys.version_adding", f"v{old + 2}"),
        ("keys.version_added", f"v{old + 2}"),
    ]
    _every_image_opens(services)


def test_a_crash_before_a_new_version_is_saved_leaves_no_key_and_a_rerun_adds_it(
    tmp_path: Path, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _import(tmp_path, services, 4)
    old = services.keyring.active_version
    versions = [v.version for v in _fresh(services).versions()]

    def die(now: dt.datetime) -> int:
        raise Crash("killed before the keyring was saved")

    monkeypatch.setattr(services.keyring, "add_version", die)
    with pytest.raises(Crash):
        rotation.rotate(services, actor="t", clock=clock_at(FIXED_NOW))
    monkeypatch.undo()

    # The intent is on record; no key exists that it does not name.
    assert [v.version for v in _fresh(services).versions()] == versions
    assert _fresh(services).active_version == old
    assert _kek_entries(services) == [("keys.version_adding", f"v{old + 1}")]
    assert _kek_versions_in_use(services) == {old}
    _every_image_opens(services)

    report = rotation.rotate(services, actor="t", clock=clock_at(FIXED_NOW))

    assert report.new_version == old + 1
    assert _kek_versions_in_use(services) == {old + 1}
    assert _kek_entries(services) == [
        ("keys.version_adding", f"v{old + 1}"),
        ("keys.version_adding", f"v{old + 1}"),
        ("keys.version_added", f"v{old + 1}"),
    ]
    assert _unaudited_versions(services, old) == set()
    _every_image_opens(services)
