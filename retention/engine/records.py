"""Finding records and reading what is sealed in them.

Layer: ``retention.engine``. Every decrypting read (identity reveal, image export or view) appends
exactly one audit entry and one provenance event in the caller's transaction, and requires a
stated reason — sealed under the record's data key (``sealing.append_with_reason``); the entry
and the event carry only its length, keyed hash and the entry's sequence number.

A record is found by id, by booking number (through its blind index) or by the booking's short
form ``bk-`` + the first hex digits of that index (``Record.booking_ref``), which screens show
where identity is not needed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from retention.db.models import (
    BOOKING_REF_PREFIX,
    Consent,
    DataKey,
    Image,
    ImageKind,
    LegalHold,
    ProvenanceEvent,
    ProvenanceKind,
    Record,
    RecordStatus,
)
from retention.engine import sealing
from retention.engine.reasons import ReasonError, stated_reason
from retention.errors import KeyShreddedError, NotFoundError, RestrictedError, RetentionError
from retention.keys import crypto
from retention.keys.indexes import booking_index
from retention.keys.keyring import Keyring
from retention.storage.interface import BlobStore

MAX_REASON = 200
_HEX = re.compile(r"[0-9a-f]{10,64}")


def find_by_booking(
    session: Session, keyring: Keyring, booking_number: str, agency: str | None = None
) -> list[Record]:
    """Records whose booking number matches exactly (through the blind index)."""
    stmt = select(Record).where(Record.booking_bidx == booking_index(keyring, booking_number))
    if agency:
        stmt = stmt.where(Record.agency == agency)
    return list(session.execute(stmt.order_by(Record.agency)).scalars())


def booking_filter(keyring: Keyring, value: str) -> ColumnElement[bool]:
    """The condition for records whose booking is ``value``: its short form (``bk-…``, matched
    on the blind index's leading digits) or the number itself (through the blind index)."""
    digits = value.strip().lower().removeprefix(BOOKING_REF_PREFIX)
    if value.strip().lower().startswith(BOOKING_REF_PREFIX) and _HEX.fullmatch(digits):
        return Record.booking_bidx.startswith(digits, autoescape=True)
    return Record.booking_bidx == booking_index(keyring, value)


def find_by_ref(session: Session, ref: str, agency: str | None = None) -> list[Record]:
    """Records whose booking short form (``bk-0123456789``) is ``ref``."""
    digits = ref.strip().lower().removeprefix(BOOKING_REF_PREFIX)
    if not ref.strip().lower().startswith(BOOKING_REF_PREFIX) or not _HEX.fullmatch(digits):
        return []
    stmt = select(Record).where(Record.booking_bidx.startswith(digits, autoescape=True))
    if agency:
        stmt = stmt.where(Record.agency == agency)
    return list(session.execute(stmt.order_by(Record.agency)).scalars())


def resolve(session: Session, keyring: Keyring, ref: str, agency: str | None = None) -> Record:
    """A record by id, booking short form or booking number; refuses an ambiguous one."""
    by_id = session.get(Record, ref) if len(ref) == 32 else None
    if by_id is not None:
        return by_id
    matches = find_by_ref(session, ref, agency) or find_by_booking(session, keyring, ref, agency)
    if not matches:
        raise NotFoundError(f"no record with id or booking number {ref!r}")
    if len(matches) > 1:
        agencies = ", ".join(r.agency for r in matches)
        raise RetentionError(f"that booking exists at several agencies ({agencies}); pass --agency")
    return matches[0]


def data_key(session: Session, keyring: Keyring, record: Record) -> bytes:
    """Unwrap the record's data key; ``KeyShreddedError`` once it was destroyed."""
    return sealing.record_key(session, keyring, record.id)


def _reason(reason: str) -> str:
    """The stated reason for a decrypting read: a real sentence (``reasons.stated_reason``) that
    fits one audit line (``MAX_REASON``); ``ReasonError`` otherwise."""
    text = stated_reason(reason)
    if len(text) > MAX_REASON:
        raise ReasonError(f"reason: at most {MAX_REASON} characters")
    return text


def reveal_identity(
    session: Session,
    keyring: Keyring,
    record: Record,
    *,
    actor: str,
    reason: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """Decrypt the subject's identity fields — booking number, name, date of birth, state id —
    and the offence description (audited)."""
    why = _reason(reason)
    if record.identity_sealed is None:
        raise KeyShreddedError(f"record {record.id} holds no identity fields (purged)")
    key = data_key(session, keyring, record)
    identity = sealing.open_identity(key, record)
    if record.offence_sealed is not None:
        identity["offence"] = sealing.unseal(
            key, record.id, sealing.record_field("offence"), record.offence_sealed
        )
    entry = sealing.append_with_reason(
        session,
        keyring,
        key=key,
        owner_type=sealing.RECORD,
        owner_id=record.id,
        reason=why,
        now=now,
        actor=actor,
        action="record.identity_revealed",
        object_type="record",
        object_id=record.id,
    )
    session.add(
        ProvenanceEvent(
            record_id=record.id,
            kind=ProvenanceKind.VIEWED.value,
            occurred_at=now,
            actor=actor,
            details={"what": "identity", "audit_seq": entry["seq"]},
        )
    )
    return identity


def read_image(
    session: Session,
    keyring: Keyring,
    store: BlobStore,
    record: Record,
    *,
    actor: str,
    reason: str,
    now: dt.datetime,
    image_id: str | None = None,
    kind: ImageKind = ImageKind.ORIGINAL,
    disclosed_to: str | None = None,
    purpose: str = "identification",
) -> tuple[Image, bytes]:
    """Decrypt one image of a record (audited). The first original unless ``image_id``.

    A restricted record opens only for a purpose its rule still allows (evidence, legal
    claims…): restriction blocks every other processing (DPA 2018 s.47, GDPR Art 18).
    """
    why = _reason(reason)
    if record.status == RecordStatus.RESTRICTED.value and purpose not in (
        record.permitted_purposes or []
    ):
        allowed = ", ".join(record.permitted_purposes or []) or "none"
        raise RestrictedError(
            f"record {record.id} is restricted; purpose {purpose!r} is not allowed "
            f"(allowed: {allowed})"
        )
    stmt = select(Image).where(Image.record_id == record.id)
    if image_id:
        stmt = stmt.where(Image.id == image_id)
    else:
        stmt = stmt.where(Image.kind == kind.value).order_by(Image.ordinal)
    image = session.execute(stmt.limit(1)).scalar_one_or_none()
    if image is None:
        raise NotFoundError(f"record {record.id} has no such image")
    key = data_key(session, keyring, record)
    plaintext = crypto.open_blob(key, store.get(image.id), record_id=record.id, image_id=image.id)
    event_kind = ProvenanceKind.DISCLOSED if disclosed_to else ProvenanceKind.VIEWED
    entry = sealing.append_with_reason(
        session,
        keyring,
        key=key,
        owner_type=sealing.RECORD,
        owner_id=record.id,
        reason=why,
        now=now,
        actor=actor,
        action="image.exported" if disclosed_to else "image.viewed",
        object_type="image",
        object_id=image.id,
        details={"record_id": record.id, "purpose": purpose},
    )
    details: dict[str, Any] = {"purpose": purpose, "audit_seq": entry["seq"]}
    if disclosed_to:
        details["to"] = disclosed_to
    session.add(
        ProvenanceEvent(
            record_id=record.id,
            image_id=image.id,
            kind=event_kind.value,
            occurred_at=now,
            actor=actor,
            details=details,
        )
    )
    return image, plaintext


@dataclass(frozen=True)
class RecordView:
    """Everything a clerk sees about a record without decrypting anything."""

    record: Record
    images: list[Image]
    provenance: list[ProvenanceEvent]
    holds: list[LegalHold]
    consents: list[Consent]
    has_key: bool


def view(session: Session, record: Record) -> RecordView:
    """Metadata, provenance timeline, holds and consents of a record."""
    rid = record.id
    return RecordView(
        record=record,
        images=list(
            session.execute(
                select(Image).where(Image.record_id == rid).order_by(Image.ordinal, Image.kind)
            ).scalars()
        ),
        provenance=list(
            session.execute(
                select(ProvenanceEvent)
                .where(ProvenanceEvent.record_id == rid)
                .order_by(ProvenanceEvent.occurred_at, ProvenanceEvent.id)
            ).scalars()
        ),
        holds=list(session.execute(select(LegalHold).where(LegalHold.record_id == rid)).scalars()),
        consents=list(session.execute(select(Consent).where(Consent.record_id == rid)).scalars()),
        has_key=session.execute(select(DataKey.id).where(DataKey.record_id == rid)).first()
        is not None,
    )
