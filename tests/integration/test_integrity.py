"""A swapped, flipped, truncated or wrongly keyed blob is an integrity error, never a picture."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from retention.db.models import AuditEntry, DataKey, Image, Record
from retention.engine import records
from retention.engine.reasons import ReasonError
from retention.errors import IntegrityError, KeyringError
from retention.ingest.importer import import_manifest
from retention.jobs import rotation
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import clock_at, jpeg_bytes, record_id_of, row, write_manifest

WHY = "Checking that the blob opens"


@pytest.fixture
def two_records(tmp_path: Path, services: Services) -> tuple[Record, Record]:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(jpeg_bytes(colour=(10, 20, 30)))
    (tmp_path / "img" / "b.jpg").write_bytes(jpeg_bytes(colour=(200, 210, 220)))
    manifest = write_manifest(
        tmp_path / "m.csv",
        [
            row(booking_number="A-1", images="img/a.jpg"),
            row(booking_number="B-2", name="Blake Stone", images="img/b.jpg"),
        ],
    )
    report = import_manifest(manifest, services, actor="t", clock=clock_at(FIXED_NOW))
    assert report.imported == 2
    with services.sessions() as s:
        a = s.get(Record, record_id_of(services, "A-1"))
        b = s.get(Record, record_id_of(services, "B-2"))
        assert a is not None
        assert b is not None
    return a, b


def _original(services: Services, record: Record) -> Image:
    with services.sessions() as s:
        return s.execute(
            select(Image).where(Image.record_id == record.id, Image.kind == "original")
        ).scalar_one()


def _read(services: Services, record: Record) -> bytes:
    with services.sessions() as s, s.begin():
        return records.read_image(
            s, services.keyring, services.store, record, actor="t", reason=WHY, now=FIXED_NOW
        )[1]


def test_a_blob_swapped_between_two_records_does_not_open(
    services: Services, two_records: tuple[Record, Record]
) -> None:
    a, b = two_records
    ia, ib = _original(services, a), _original(services, b)
    blob_a, blob_b = services.store.get(ia.id), services.store.get(ib.id)
    services.store.put(ia.id, blob_b)
    services.store.put(ib.id, blob_a)
    for record in (a, b):
        with pytest.raises(IntegrityError, match="failed authentication"):
            _read(services, record)


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[:40] + bytes([blob[40] ^ 0x80]) + blob[41:],
        lambda blob: blob[: len(blob) // 2],
        lambda blob: blob[:-1],
        lambda blob: b"",
    ],
    ids=["flipped-byte", "cut-in-half", "last-byte-missing", "emptied"],
)
def test_a_damaged_blob_is_detected(
    services: Services, two_records: tuple[Record, Record], damage
) -> None:
    a, _ = two_records
    image = _original(services, a)
    services.store.put(image.id, damage(services.store.get(image.id)))
    with pytest.raises(IntegrityError):
        _read(services, a)


def test_a_data_key_claiming_the_wrong_kek_version_is_detected(
    services: Services, two_records: tuple[Record, Record]
) -> None:
    a, _ = two_records
    rotation.rotate(services, actor="t", clock=clock_at(FIXED_NOW))  # all keys now under v2
    with services.sessions() as s, s.begin():
        s.execute(update(DataKey).where(DataKey.record_id == a.id).values(kek_version=1))
    with pytest.raises(IntegrityError, match="key-encryption key v1"):
        _read(services, a)
    with services.sessions() as s, s.begin():
        s.execute(update(DataKey).where(DataKey.record_id == a.id).values(kek_version=7))
    with pytest.raises(KeyringError, match="v7 is not in the keyring"):
        _read(services, a)


def test_an_intact_record_still_opens_after_its_neighbour_was_damaged(
    services: Services, two_records: tuple[Record, Record]
) -> None:
    a, b = two_records
    image = _original(services, a)
    services.store.put(image.id, b"garbage" * 10)
    assert _read(services, b).startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "write a short sentence saying why"),
        ("x", "write a short sentence saying why"),
        ("asdf", "write a short sentence saying why"),
        ("aaaaaaaaaaaa", "write a short sentence saying why"),
        ("Checking the photo " * 11, "at most 200 characters"),
    ],
)
def test_a_decrypting_read_needs_a_real_sentence_that_fits_one_audit_line(
    services: Services, two_records: tuple[Record, Record], reason: str, message: str
) -> None:
    record, _ = two_records
    with services.sessions() as s, s.begin():
        before = len(s.execute(select(AuditEntry)).all())
        with pytest.raises(ReasonError, match=message):
            records.read_image(
                s, services.keyring, services.store, record, actor="t", reason=reason, now=FIXED_NOW
            )
        with pytest.raises(ReasonError, match=message):
            records.reveal_identity(
                s, services.keyring, record, actor="t", reason=reason, now=FIXED_NOW
            )
        assert len(s.execute(select(AuditEntry)).all()) == before
