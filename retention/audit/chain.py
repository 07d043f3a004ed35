"""The append-only, hash-chained audit log.

Layer: ``retention.audit``. Every state change and every decrypting read appends exactly one entry.
An entry's hash covers its sequence number, time, actor, action, object, rule, details and the
previous entry's hash (canonical JSON, RFC 8785), so editing, deleting or reordering any entry
breaks verification at that entry. Appends lock the single ``audit_head`` row first
(``FOR UPDATE`` on PostgreSQL; on SQLite every transaction already holds the write lock), so two
writers can never both extend the same head and fork the chain.

Details never carry personal data: ids, counts, rule ids, hashes. ``append`` refuses the
field names that would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from retention.db.models import AuditEntry, AuditHead
from retention.errors import AuditChainError, RetentionError
from retention.keys.keyring import Keyring

GENESIS_HASH = "0" * 64
HEAD_ID = 1
CHECKPOINT_FORMAT = "mugshot-audit-checkpoint/1"

# Names that would put personal data into the log; refused outright.
_FORBIDDEN_DETAIL_KEYS = frozenset(
    {"name", "subject_name", "date_of_birth", "dob", "state_id", "identity", "image", "bytes"}
)


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    occurred_at: dt.datetime,
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    rule: str | None,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of every field of an entry."""
    doc = {
        "seq": seq,
        "at": _timestamp(occurred_at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "rule": rule,
        "details": dict(details),
        "prev": prev_hash,
    }
    return hashlib.sha256(rfc8785.dumps(doc)).hexdigest()  # type: ignore[arg-type]


def stored_entry_hash(row: AuditEntry) -> str:
    """The hash a stored entry's fields give now (``verify`` compares it with the stored hash)."""
    return entry_hash(
        seq=row.seq,
        occurred_at=row.occurred_at,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        rule=row.rule,
        details=row.details,
        prev_hash=row.prev_hash,
    )


def _check_details(details: Mapping[str, Any]) -> None:
    bad = _FORBIDDEN_DETAIL_KEYS.intersection(k.lower() for k in details)
    if bad:
        raise RetentionError(f"audit details may not carry personal data fields: {sorted(bad)}")
    for value in details.values():
        if isinstance(value, bytes | bytearray | float):
            raise RetentionError("audit details take ids, counts and strings, not bytes or floats")


def _lock_head(session: Session) -> AuditHead:
    head = session.execute(
        select(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if head is None:
        raise AuditChainError("audit chain head is missing: run `mugshot init`")
    return head


@dataclass(frozen=True, slots=True)
class Event:
    """One audit entry to append (the chain fields are filled in by ``append_many``)."""

    action: str
    object_type: str | None = None
    object_id: str | None = None
    rule: str | None = None
    details: Mapping[str, Any] | None = None


def append_many(
    session: Session, events: Sequence[Event], *, now: dt.datetime, actor: str
) -> list[dict[str, Any]]:
    """Append entries in order, in the caller's transaction (the caller commits).

    The head is locked once for the whole group, so a batch of ingests costs one lock and one
    multi-row INSERT instead of one of each per entry.
    """
    if not events:
        return []
    head = _lock_head(session)
    seq, prev = head.seq, head.hash
    rows: list[dict[str, Any]] = []
    for event in events:
        body = dict(event.details or {})
        _check_details(body)
        # Round-trip through JSON so the hash covers exactly what the database returns.
        body = json.loads(json.dumps(body))
        seq += 1
        digest = entry_hash(
            seq=seq,
            occurred_at=now,
            actor=actor,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            rule=event.rule,
            details=body,
            prev_hash=prev,
        )
        rows.append(
            {
                "seq": seq,
                "occurred_at": now,
                "actor": actor,
                "action": event.action,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "rule": event.rule,
                "details": body,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    session.execute(insert(AuditEntry), rows)
    head.seq, head.hash = seq, prev
    session.flush()
    return rows


def append(
    session: Session,
    *,
    now: dt.datetime,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    rule: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one entry in the caller's transaction (the caller commits); returns its row."""
    event = Event(action, object_type, object_id, rule, details)
    return append_many(session, [event], now=now, actor=actor)[0]


def record(sessions: Callable[[], Session], *, now: dt.datetime, **entry: Any) -> dict[str, Any]:
    """``append`` (same keywords) in a transaction of its own, committed: a job's summary line,
    which belongs to no other unit of work; ``sessions`` is a session factory."""
    with sessions() as session, session.begin():
        return append(session, now=now, **entry)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of walking the chain."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(session: Session, *, batch: int = 2000) -> VerifyResult:
    """Walk the whole chain in order; name the first entry that does not verify."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    checked = 0
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        return VerifyResult(False, 0, 0, GENESIS_HASH, None, "audit chain head is missing")
    while True:
        rows = (
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.seq >= expected_seq)
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return VerifyResult(
                    False,
                    checked,
                    head.seq,
                    head.hash,
                    expected_seq,
                    f"entry {expected_seq} is missing (next present entry is {row.seq})",
                )
            if row.prev_hash != prev_hash:
                return VerifyResult(
                    False,
                    checked,
                    head.seq,
                    head.hash,
                    row.seq,
                    f"entry {row.seq} does not link to entry {row.seq - 1} "
                    "(deleted, inserted or reordered entries)",
                )
            recomputed = stored_entry_hash(row)
            if recomputed != row.hash:
                return VerifyResult(
                    False,
                    checked,
                    head.seq,
                    head.hash,
                    row.seq,
                    f"entry {row.seq} was modified (its hash does not match its contents)",
                )
            prev_hash = row.hash
            expected_seq += 1
            checked += 1
        session.expunge_all()
    last_seq = expected_seq - 1
    if last_seq != head.seq or prev_hash != head.hash:
        return VerifyResult(
            False,
            checked,
            head.seq,
            head.hash,
            last_seq + 1,
            f"chain ends at entry {last_seq} but the head names entry {head.seq} "
            "(entries removed from the end, or the head was edited)",
        )
    return VerifyResult(True, checked, head.seq, head.hash)


def export_checkpoint(session: Session, keyring: Keyring, now: dt.datetime) -> dict[str, Any]:
    """A signed (seq, head hash) checkpoint to keep outside the database.

    A copy held elsewhere (printed, e-mailed to an auditor, in WORM storage) later proves the
    chain was not truncated or rewritten up to that point: ``verify_checkpoint``.
    """
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        raise AuditChainError("audit chain head is missing: run `mugshot init`")
    body = {
        "format": CHECKPOINT_FORMAT,
        "seq": head.seq,
        "hash": head.hash,
        "exported_at": _timestamp(now),
    }
    signature = keyring.signing_key().sign(rfc8785.dumps(body))  # type: ignore[arg-type]
    return {**body, "signature": signature.hex()}


def verify_checkpoint(
    session: Session, checkpoint: Mapping[str, Any], public_key_pem: bytes
) -> str | None:
    """None if the checkpoint is genuine and the stored chain still holds it; else a reason."""
    try:
        body = {k: checkpoint[k] for k in ("format", "seq", "hash", "exported_at")}
        signature = bytes.fromhex(str(checkpoint["signature"]))
    except (KeyError, ValueError):
        return "checkpoint file is malformed"
    key = load_pem_public_key(public_key_pem)
    if not isinstance(key, Ed25519PublicKey):
        return "public key is not an Ed25519 key"
    try:
        key.verify(signature, rfc8785.dumps(body))
    except InvalidSignature:
        return "checkpoint signature does not verify"
    seq = body["seq"]
    if not isinstance(seq, int):
        return "checkpoint seq is not a number"
    if seq == 0:
        return None
    entry = session.get(AuditEntry, seq)
    if entry is None:
        return f"entry {seq} named by the checkpoint is missing"
    if entry.hash != body["hash"]:
        return f"entry {seq} no longer has the hash the checkpoint recorded"
    return None
