"""Free text and the booking number sealed under the data key of what they belong to.

Layer: ``retention.engine`` (imports ``audit``, ``keys``, ``db``).

Anything a person types that can hold personal data — the offence description, a restriction's
reason, staff reasons on holds, reviews, matches and second approvals, a request's decision
reasons, the stated reason of every audited read — is stored only as a sealed field under the
data key of the record (or removal request) it belongs to, bound to that record and to the row
and column it sits in (``hold:<id>:reason``), so it cannot be moved onto another row unnoticed.
A purge deletes the record's data key: every such text of the record becomes noise in the same
commit, and the tombstone clears the columns as well.

Audit entries never quote a reason: they carry its length and a keyed hash (HMAC under the index
key, so a short reason cannot be guessed from it), and the reason itself is an ``AuditNote`` row
sealed like the rest, linked by the entry's sequence number.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.audit import chain as audit
from retention.db.models import AuditNote, DataKey, Record, RemovalRequest
from retention.errors import IntegrityError, KeyShreddedError
from retention.keys import crypto
from retention.keys.keyring import Keyring

RECORD = "record"
REQUEST = "request"
IDENTITY_FIELD = "identity"


def record_key(session: Session, keyring: Keyring, record_id: str) -> bytes:
    """Unwrap a record's data key; ``KeyShreddedError`` once it was destroyed."""
    with session.no_autoflush:
        row = session.execute(
            select(DataKey).where(DataKey.record_id == record_id)
        ).scalar_one_or_none()
    if row is None:
        raise KeyShreddedError(f"record {record_id} was purged: its data key no longer exists")
    return keyring.unwrap(row.wrapped, key_id=row.id, version=row.kek_version)


def request_key(keyring: Keyring, req: RemovalRequest) -> bytes:
    """Unwrap a removal request's own data key; ``KeyShreddedError`` once it was destroyed."""
    if req.wrapped_key is None or req.key_id is None or req.kek_version is None:
        raise KeyShreddedError(f"request {req.id}: its data key was destroyed")
    return keyring.unwrap(req.wrapped_key, key_id=req.key_id, version=req.kek_version)


def seal(key: bytes, owner_id: str, field: str, text: str) -> bytes:
    """Seal ``text`` for the column ``field`` (``<table>:<row id>:<column>``) of ``owner_id``."""
    return crypto.seal_field(key, text.encode(), record_id=owner_id, field=field)


def unseal(key: bytes, owner_id: str, field: str, sealed: bytes) -> str:
    """Open what ``seal`` sealed; ``IntegrityError`` if it was edited or moved."""
    return crypto.open_field(key, sealed, record_id=owner_id, field=field).decode()


def seal_for_record(
    session: Session, keyring: Keyring, record_id: str, field: str, text: str | None
) -> bytes | None:
    """``text`` sealed under the record's data key (``None`` stays ``None``)."""
    if text is None:
        return None
    return seal(record_key(session, keyring, record_id), record_id, field, text)


def seal_for_request(
    keyring: Keyring, req: RemovalRequest, field: str, text: str | None
) -> bytes | None:
    """``text`` sealed under the request's data key (``None`` stays ``None``)."""
    if text is None:
        return None
    return seal(request_key(keyring, req), req.id, field, text)


