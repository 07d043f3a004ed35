"""Bulk import: good rows land, each bad row is reported, re-runs add nothing, no plaintext."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from retention.audit import chain as audit
from retention.db.models import AuditEntry, DataKey, Image, ProvenanceEvent, Record
from retention.engine import records
from retention.ingest.importer import ImportReport, import_manifest
from retention.keys import crypto
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import (
    MARKER,
    bomb_png,
    booking_numbers,
    clock_at,
    jpeg_bytes,
    png_bytes,
    record_id_of,
    row,
    write_manifest,
)

DISTINCT_NAME = "Quintessa Marchbanks-Oyelaran"
DISTINCT_DOB = "1987-03-14"
DISTINCT_STATE_ID = "ZZ-STATE-99887766"


def _files(folder: Path) -> None:
    img = folder / "img"
    img.mkdir()
    (img / "good.jpg").write_bytes(jpeg_bytes())
    (img / "side.png").write_bytes(png_bytes())
    (img / "front.png").write_bytes(png_bytes((310, 410)))
    (img / "notes.jpg").write_bytes(b"these are typed notes, not a photograph\n" * 20)
    (img / "cut.jpg").write_bytes(jpeg_bytes()[:2500])
    (img / "bomb.png").write_bytes(bomb_png())


def _mixed_manifest(folder: Path) -> Path:
    _files(folder)
    rows = [
        row(  # line 2: good
            booking_number="MPS-1",
            name=DISTINCT_NAME,
            date_of_birth=DISTINCT_DOB,
            state_id=DISTINCT_STATE_ID,
            images="img/good.jpg",
        ),
        row(booking_number="MPS-2", images="img/missing.jpg"),  # 3: missing file
        row(booking_number="MPS-3", images="img/notes.jpg"),  # 4: not an image
        row(booking_number="MPS-4", images="img/cut.jpg"),  # 5: truncated JPEG
        row(booking_number="MPS-5", images="img/bomb.png"),  # 6: decompression bomb
        row(booking_number="MPS-6", arrest_date="2020-02-30"),  # 7: bad date
        row(booking_number="MPS-7", jurisdiction="US-ZZ"),  # 8: unknown jurisdiction
        row(  # 9: good, two PNGs, another jurisdiction
            booking_number="LAPD-9",
            agency="LAPD",
            jurisdiction="US-CA",
            mopi_group="",
            images="img/front.png;img/side.png",
        ),
        row(booking_number="MPS-1", name="Someone Else", images="img/good.jpg"),  # 10: conflict
        row(  # 11: exact repeat of line 2 -> already present
            booking_number="MPS-1",
            name=DISTINCT_NAME,
            date_of_birth=DISTINCT_DOB,
            state_id=DISTINCT_STATE_ID,
            images="img/good.jpg",
        ),
    ]
    return write_manifest(folder / "manifest.csv", rows)


def _run(manifest: Path, services: Services) -> ImportReport:
    return import_manifest(manifest, services, actor="test:clerk", clock=clock_at(FIXED_NOW))


def _count(services: Services, model: type) -> int:
    with services.sessions() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


EXPECTED_REJECTS = {
    3: "image 1 (missing.jpg) not found",
    4: "not a JPEG or PNG",
    5: "truncated",
    6: "decompression bomb",
    7: "column arrest_date",
    8: "column jurisdiction: unknown value 'US-ZZ'",
    10: "already stored with different data",
}


def test_a_mixed_manifest_lands_exactly_the_good_rows(tmp_path: Path, services: Services) -> None:
    report = _run(_mixed_manifest(tmp_path), services)

    assert (report.rows, report.imported, report.skipped) == (10, 2, 1)
    assert {r.line: r.reason for r in report.rejected}.keys() == EXPECTED_REJECTS.keys()
    for r in report.rejected:
        assert EXPECTED_REJECTS[r.line] in r.reason, (r.line, r.reason)
        assert DISTINCT_NAME not in r.reason

    with services.sessions() as s:
        stored = {b: s.get(Record, rid) for b, rid in booking_numbers(services).items()}
        assert set(stored) == {"MPS-1", "LAPD-9"}
        assert stored["LAPD-9"].jurisdiction == "US-CA"
        images = list(s.execute(select(Image)).scalars())
        assert sorted(i.kind for i in images) == ["original"] * 3 + ["thumbnail"] * 3
        kinds = [
            e.kind
            for e in s.execute(
                select(ProvenanceEvent).where(ProvenanceEvent.record_id == stored["MPS-1"].id)
            ).scalars()
        ]
        assert sorted(kinds) == ["captured", "derived", "imported"]
        # Every image row has a blob that opens under its record's key, byte-for-byte.
        for img in images:
            rec = stored["MPS-1"] if img.record_id == stored["MPS-1"].id else stored["LAPD-9"]
            key = records.data_key(s, services.keyring, rec)
            plain = crypto.open_blob(
                key, services.store.get(img.id), record_id=rec.id, image_id=img.id
            )
            assert len(plain) == img.byte_size
        original = next(
            i for i in images if i.record_id == stored["MPS-1"].id and i.kind == "original"
        )
        _, data = records.read_image(
            s,
            services.keyring,
            services.store,
            stored["MPS-1"],
            actor="t",
            reason="Checking the import kept the original",
            now=FIXED_NOW,
        )
        assert data == (tmp_path / "img" / "good.jpg").read_bytes()
        assert original.byte_size == len(data)
    assert sorted(services.store.keys()) == sorted(i.id for i in images)
    with services.sessions() as s:
        assert audit.verify(s).ok
        actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.seq))]
    assert actions.count("record.ingested") == 2
    assert "import.completed" in actions


def test_re_running_the_manifest_creates_nothing_new(tmp_path: Path, services: Services) -> None:
    manifest = _mixed_manifest(tmp_path)
    _run(manifest, services)
    before = {m: _count(services, m) for m in (Record, Image, DataKey, ProvenanceEvent)}
    blobs_before = sorted(services.store.keys())

    again = _run(manifest, services)

    assert (again.imported, again.skipped) == (0, 3)
    assert {r.line for r in again.rejected} == set(EXPECTED_REJECTS)
    assert {m: _count(services, m) for m in before} == before
    assert sorted(services.store.keys()) == blobs_before


def test_a_conflicting_re_import_is_refused_and_the_stored_record_is_untouched(
    tmp_path: Path, services: Services
) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(jpeg_bytes())
    first = write_manifest(tmp_path / "one.csv", [row(outcome="convicted")])
    _run(first, services)
    with services.sessions() as s:
        stored = s.execute(select(Record)).scalar_one()
        snapshot = (stored.outcome, stored.import_fingerprint, stored.identity_sealed)
    second = write_manifest(tmp_path / "two.csv", [row(outcome="acquitted")])

    report = _run(second, services)

    assert report.imported == 0
    assert [r.line for r in report.rejected] == [2]
    assert "different data" in report.rejected[0].reason
    with services.sessions() as s:
        stored = s.execute(select(Record)).scalar_one()
        assert (stored.outcome, stored.import_fingerprint, stored.identity_sealed) == snapshot


def test_a_purged_booking_is_never_imported_again(tmp_path: Path, services: Services) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(jpeg_bytes())
    manifest = write_manifest(tmp_path / "m.csv", [row()])
    _run(manifest, services)
    with services.sessions() as s, s.begin():  # the tombstone the purge sweep leaves
        s.execute(text("DELETE FROM data_keys"))
        s.execute(
            text(
                "UPDATE records SET status = 'purged', identity_sealed = NULL, name_dob_bidx = NULL"
            )
        )

    report = _run(manifest, services)

    assert report.imported == 0
    assert "was purged" in report.rejected[0].reason
    assert _count(services, DataKey) == 0


def _all_values(services: Services) -> list[object]:
    values: list[object] = []
    with services.engine.connect() as conn:
        for table in ("records", "data_keys", "images", "provenance_events", "audit_entries"):
            for r in conn.execute(text(f"SELECT * FROM {table}")):  # noqa: S608 - fixed names
                values.extend(r)
    return values


def test_no_plaintext_image_identity_or_key_is_at_rest(
    tmp_path: Path, services: Services, is_postgres: bool
) -> None:
    report = _run(_mixed_manifest(tmp_path), services)
    assert report.imported == 2
    with services.sessions() as s:
        rec = s.get(Record, record_id_of(services, "MPS-1"))
        assert rec is not None
        data_key = records.data_key(s, services.keyring, rec)
    needles = [
        MARKER,
        DISTINCT_NAME.encode(),
        DISTINCT_NAME.lower().encode(),
        DISTINCT_DOB.encode(),
        DISTINCT_STATE_ID.encode(),
        data_key,
    ]

    # Every value in every table, decoded by the driver (bytea included).
    for value in _all_values(services):
        raw = value if isinstance(value, bytes) else str(value).encode()
        for needle in needles:
            assert needle not in raw, (needle[:12], raw[:60])

    # The raw database files (SQLite: main file and WAL) or a full dump (PostgreSQL).
    if is_postgres:
        url = make_url(services.settings.database_url)
        dump = subprocess.run(
            [
                "pg_dump",
                "-h",
                url.host or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "postgres",
                "--data-only",
                url.database or "test",
            ],
            capture_output=True,
            check=True,
        ).stdout
        dumps = [dump, dump.replace(b"\\\\x", b"")]
        hex_needles = [n.hex().encode() for n in needles]
        for blob in dumps:
            for needle in needles[:5] + hex_needles:
                assert needle not in blob
    else:
        db_dir = services.settings.data_dir
        for path in db_dir.glob("mugshot.db*"):
            raw = path.read_bytes()
            for needle in needles:
                assert needle not in raw, (path.name, needle[:12])

    # Every sealed blob: no marker, no name, no plaintext original or thumbnail content.
    original = (tmp_path / "img" / "good.jpg").read_bytes()
    window = original[len(original) // 2 : len(original) // 2 + 48]
    # (Read as stored: the files on disk, or the objects in the S3 bucket.)
    blob_keys = list(services.store.keys())
    assert len(blob_keys) == 6
    for key in blob_keys:
        raw = services.store.get(key)
        assert raw.startswith(b"MGSB")
        for needle in [*needles, window]:
            assert needle not in raw


def test_import_workers_setting_defaults_to_the_cores_and_is_checked() -> None:
    import os

    import pytest

    from retention.errors import ConfigError
    from retention.settings import Settings

    assert Settings.from_env({}).import_workers == (os.cpu_count() or 1)
    assert Settings.from_env({"MUGSHOT_IMPORT_WORKERS": "3"}).import_workers == 3
    with pytest.raises(ConfigError, match="MUGSHOT_IMPORT_WORKERS must be positive"):
        Settings.from_env({"MUGSHOT_IMPORT_WORKERS": "0"})


def test_many_workers_commit_rows_in_manifest_order(tmp_path: Path, services: Services) -> None:
    # Slow (large) and fast (small) images alternate, so workers finish out of order; rows
    # must still be prepared, committed and audited in manifest order, and a bad row in the
    # middle must not take its neighbours with it.
    img = tmp_path / "img"
    img.mkdir()
    (img / "big.jpg").write_bytes(jpeg_bytes((1600, 2000)))
    (img / "small.jpg").write_bytes(jpeg_bytes((120, 150)))
    (img / "cut.jpg").write_bytes(jpeg_bytes()[:2500])
    rows = [
        row(
            booking_number=f"MPS-ORD-{n}",
            images="img/cut.jpg" if n == 5 else ("img/big.jpg" if n % 2 else "img/small.jpg"),
        )
        for n in range(12)
    ]
    manifest = write_manifest(tmp_path / "manifest.csv", rows)
    report = import_manifest(
        manifest, services, actor="test:clerk", clock=clock_at(FIXED_NOW), workers=4
    )
    assert [r.line for r in report.rejected] == [7]
    assert report.imported == 11
    with services.sessions() as s:
        lines = [
            entry.details["line"]
            for entry in s.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "record.ingested")
                .order_by(AuditEntry.seq)
            )
        ]
    assert _count(services, Record) == 11
    assert lines == [n + 2 for n in range(12) if n != 5]
