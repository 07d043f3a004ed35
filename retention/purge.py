"""Purge: the crypto-shred of one record, with its tombstone, audit entry and certificate.

Layer: ``retention``.

In one transaction: refuse if any hold is pending or active (invariant 3, on every path), delete
the record's data key (from that commit on, every blob and sealed field of the record is noise),
clear every sealed field and blind index except the booking's (so a destroyed booking is never
re-imported), mark the record purged, append the audit entry and sign the certificate that
quotes it. The blobs are deleted by the caller *after* the commit — a crash in between leaves
only blobs that no key can open, which ``janitor`` removes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from retention import audit, certificates
from retention.blobstore import BlobStore
from retention.errors import HoldError
from retention.keys import Keyring
from retention.models import (
    Certificate,
    DataKey,
    HoldState,
    Image,
    LegalHold,
    Record,
    RecordStatus,
)


@dataclass(frozen=True, slots=True)
class Purged:
    """What a purge destroyed; ``blob_keys`` are to be deleted once the transaction commits."""

    record_id: str
    certificate: Certificate
    blob_keys: tuple[str, ...]


def held(session: Session, record_id: str) -> bool:
    """True while any hold on the record is pending or active."""
    count = session.execute(
        select(func.count())
        .select_from(LegalHold)
        .where(LegalHold.record_id == record_id, LegalHold.state != HoldState.RELEASED.value)
    ).scalar_one()
    return bool(count)


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
    if record.status == RecordStatus.PURGED.value:
        raise HoldError(f"record {record.id} is already purged")
    if held(session, record.id):
        raise HoldError(f"record {record.id} is under a legal hold and cannot be purged")
    key = session.execute(select(DataKey).where(DataKey.record_id == record.id)).scalar_one()
    images = list(
        session.execute(
            select(Image).where(Image.record_id == record.id).order_by(Image.ordinal, Image.kind)
        ).scalars()
    )
    key_id, kek_version = key.id, key.kek_version
    session.execute(delete(DataKey).where(DataKey.id == key_id))
    for image in images:
        image.destroyed_at = now
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
    entry = audit.append(
        session,
        now=now,
        actor=actor,
        action="record.purged",
        object_type="record",
        object_id=record.id,
        rule=str(reason.get("rule")) if reason.get("rule") else None,
        details={
            "key_id": key_id,
            "kek_version": kek_version,
            "images": len(images),
            "request_reference": request_reference,
        },
    )
    cert = certificates.issue(
        session,
        keyring,
        record_id=record.id,
        images=[certificates.DestroyedImage(i.id, i.kind, i.sealed_sha256) for i in images],
        data_key_id=key_id,
        kek_version=kek_version,
        reason=reason,
        destroyed_at=now,
        audit_seq=entry["seq"],
        audit_hash=entry["hash"],
        request_reference=request_reference,
    )
    session.flush()
    return Purged(record.id, cert, tuple(i.id for i in images))


def delete_blobs(store: BlobStore, keys: tuple[str, ...]) -> None:
    """Delete a purged record's blobs (idempotent; the janitor retries what fails)."""
    for key in keys:
        store.delete(key)
