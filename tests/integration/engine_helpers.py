"""Helpers for engine tests: records with known fates, and invariant checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies.vocabulary import Jurisdiction, RequestKind
from retention.audit import chain as audit
from retention.db.models import Base, Certificate, DataKey, Image, Record, RecordStatus
from retention.engine import records
from retention.errors import IntegrityError
from retention.ingest.importer import import_manifest
from retention.keys import crypto
from retention.keys.keyring import Keyring
from retention.requests import filing
from retention.services import Services
from retention.storage.interface import BlobStore
from tests.conftest import FIXED_NOW
from tests.helpers import clock_at, jpeg_bytes, row, write_manifest

TODAY = FIXED_NOW.date()


def ca_row(booking: str, **overrides: str) -> dict[str, str]:
    """A California booking; by default factually innocent since 2020: purge due 2023-05-05."""
    base = {
        "booking_number": booking,
        "agency": "LAPD",
        "jurisdiction": "US-CA",
        "mopi_group": "",
        "arrest_date": "2020-05-05",
        "captured_at": "2020-05-05T10:00:00+00:00",
        "outcome": "factually_innocent",
        "outcome_date": "2020-06-01",
        "legal_basis": "arrest",
    }
    base.update(overrides)
    return row(**base)


def purge_due(booking: str) -> dict[str, str]:
    """Purge due 2023-05-05 (PC 851.8: destroy 3 years after the arrest)."""
    return ca_row(booking)


def restrict_then_purge_later(booking: str) -> dict[str, str]:
    """Sealed now (restrict), destroyed in 2028."""
    return ca_row(
        booking,
        arrest_date="2025-01-10",
        captured_at="2025-01-10T09:00:00+00:00",
        outcome_date="2025-03-01",
    )


def review_due(booking: str) -> dict[str, str]:
    """England: acquitted, so a person reviews the need to keep the image."""
    return row(booking_number=booking, outcome="acquitted", outcome_date="2020-09-01")


def ingest(services: Services, folder: Path, rows: list[dict[str, str]]) -> dict[str, str]:
    """Import rows (each with its own image); returns booking number -> record id."""
    img = folder / "img"
    img.mkdir(exist_ok=True)
    for n, r in enumerate(rows):
        name = f"{r['booking_number']}.jpg"
        (img / name).write_bytes(jpeg_bytes(colour=(n * 13 % 256, 90, 140)))
        r["images"] = f"img/{name}"
    manifest = write_manifest(folder / f"m{len(list(folder.glob('m*.csv')))}.csv", rows)
    report = import_manifest(manifest, services, actor="test:import", clock=clock_at(FIXED_NOW))
    assert not report.rejected, report.rejected
    with services.readers() as s:
        return {
            r.booking_number: r.id
            for r in s.execute(select(Record)).scalars()
            if r.booking_number is not None
        }


def file_request(
    services: Services,
    *,
    name: str,
    dob: dt.date,
    booking: str | None = None,
    evidence: bytes | None = None,
    now: dt.datetime = FIXED_NOW,
    kind: RequestKind = RequestKind.ERASURE,
    grounds: tuple[str, ...] = ("acquitted",),
    details: str = "I was acquitted in 2020.",
    jurisdiction: Jurisdiction = Jurisdiction.GB_ENG,
) -> tuple[str, str]:
    """File a removal request (in England unless told) as the public page does; returns (id,
    reference)."""
    with services.sessions() as s, s.begin():
        req, reference = filing.file_request(
            s,
            services.keyring,
            services.store,
            claims=filing.Claims(
                name=name,
                date_of_birth=dob,
                contact="reply-by-post@example.invalid",
                booking_number=booking,
                details=details,
            ),
            kind=kind,
            jurisdiction=jurisdiction,
            grounds=list(grounds),
            evidence=evidence,
            now=now,
        )
        return req.id, reference


_Row = TypeVar("_Row", bound=Base)


def stored(services: Services, model: type[_Row], row_id: str) -> _Row:
    """The ``model`` row with this id as stored now; it must exist."""
    with services.readers() as s:
        found = s.get(model, row_id)
        assert found is not None
        return found


def state(services: Services, record_id: str) -> Record:
    return stored(services, Record, record_id)


def check_invariants(services: Services, *, janitor_ran: bool = False) -> dict[str, int]:
    """Every record is either untouched (key, identity, every blob opens) or fully purged (no
    key, no identity, a certificate that quotes its audit entry); the chain verifies."""
    counts = {"purged": 0, "live": 0}
    store_keys = set(services.store.keys())
    with services.readers() as s:
        assert audit.verify(s).ok
        for rec in s.execute(select(Record)).scalars():
            images = list(s.execute(select(Image).where(Image.record_id == rec.id)).scalars())
            key = s.execute(select(DataKey).where(DataKey.record_id == rec.id)).scalar_one_or_none()
            cert = s.execute(
                select(Certificate).where(Certificate.record_id == rec.id)
            ).scalar_one_or_none()
            if rec.status == RecordStatus.PURGED.value:
                counts["purged"] += 1
                assert key is None, f"purged record {rec.id} still has a data key"
                assert rec.identity_sealed is None
                assert rec.name_dob_bidx is None
                assert cert is not None
                assert all(i.destroyed_at is not None for i in images)
                if janitor_ran:
                    assert not any(i.id in store_keys for i in images)
            else:
                counts["live"] += 1
                assert key is not None, f"live record {rec.id} lost its data key"
                assert cert is None
                dk = records.data_key(s, services.keyring, rec)
                for i in images:
                    crypto.open_blob(dk, services.store.get(i.id), record_id=rec.id, image_id=i.id)
    return counts


def blobs_open(services: Services, record_id: str) -> bool:
    """True if any blob of the record still opens (it must not, once purged)."""
    with services.readers() as s:
        rec = s.get(Record, record_id)
        assert rec is not None
        try:
            dk = records.data_key(s, services.keyring, rec)
        except IntegrityError:
            return False
        images = s.execute(select(Image).where(Image.record_id == rec.id)).scalars()
        return any(services.store.exists(i.id) for i in images) and dk is not None


def day(n: int) -> dt.date:
    """TODAY plus n days."""
    return TODAY + dt.timedelta(days=n)


def open_every_image(session: Session, keyring: Keyring, store: BlobStore) -> int:
    """Read every image of every record through ``keyring``, as staff would (audited); each must
    be a JPEG. Returns how many opened."""
    opened = 0
    for rec in session.execute(select(Record)).scalars():
        for img in session.execute(select(Image).where(Image.record_id == rec.id)).scalars():
            _, data = records.read_image(
                session,
                keyring,
                store,
                rec,
                actor="t",
                reason="Checking every image opens after rotation",
                now=FIXED_NOW,
                image_id=img.id,
            )
            assert data.startswith(b"\xff\xd8\xff")
            opened += 1
    return opened