class Opener:
    """Opens the sealed texts shown on one page or printed by one command, unwrapping each data
    key once. A destroyed key gives ``None`` (the text is gone with its record), a sealed text
    that fails authentication a marker that says so — never a wrong text."""

    TAMPERED = "[sealed text failed authentication]"

    def __init__(self, session: Session, keyring: Keyring) -> None:
        self._session = session
        self._keyring = keyring
        self._keys: dict[str, bytes | None] = {}

    def _key(self, owner_type: str, owner_id: str) -> bytes | None:
        if owner_id not in self._keys:
            try:
                if owner_type == REQUEST:
                    req = self._session.get(RemovalRequest, owner_id)
                    self._keys[owner_id] = (
                        request_key(self._keyring, req) if req is not None else None
                    )
                else:
                    self._keys[owner_id] = record_key(self._session, self._keyring, owner_id)
            except KeyShreddedError:
                self._keys[owner_id] = None
        return self._keys[owner_id]

    def text(self, owner_type: str, owner_id: str, field: str, sealed: bytes | None) -> str | None:
        """The plaintext of one sealed column, ``None`` when empty or shredded."""
        if sealed is None:
            return None
        key = self._key(owner_type, owner_id)
        if key is None:
            return None
        try:
            return unseal(key, owner_id, field, sealed)
        except IntegrityError:
            return self.TAMPERED

    def record(self, owner_id: str, field: str, sealed: bytes | None) -> str | None:
        """A sealed column of (or belonging to) a record."""
        return self.text(RECORD, owner_id, field, sealed)

    def request(self, owner_id: str, field: str, sealed: bytes | None) -> str | None:
        """A sealed column of (or belonging to) a removal request."""
        return self.text(REQUEST, owner_id, field, sealed)


# -- the record's identity (name, date of birth, state id, booking number) -------------------


def seal_identity(key: bytes, record_id: str, identity: Mapping[str, Any]) -> bytes:
    """The identity fields as one sealed JSON document."""
    return crypto.seal_field(
        key, json.dumps(dict(identity)).encode(), record_id=record_id, field=IDENTITY_FIELD
    )


def open_identity(key: bytes, record: Record) -> dict[str, Any]:
    """The identity fields (``KeyShreddedError`` on a tombstone)."""
    if record.identity_sealed is None:
        raise KeyShreddedError(f"record {record.id} holds no identity fields (purged)")
    opened: dict[str, Any] = json.loads(
        crypto.open_field(key, record.identity_sealed, record_id=record.id, field=IDENTITY_FIELD)
    )
    return opened


# -- field names: one place, used by the code and by migration 0007 ---------------------------


def record_field(column: str) -> str:
    """The binding of a sealed column of the records table itself."""
    return f"records:{column}"


def request_field(column: str) -> str:
    """The binding of a sealed column of the removal_requests table itself."""
    return f"removal_requests:{column}"


def row_field(table: str, row_id: object, column: str) -> str:
    """The binding of a sealed column of a row that belongs to a record or request."""
    return f"{table}:{row_id}:{column}"


# -- reasons in the audit chain ---------------------------------------------------------------


def reason_digest(keyring: Keyring, reason: str) -> dict[str, Any]:
    """What an audit entry says about a reason: its length and keyed hash, never the text."""
    return {
        "reason_chars": len(reason),
        "reason_hmac": crypto.blind_index(keyring.index_key, "audit-reason", reason),
    }


def append_with_reason(
    session: Session,
    keyring: Keyring,
    *,
    key: bytes,
    owner_type: str,
    owner_id: str,
    reason: str,
    now: dt.datetime,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    rule: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Append an audit entry for an act done for a stated reason: the entry carries the reason's
    digest, and the reason is sealed under ``key`` (the data key of ``owner_type``/``owner_id``)
    in an ``AuditNote`` of that entry."""
    entry = audit.append(
        session,
        now=now,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        rule=rule,
        details={**(details or {}), **reason_digest(keyring, reason)},
    )
    session.add(
        AuditNote(
            audit_seq=entry["seq"],
            owner_type=owner_type,
            owner_id=owner_id,
            sealed=seal(key, owner_id, row_field("audit_notes", entry["seq"], "reason"), reason),
        )
    )
    return entry


def audit_reasons(session: Session, keyring: Keyring, seqs: list[int]) -> dict[int, str | None]:
    """The sealed reasons of these audit entries, opened (``None`` once shredded)."""
    if not seqs:
        return {}
    notes = session.execute(select(AuditNote).where(AuditNote.audit_seq.in_(seqs))).scalars()
    opener = Opener(session, keyring)
    return {
        n.audit_seq: opener.text(
            n.owner_type, n.owner_id, row_field("audit_notes", n.audit_seq, "reason"), n.sealed
        )
        for n in notes
    }
