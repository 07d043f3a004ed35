"""Purge: the crypto-shred of one record, with its tombstone, audit entry and certificate.

Layer: ``retention.engine``.

In one transaction: refuse if any hold is pending or active (invariant 3, on every path), delete
the record's data key (from that commit on, every blob and sealed field of the record is noise),
clear every sealed field and blind index except the booking's (so a destroyed booking is never
re-imported), mark the record purged, append the audit entry and sign the certificate that
quotes it. The blobs are deleted by the caller *after* the commit — a crash in between leaves
only blobs that no key can open, which ``janitor`` removes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from retention.audit import chain as audit
from retention.db.models import (
    Certificate,
    DataKey,
    HoldState,
    Image,
    LegalHold,
    Record,
    RecordStatus,
)
from retention.engine import certificates
from retention.errors import HoldError
from retention.keys.keyring import Keyring
from retention.storage.interface import BlobStore


@dataclass(frozen=True, slots=True)
class Purged:
    """What a purge destroyed; ``blob_keys`` are to be deleted once the transaction commits."""

    record_id: str
    certificate: Certificate
    blob_keys: tuple[str, ...]


def held(session: Session, record_id: str) -> bool:
    """True while any hold on the record is pending or active."""
    return bool(held_ids(session, [record_id]))


def held_ids(session: Session, record_ids: Sequence[str]) -> set[str]:
    """Which of these records have a hold that is pending or active."""
    with session.no_autoflush:
        return set(
            session.execute(
                select(LegalHold.record_id).where(
                    LegalHold.record_id.in_(record_ids),
                    LegalHold.state != HoldState.RELEASED.value,
                )
            ).scalars()
        )


def purge_record(
    session: Session,
    keyring: Keyring,
    record: Record,
    *,
    now: dt.datetime,
    actor: str,
    reason: Mapping[str, Any],
    request_reference: str | None = None,
) -> Purged:
    """Crypto-shred ``record`` in the caller's transaction; the caller commits, then deletes
    ``Purged.blob_keys``."""
    return purge_records(
        session,
        keyring,
        [(record, reason)],
        now=now,
        actor=actor,
        request_reference=request_reference,
    )[0]


def purge_records(
    session: Session,
    keyring: Keyring,
    items: Sequence[tuple[Record, Mapping[str, Any]]],
    *,
    now: dt.datetime,
    actor: str,
    request_reference: str | None = None,
    requester_reference_sha256: str | None = None,
) -> list[Purged]:
    """Crypto-shred several records at once (one statement per table, one audit-head lock);
    refuses the whole group if any record is purged already or held."""
    if not items:
        return []
    records = [record for record, _ in items]
    ids = [r.id for r in records]
    for record in records:
        if record.status == RecordStatus.PURGED.value:
            raise HoldError(f"record {record.id} is already purged")
    blocked = held_ids(session, ids)
    if blocked:
        raise HoldError(f"record {sorted(blocked)[0]} is under a legal hold and cannot be purged")
    with session.no_autoflush:
        keys = {
            k.record_id: (k.id, k.kek_version)
            for k in session.execute(select(DataKey).where(DataKey.record_id.in_(ids))).scalars()
        }
        images: dict[str, list[tuple[str, str, str]]] = {rid: [] for rid in ids}
        for image_id, record_id, kind, sealed in session.execute(
            select(Image.id, Image.record_id, Image.kind, Image.sealed_sha256)
            .where(Image.record_id.in_(ids))
            .order_by(Image.record_id, Image.ordinal, Image.kind)
        ):
            images[record_id].append((image_id, kind, sealed))
        missing = [rid for rid in ids if rid not in keys]
        if missing:
            raise HoldError(f"record {missing[0]} has no data key but is not marked purged")
        session.execute(delete(DataKey).where(DataKey.record_id.in_(ids)))
        session.execute(
            update(Image)
            .where(Image.record_id.in_(ids))
            .values(destroyed_at=now)
            .execution_options(synchronize_session=False)
        )
        for record in records:
            _tombstone(record, now)
    session.flush()
    events = [
        audit.Event(
            action="record.purged",
            object_type="record",
            object_id=record.id,
            rule=str(reason.get("rule")) if reason.get("rule") else None,
            details={
                "key_id": keys[record.id][0],
                "kek_version": keys[record.id][1],
                "images": len(images[record.id]),
                "request_reference": request_reference,
            },
        )
        for record, reason in items
    ]
    entries = audit.append_many(session, events, now=now, actor=actor)
    purged: list[Purged] = []
    for (record, reason), entry in zip(items, entries, strict=True):
        cert = certificates.issue(
            session,
            keyring,
            record_id=record.id,
            images=[certificates.DestroyedImage(*i) for i in images[record.id]],
            data_key_id=keys[record.id][0],
            kek_version=keys[record.id][1],
            reason=reason,
            destroyed_at=now,
            audit_seq=entry["seq"],
            audit_hash=entry["hash"],
            request_reference=request_reference,
            requester_reference_sha256=requester_reference_sha256,
        )
        purged.append(Purged(record.id, cert, tuple(i[0] for i in images[record.id])))
    session.flush()
    return purged


def _tombstone(record: Record, now: dt.datetime) -> None:
    """Clear everything of a record but its opaque id, agency, jurisdiction and booking index."""
    record.status = RecordStatus.PURGED.value
    record.purged_at = now
    record.updated_at = now
    record.identity_sealed = None
    record.name_dob_bidx = None
    record.state_id_bidx = None
    record.booking_number = None
    record.offence = None
    record.import_fingerprint = None
    record.restriction_reason = None
    record.next_action = None
    record.next_action_due = None
    record.review_due_on = None
    record.review_queued_at = None
    record.permitted_purposes = []


def delete_blobs(store: BlobStore, keys: Sequence[str]) -> None:
    """Delete purged records' blobs (idempotent; the janitor retries what fails). The blobs
    are already noise — their key is gone — so this is tidiness, not the destruction itself."""
    store.delete_many(keys)
