"""Ingest: turn a validated booking and its image files into sealed, audited records.

Layer: ``retention.ingest``.

The work is split so that the expensive part runs in parallel and the database part stays
short: ``prepare`` (thread-safe, no database) validates the images, derives thumbnails,
creates the data key and seals everything; ``stage_many`` adds the rows, provenance and
audit entries to the caller's transaction; the blobs are written (durably, one group sync per
batch) *before* that transaction commits, so a committed image row always has its blob. A
crash before the commit leaves at most blobs that nothing references — and because image ids
are derived from the booking (an HMAC under the index key), the next import of the same row
overwrites exactly those blobs instead of leaving orphans.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from policies import Decision, Pack, evaluate
from retention.audit import chain as audit
from retention.db import request_counts
from retention.db.models import (
    DataKey,
    Image,
    ImageKind,
    ProvenanceEvent,
    ProvenanceKind,
    Record,
    RecordStatus,
)
from retention.engine import sealing
from retention.engine.decisions import RecordFacts, schedule_for
from retention.ingest.manifest import Booking
from retention.keys import crypto
from retention.keys.indexes import booking_index, name_dob_index, state_id_index
from retention.keys.keyring import Keyring
from retention.settings import Settings
from retention.storage.images import CheckedImage, check_image
from retention.storage.interface import BlobStore


@dataclass(frozen=True, slots=True)
class Source:
    """Where a booking came from, for its provenance (no personal data)."""

    kind: str  # "manifest" or "api"
    reference: str  # manifest file name, or API client id
    digest: str | None = None  # SHA-256 of the manifest file
    line: int | None = None


@dataclass(frozen=True, slots=True)
class SealedImage:
    """An image row to insert and the sealed blob to store under its id."""

    id: str
    kind: ImageKind
    derived_from: str | None
    ordinal: int
    media_type: str
    byte_size: int
    width: int
    height: int
    content_hmac: str
    sealed: bytes
    sealed_sha256: str

    def __repr__(self) -> str:
        return f"<SealedImage {self.id} {self.kind}>"


@dataclass(frozen=True, slots=True)
class PreparedBooking:
    """Everything needed to insert one booking, already sealed."""

    booking: Booking
    source: Source
    record_id: str
    booking_bidx: str
    name_dob_bidx: str
    state_id_bidx: str | None
    fingerprint: str
    key_id: str
    kek_version: int
    wrapped_key: bytes
    identity_sealed: bytes
    offence_sealed: bytes | None
    images: tuple[SealedImage, ...] = field(default=())
    decision: Decision | None = None
    evaluated_on: dt.date | None = None

    def __repr__(self) -> str:
        return f"<PreparedBooking {self.record_id} {self.booking!r}>"


def _image_id(keyring: Keyring, booking: Booking, ordinal: int, kind: ImageKind) -> str:
    natural = f"{booking.agency}|{crypto.normalise_identifier(booking.booking_number)}"
    return crypto.blind_index(keyring.index_key, "image-id", f"{natural}|{ordinal}|{kind}")[:32]


def _seal_image(
    data_key: bytes,
    keyring: Keyring,
    *,
    record_id: str,
    image_id: str,
    kind: ImageKind,
    derived_from: str | None,
    ordinal: int,
    media_type: str,
    width: int,
    height: int,
    plaintext: bytes,
) -> SealedImage:
    sealed = crypto.seal_blob(data_key, plaintext, record_id=record_id, image_id=image_id)
    return SealedImage(
        id=image_id,
        kind=kind,
        derived_from=derived_from,
        ordinal=ordinal,
        media_type=media_type,
        byte_size=len(plaintext),
        width=width,
        height=height,
        content_hmac=crypto.keyed_hash(keyring.index_key, "image", plaintext),
        sealed=sealed,
        sealed_sha256=hashlib.sha256(sealed).hexdigest(),
    )


def check_images(raw_images: list[bytes], settings: Settings) -> list[CheckedImage]:
    """Validate every image of a booking (``ImageRejectedError`` names the first bad one)."""
    return [
        check_image(
            data,
            max_bytes=settings.max_image_bytes,
            max_pixels=settings.max_image_pixels,
            thumbnail_size=settings.thumbnail_size,
        )
        for data in raw_images
    ]


def booking_facts(record_id: str, booking: Booking) -> RecordFacts:
    """The facts a new booking is evaluated on (no holds, consents or reviews yet)."""
    return RecordFacts(
        id=record_id,
        jurisdiction=booking.jurisdiction.value,
        holder=booking.holder.value,
        data_kind=booking.data_kind.value,
        captured_on=booking.captured_at.date(),
        arrest_date=booking.arrest_date,
        age_at_capture=booking.age_at_capture,
        offence_class=booking.offence_class.value,
        mopi_group=booking.mopi_group,
        outcome=booking.outcome.value,
        outcome_on=booking.outcome_on,
        legal_basis=booking.legal_basis.value,
    )


def prepare(
    booking: Booking,
    images: list[CheckedImage],
    *,
    keyring: Keyring,
    source: Source,
    pack_for: Callable[[str], Pack] | None = None,
    today: dt.date | None = None,
) -> PreparedBooking:
    """Seal a validated booking under a new data key and evaluate it against the pack that
    governs it (``pack_for``, on ``today``). Thread-safe; touches no database."""
    record_id = uuid.uuid4().hex
    decision = None
    if pack_for is not None and today is not None:
        facts = booking_facts(record_id, booking).to_facts()
        decision = evaluate(pack_for(booking.jurisdiction.value), facts, today)
    key_id = uuid.uuid4().hex
    data_key = crypto.new_data_key()
    kek_version, wrapped = keyring.wrap(data_key, key_id=key_id)
    identity = {
        "booking_number": booking.booking_number,
        "name": booking.name,
        "date_of_birth": booking.date_of_birth.isoformat(),
        "state_id": booking.state_id,
    }
    sealed_images: list[SealedImage] = []
    content_hmacs: list[str] = []
    for ordinal, checked in enumerate(images):
        original_id = _image_id(keyring, booking, ordinal, ImageKind.ORIGINAL)
        original = _seal_image(
            data_key,
            keyring,
            record_id=record_id,
            image_id=original_id,
            kind=ImageKind.ORIGINAL,
            derived_from=None,
            ordinal=ordinal,
            media_type=checked.media_type,
            width=checked.width,
            height=checked.height,
            plaintext=checked.data,
        )
        thumbnail = _seal_image(
            data_key,
            keyring,
            record_id=record_id,
            image_id=_image_id(keyring, booking, ordinal, ImageKind.THUMBNAIL),
            kind=ImageKind.THUMBNAIL,
            derived_from=original_id,
            ordinal=ordinal,
            media_type="image/jpeg",
            width=checked.thumbnail_width,
            height=checked.thumbnail_height,
            plaintext=checked.thumbnail,
        )
        sealed_images += [original, thumbnail]
        content_hmacs.append(original.content_hmac)
    fingerprint_doc = json.dumps(
        {"booking": booking.fingerprint_fields(), "images": content_hmacs}, sort_keys=True
    )
    return PreparedBooking(
        booking=booking,
        source=source,
        record_id=record_id,
        booking_bidx=booking_index(keyring, booking.booking_number),
        name_dob_bidx=name_dob_index(keyring, booking.name, booking.date_of_birth),
        state_id_bidx=state_id_index(keyring, booking.state_id) if booking.state_id else None,
        fingerprint=crypto.blind_index(keyring.index_key, "import-fingerprint", fingerprint_doc),
        key_id=key_id,
        kek_version=kek_version,
        wrapped_key=wrapped,
        identity_sealed=sealing.seal_identity(data_key, record_id, identity),
        offence_sealed=sealing.seal(
            data_key, record_id, sealing.record_field("offence"), booking.offence
        )
        if booking.offence
        else None,
        images=tuple(sealed_images),
        decision=decision,
        evaluated_on=today if decision is not None else None,
    )


def refusal_against_stored(
    prepared: PreparedBooking, *, fingerprint: str | None, status: str
) -> str | None:
    """Why a booking already stored cannot be stored again; ``None`` when the stored record is
    the same booking with the same data (a re-run: skip it). Shared by import and the API."""
    if status == RecordStatus.PURGED.value:
        return "booking was purged; a destroyed record is never re-imported"
    if fingerprint == prepared.fingerprint:
        return None
    return (
        "booking already stored with different data; "
        "correct the stored record instead of re-importing"
    )


def stage_many(
    session: Session, batch: Sequence[PreparedBooking], *, now: dt.datetime, actor: str
) -> None:
    """Add records, keys, images, provenance and one audit entry per record to the caller's
    transaction, one multi-row INSERT per table.

    The record rows go first: they take the bookings' unique slots, so a concurrent importer of
    the same booking waits (PostgreSQL) or fails here — before any blob is written.
    """
    if not batch:
        return
    session.execute(insert(Record), [_record_row(p, now) for p in batch])
    # A removal request filed before these bookings arrived now finds them.
    request_counts.recount_candidates(
        session,
        name_dob_bidxs=[p.name_dob_bidx for p in batch],
        booking_bidxs=[p.booking_bidx for p in batch],
    )
    session.execute(
        insert(DataKey),
        [
            {
                "id": p.key_id,
                "record_id": p.record_id,
                "kek_version": p.kek_version,
                "wrapped": p.wrapped_key,
                "created_at": now,
            }
            for p in batch
        ],
    )
    session.execute(
        insert(Image),
        [
            {
                "id": i.id,
                "record_id": p.record_id,
                "kind": i.kind.value,
                "derived_from": i.derived_from,
                "ordinal": i.ordinal,
                "media_type": i.media_type,
                "byte_size": i.byte_size,
                "width": i.width,
                "height": i.height,
                "content_hmac": i.content_hmac,
                "sealed_sha256": i.sealed_sha256,
                "created_at": now,
            }
            for p in batch
            for i in sorted(p.images, key=lambda i: i.kind is not ImageKind.ORIGINAL)
        ],
    )
    session.execute(
        insert(ProvenanceEvent),
        [event for p in batch for event in _provenance(p, now=now, actor=actor)],
    )
    audit.append_many(
        session,
        [
            audit.Event(
                action="record.ingested",
                object_type="record",
                object_id=p.record_id,
                details={
                    "agency": p.booking.agency,
                    "jurisdiction": p.booking.jurisdiction.value,
                    "images": sum(1 for i in p.images if i.kind is ImageKind.ORIGINAL),
                    "source": p.source.kind,
                    "line": p.source.line,
                    "key_id": p.key_id,
                    "kek_version": p.kek_version,
                },
            )
            for p in batch
        ],
        now=now,
        actor=actor,
    )


def _record_row(p: PreparedBooking, now: dt.datetime) -> dict[str, Any]:
    b = p.booking
    decided: dict[str, Any] = {}
    if p.decision is not None:
        sched = schedule_for(p.decision, status=RecordStatus.ACTIVE.value)
        decided = {
            "decision_trace": p.decision.to_json(),
            "permitted_purposes": sorted(x.value for x in p.decision.purposes),
            "decision_rule": p.decision.rule,
            "policy_pack": p.decision.pack,
            "policy_version": p.decision.pack_version,
            "evaluated_on": p.evaluated_on,
            "next_action": sched.action,
            "next_action_due": sched.due_on,
            "review_due_on": sched.review_due_on,
        }
    return decided | {
        "id": p.record_id,
        "agency": b.agency,
        "booking_bidx": p.booking_bidx,
        "jurisdiction": b.jurisdiction.value,
        "holder": b.holder.value,
        "data_kind": b.data_kind.value,
        "arrest_date": b.arrest_date,
        "captured_on": b.captured_at.date(),
        "offence_sealed": p.offence_sealed,
        "offence_class": b.offence_class.value,
        "mopi_group": b.mopi_group,
        "age_at_capture": b.age_at_capture,
        "outcome": b.outcome.value,
        "outcome_on": b.outcome_on,
        "legal_basis": b.legal_basis.value,
        "status": RecordStatus.ACTIVE.value,
        "identity_sealed": p.identity_sealed,
        "name_dob_bidx": p.name_dob_bidx,
        "state_id_bidx": p.state_id_bidx,
        "import_fingerprint": p.fingerprint,
        "source_system": b.source_system,
        "created_at": now,
        "updated_at": now,
    }


def _provenance(prepared: PreparedBooking, *, now: dt.datetime, actor: str) -> list[dict[str, Any]]:
    b = prepared.booking
    events: list[dict[str, Any]] = []
    for image in prepared.images:
        if image.kind is ImageKind.ORIGINAL:
            captured: dict[str, Any] = {
                "at": b.captured_at.isoformat(),
                "device": b.capture_device,
                "operator": b.captured_by,
                "place": b.capture_place,
            }
            imported: dict[str, Any] = {
                "source_system": b.source_system,
                "via": prepared.source.kind,
                "file": prepared.source.reference,
                "file_sha256": prepared.source.digest,
                "line": prepared.source.line,
                "content_hmac": image.content_hmac,
                "media_type": image.media_type,
                "bytes": image.byte_size,
            }
            events.append(
                {
                    "record_id": prepared.record_id,
                    "image_id": image.id,
                    "kind": ProvenanceKind.CAPTURED.value,
                    "occurred_at": b.captured_at,
                    "actor": b.captured_by or b.source_system,
                    "details": captured,
                }
            )
            events.append(
                {
                    "record_id": prepared.record_id,
                    "image_id": image.id,
                    "kind": ProvenanceKind.IMPORTED.value,
                    "occurred_at": now,
                    "actor": actor,
                    "details": imported,
                }
            )
        else:
            events.append(
                {
                    "record_id": prepared.record_id,
                    "image_id": image.id,
                    "kind": ProvenanceKind.DERIVED.value,
                    "occurred_at": now,
                    "actor": actor,
                    "details": {
                        "from": image.derived_from,
                        "method": f"{image.kind.value} {image.width}x{image.height} JPEG",
                    },
                }
            )
    return events


def write_blobs(store: BlobStore, batch: Sequence[PreparedBooking]) -> None:
    """Store every sealed blob of a batch, durably, before its transaction commits."""
    store.put_many((image.id, image.sealed) for p in batch for image in p.images)
