"""Purge: the crypto-shred of one record, with its tombstone, audit entry and certificate.

Layer: ``retention.engine``.

In one transaction: refuse if any hold is pending or active (invariant 3, on every path), delete
the record's data key (from that commit on, every blob and sealed field of the record is noise),
reduce the record to its tombstone (``tombstone``: every path — the sweep, a request's approval,
a review — goes through it), append the audit entry and sign the certificate that quotes it.
The blobs are deleted by the caller *after* the commit — a crash in between leaves only blobs
that no key can open, which ``janitor`` removes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from retention.audit import chain as audit
from retention.db import request_counts
from retention.db.models import (
    AuditNote,
    Certificate,
    Consent,
    DataKey,
    HoldState,
    Image,
    LegalHold,
    ProvenanceEvent,
    Record,
    RecordStatus,
    RequestMatch,
    ReviewDecision,
    SecondApproval,
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
        # What the tombstones stop matching: the removal requests that counted these records.
        found_by = (
            [r.name_dob_bidx for r in records],
            [r.booking_bidx for r in records],
        )
        missing = [rid for rid in ids if rid not in keys]
        if missing:
            raise HoldError(f"record {missing[0]} has no data key but is not marked purged")
        session.execute(delete(DataKey).where(DataKey.record_id.in_(ids)))
        tombstone(session, items, now)
    session.flush()
    request_counts.recount_candidates(
        session, name_dob_bidxs=found_by[0], booking_bidxs=found_by[1], record_ids=ids
    )
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


# Every column of a record that a tombstone clears (all but the ones named in ``tombstone``).
_CLEARED = {
    "holder": None,
    "data_kind": None,
    "arrest_date": None,
    "captured_on": None,
    "offence_sealed": None,
    "offence_class": None,
    "mopi_group": None,
    "age_at_capture": None,
    "outcome": None,
    "outcome_on": None,
    "legal_basis": None,
    "restriction_sealed": None,
    "next_action": None,
    "next_action_due": None,
    "decision_trace": None,
    "permitted_purposes": None,
    "evaluated_on": None,
    "review_due_on": None,
    "review_queued_at": None,
    "reviewed_on": None,
    "exceptional_reason": False,
    "identity_sealed": None,
    "name_dob_bidx": None,
    "state_id_bidx": None,
    "import_fingerprint": None,
    "source_system": None,
}


def tombstone(
    session: Session, items: Sequence[tuple[Record, Mapping[str, Any]]], now: dt.datetime
) -> None:
    """Reduce records (whose data keys the caller deletes in the same transaction) to their
    tombstones — the one function every purge path uses.

    A tombstone keeps the opaque id, agency, jurisdiction, booking blind index (so the booking
    is never imported again), ``status`` purged, the purge time (``purged_at``; ``created_at``
    and ``updated_at`` become it too) and the rule or decision that purged it
    (``decision_rule``, ``policy_pack``, ``policy_version``); the certificate row names the
    record. Everything else goes: every other column of the record; consents, holds (only
    released ones can remain), review decisions and second-person approvals of the record;
    the sealed reasons of its matches to removal requests and of its audited reads; its
    images' keyed content hashes; and of its provenance events only the kind, the image id
    and the day remain (operator, device, place and every detail removed).
    """
    ids = [record.id for record, _ in items]
    for record, reason in items:
        for column, value in _CLEARED.items():
            setattr(record, column, value)
        record.status = RecordStatus.PURGED.value
        record.purged_at = now
        record.created_at = now
        record.updated_at = now
        record.decision_rule = _purged_by(reason)
        record.policy_pack = _text(reason.get("pack"), 64)
        record.policy_version = _text(reason.get("pack_version"), 32)
    for table in (Consent, LegalHold, ReviewDecision):
        session.execute(
            delete(table)
            .where(table.record_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    session.execute(
        delete(SecondApproval)
        .where(SecondApproval.subject_type == "record", SecondApproval.subject_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(AuditNote)
        .where(AuditNote.owner_type == "record", AuditNote.owner_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(RequestMatch)
        .where(RequestMatch.record_id.in_(ids))
        .values(reason_sealed=None, confirm_reason_sealed=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Image)
        .where(Image.record_id.in_(ids))
        .values(destroyed_at=now, content_hmac=None)
        .execution_options(synchronize_session=False)
    )
    # Provenance keeps what happened and on which day; who, where, with what and how is gone.
    events = session.execute(
        select(ProvenanceEvent.id, ProvenanceEvent.occurred_at).where(
            ProvenanceEvent.record_id.in_(ids)
        )
    ).all()
    if events:
        session.execute(
            update(ProvenanceEvent),
            [
                {"id": event_id, "occurred_at": _day(at), "actor": REDACTED, "details": {}}
                for event_id, at in events
            ],
            execution_options={"synchronize_session": False},
        )


REDACTED = "-"


def _day(at: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(at.astimezone(dt.UTC).date(), dt.time(), tzinfo=dt.UTC)


def _text(value: object, limit: int) -> str | None:
    return str(value)[:limit] if value else None


def _purged_by(reason: Mapping[str, Any]) -> str:
    """The rule that purged a record, else the decision (``review``, a request's approval)."""
    return str(reason.get("decision") or reason.get("rule") or "purge")[:120]


def delete_blobs(store: BlobStore, keys: Sequence[str]) -> None:
    """Delete purged records' blobs (idempotent; the janitor retries what fails). The blobs
    are already noise — their key is gone — so this is tidiness, not the destruction itself."""
    store.delete_many(keys)
