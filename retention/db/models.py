"""Typed ORM models: the schema of record.

Layer: ``retention.db``. Schema changes go through a reviewed Alembic revision in
``migrations/versions``; ``tests/integration/test_migrations.py`` fails when the two drift.

What is never stored here in plaintext: subject identity (name, date of birth, state id and
the booking number — sealed in ``Record.identity_sealed`` under the record's data key), free text
that can hold personal data (offence description, restriction reason, staff reasons on holds,
reviews, matches and second approvals, request decisions, the reasons of audited reads — each a
``*_sealed`` column under the data key of the record or request it belongs to, see
``retention.engine.sealing``), data keys (wrapped by a key-encryption-key version) and images
(sealed blobs in the blob store). Exact lookup uses blind indexes: HMACs of normalised values
under a separate index key.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

HASH_LEN = 64  # hex SHA-256 / HMAC-SHA256
# Records waiting in the disposition-review queue (the partial index's predicate).
REVIEW_WAITING = "review_queued_at IS NOT NULL AND status <> 'purged'"
ID_LEN = 32  # hex uuid4


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend.

    Naive datetimes are refused on the way in (a naive time is a bug: whose clock?); SQLite's
    naive values are read back as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with a fixed constraint-naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime()}


class RecordStatus(StrEnum):
    """Lifecycle of a record."""

    ACTIVE = "active"
    RESTRICTED = "restricted"
    PURGED = "purged"


class ImageKind(StrEnum):
    """An original capture or one of its derivatives."""

    ORIGINAL = "original"
    THUMBNAIL = "thumbnail"
    TEMPLATE = "template"
    EXPORT = "export"


class ProvenanceKind(StrEnum):
    """What happened to a record or image (its history is its provenance)."""

    CAPTURED = "captured"
    IMPORTED = "imported"
    DERIVED = "derived"
    DISCLOSED = "disclosed"
    VIEWED = "viewed"
    CORRECTED = "corrected"


class HoldState(StrEnum):
    """A hold blocks purge from the moment it is placed (fail safe) until it is released."""

    PENDING = "pending"
    ACTIVE = "active"
    RELEASED = "released"


BOOKING_REF_PREFIX = "bk-"
BOOKING_REF_HEX = 10


def booking_ref(booking_bidx: str) -> str:
    """The short form of a booking blind index (see ``Record.booking_ref``)."""
    return BOOKING_REF_PREFIX + booking_bidx[:BOOKING_REF_HEX]


class Record(Base):
    """One booking (arrest event) and its legal state; a tombstone once purged."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("agency", "booking_bidx"),
        # The sweep's range scan: what is due, by date, among records not yet purged.
        Index("ix_records_next_action_due_status", "next_action_due", "status"),
        # The disposition-review queue's counts (status, the dashboard, the navigation on every
        # staff page, metrics): a partial index holding only queued records, so counting the
        # queue costs what the queue holds, not a scan of every record.
        Index(
            "ix_records_review_waiting",
            "next_action",
            "jurisdiction",
            "review_due_on",
            postgresql_where=text(REVIEW_WAITING),
            sqlite_where=text(REVIEW_WAITING),
        ),
        # The review queue (``retention.engine.review_queue``): its page in due order and its
        # counts by jurisdiction, rule and age from this index alone.
        Index(
            "ix_records_review_queue",
            "next_action",
            "review_due_on",
            "jurisdiction",
            "decision_rule",
            "review_assignee",
            "review_queued_at",
            "id",
        ),
        CheckConstraint("status IN ('active', 'restricted', 'purged')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    agency: Mapped[str] = mapped_column(String(64))
    # The booking number itself is sealed with the identity fields; its blind index survives in
    # the tombstone so that a destroyed booking can never be imported again by mistake.
    booking_bidx: Mapped[str] = mapped_column(String(HASH_LEN), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(8))
    # Facts: nullable because a tombstone keeps none of them (``retention.engine.purge``).
    holder: Mapped[str | None] = mapped_column(String(24))
    data_kind: Mapped[str | None] = mapped_column(String(24))
    arrest_date: Mapped[dt.date | None]
    captured_on: Mapped[dt.date | None]
    offence_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    offence_class: Mapped[str | None] = mapped_column(String(16))
    mopi_group: Mapped[int | None]
    age_at_capture: Mapped[int | None]
    outcome: Mapped[str | None] = mapped_column(String(24))
    outcome_on: Mapped[dt.date | None]
    legal_basis: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default=RecordStatus.ACTIVE.value)
    restriction_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    next_action: Mapped[str | None] = mapped_column(String(12))
    next_action_due: Mapped[dt.date | None]
    decision_rule: Mapped[str | None] = mapped_column(String(120))
    policy_pack: Mapped[str | None] = mapped_column(String(64))
    policy_version: Mapped[str | None] = mapped_column(String(32))
    # The full explainable decision (pack, version, rule, citation, facts used, dates) as of
    # the last evaluation; ``mugshot record why`` prints it.
    decision_trace: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    permitted_purposes: Mapped[list[str] | None] = mapped_column(JSON)
    evaluated_on: Mapped[dt.date | None]
    # Disposition review: when it fell due, when the sweep queued it, and the last decision.
    review_due_on: Mapped[dt.date | None] = mapped_column(index=True)
    review_queued_at: Mapped[dt.datetime | None]
    reviewed_on: Mapped[dt.date | None]
    exceptional_reason: Mapped[bool] = mapped_column(default=False)
    # The reviewer a supervisor (or the reviewer themself) assigned the waiting review to.
    review_assignee: Mapped[str | None] = mapped_column(String(64))
    review_assigned_at: Mapped[dt.datetime | None]
    identity_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    name_dob_bidx: Mapped[str | None] = mapped_column(String(HASH_LEN), index=True)
    state_id_bidx: Mapped[str | None] = mapped_column(String(HASH_LEN), index=True)
    import_fingerprint: Mapped[str | None] = mapped_column(String(HASH_LEN))
    source_system: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    purged_at: Mapped[dt.datetime | None]

    images: Mapped[list[Image]] = relationship(
        back_populates="record", order_by="Image.ordinal", foreign_keys="Image.record_id"
    )
    data_key: Mapped[DataKey | None] = relationship(back_populates="record")

    def __repr__(self) -> str:
        return f"<Record {self.id} {self.jurisdiction} {self.status}>"

    @property
    def booking_ref(self) -> str:
        """The booking's short form for screens that need no identity: ``bk-`` and the first 10
        hex digits of its blind index (a keyed HMAC: it names the booking without revealing it,
        and ``mugshot record show`` and the staff search accept it)."""
        return booking_ref(self.booking_bidx)


class DataKey(Base):
    """A record's AES-256 data key, wrapped by a key-encryption-key version.

    Deleting this row is the crypto-shred: from that commit on, every blob and sealed field of
    the record is noise.
    """

    __tablename__ = "data_keys"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), unique=True)
    kek_version: Mapped[int] = mapped_column(index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime]
    rewrapped_at: Mapped[dt.datetime | None]

    record: Mapped[Record] = relationship(back_populates="data_key")

    def __repr__(self) -> str:
        return f"<DataKey {self.id} record={self.record_id} kek=v{self.kek_version}>"


class Image(Base):
    """An original capture or a derivative; its bytes are a sealed blob keyed by ``id``."""

    __tablename__ = "images"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    derived_from: Mapped[str | None] = mapped_column(ForeignKey("images.id"))
    ordinal: Mapped[int]
    media_type: Mapped[str] = mapped_column(String(32))
    byte_size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    # HMAC of the plaintext under the index key: detects duplicates without a dictionary attack.
    content_hmac: Mapped[str | None] = mapped_column(String(HASH_LEN))  # cleared on purge
    # SHA-256 of the sealed blob, quoted by deletion certificates.
    sealed_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    created_at: Mapped[dt.datetime]
    destroyed_at: Mapped[dt.datetime | None]

    record: Mapped[Record] = relationship(back_populates="images", foreign_keys=[record_id])

    def __repr__(self) -> str:
        return f"<Image {self.id} {self.kind} record={self.record_id}>"


class ProvenanceEvent(Base):
    """Append-only history of a record: captured, imported, derived, disclosed, viewed…

    ``details`` never holds personal data: ids, hashes, systems, operators' ids, purposes.
    """

    __tablename__ = "provenance_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    image_id: Mapped[str | None] = mapped_column(ForeignKey("images.id"))
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class Consent(Base):
    """Consent for consent-based records: purposes, given, expires, withdrawn, evidence."""

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    purposes: Mapped[list[str]] = mapped_column(JSON)
    given_on: Mapped[dt.date]
    expires_on: Mapped[dt.date | None]
    withdrawn_on: Mapped[dt.date | None]
    evidence_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]


class LegalHold(Base):
    """A legal hold. A pending hold already blocks purge; approval and release each need a
    second person."""

    __tablename__ = "legal_holds"
    # The transparency report counts holds placed per month.
    __table_args__ = (Index("ix_legal_holds_placed_at", "placed_at"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(12), default=HoldState.PENDING.value)
    reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    case_reference_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    placed_by: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[dt.datetime]
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime | None]
    release_requested_by: Mapped[str | None] = mapped_column(String(64))
    release_requested_at: Mapped[dt.datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[dt.datetime | None]
    # When a supervisor should look at the hold again (is the case still open?); a hold whose
    # day has come heads the holds list until a supervisor reviews it and sets the next one.
    review_on: Mapped[dt.date | None] = mapped_column(index=True)
    # The comments of the approver, of the person asking for release and of the one confirming
    # it, each sealed under the record's data key like the reason.
    approval_comment_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    release_request_comment_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    release_comment_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class AuditEntry(Base):
    """One link of the append-only audit chain. ``hash`` covers every other column and the
    previous entry's hash, so editing, deleting or reordering any entry breaks the chain."""

    __tablename__ = "audit_entries"
    # The transparency report counts one action's entries in one month (a range scan).
    __table_args__ = (Index("ix_audit_entries_action_occurred_at", "action", "occurred_at"),)

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    rule: Mapped[str | None] = mapped_column(String(120))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    hash: Mapped[str] = mapped_column(String(HASH_LEN), unique=True)


class AuditNote(Base):
    """The stated reason of an audited act, sealed under the data key of the record or request
    it concerns: the audit entry itself carries only the reason's length and keyed hash, so the
    chain holds no free text, and a purge (which deletes the key and these rows) shreds it."""

    __tablename__ = "audit_notes"

    audit_seq: Mapped[int] = mapped_column(
        ForeignKey("audit_entries.seq"), primary_key=True, autoincrement=False
    )
    owner_type: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class AuditHead(Base):
    """The single row naming the chain's head. Writers lock it (``FOR UPDATE`` on PostgreSQL,
    the database write lock on SQLite) so concurrent appends cannot fork the chain."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(HASH_LEN))


class ReviewDecision(Base):
    """A clerk's or supervisor's decision on a disposition review."""

    __tablename__ = "review_decisions"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    decision: Mapped[str] = mapped_column(String(24))
    reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime]


class Certificate(Base):
    """A signed deletion certificate (canonical JSON body + Ed25519 signature)."""

    __tablename__ = "certificates"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), unique=True)
    request_reference: Mapped[str | None] = mapped_column(String(64), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(String(128))
    audit_seq: Mapped[int]
    created_at: Mapped[dt.datetime]


class JobRunStatus(StrEnum):
    """Where a job run is, or how it ended."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    BLOCKED = "blocked"
    # Asked to stop (SIGTERM, Ctrl-C) and stopped between two batches; its counts are final.
    INTERRUPTED = "interrupted"
    # Its process is gone (killed, lost its machine): no heartbeat for longer than the stale
    # threshold. Marked so by the next scheduler or ``mugshot status``; its counts are those of
    # its last heartbeat, and every batch it committed is complete.
    ABANDONED = "abandoned"


class JobRun(Base):
    """Every scheduled or manual run of a job: when, what it counted, what went wrong.

    A long job (the sweep, the janitor) sends a heartbeat after each batch: ``heartbeat_at``
    and its counts so far, so a run whose process died says how far it got.
    """

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_kind_started_at", "kind", "started_at"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Indexed: the stale-run check looks for the few ``running`` rows among every run ever.
    status: Mapped[str] = mapped_column(String(12), index=True)
    dry_run: Mapped[bool] = mapped_column(default=False)
    on_date: Mapped[dt.date | None]
    actor: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime]
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    errors: Mapped[list[str]] = mapped_column(JSON)


class EnactedPack(Base):
    """A rule-pack version enacted into this deployment (its source kept verbatim)."""

    __tablename__ = "enacted_packs"
    __table_args__ = (UniqueConstraint("pack_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    pack_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    source: Mapped[str] = mapped_column(Text)
    enacted_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(64))
    enacted_at: Mapped[dt.datetime]


class SchedulerLease(Base):
    """The single row that says which scheduler process may run jobs, until when."""

    __tablename__ = "scheduler_lease"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    holder: Mapped[str | None] = mapped_column(String(128))
    acquired_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]


class Role(StrEnum):
    """Staff roles; each web route names the roles it admits."""

    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"


class User(Base):
    """A staff account: password (scrypt) and TOTP second factor (secret sealed), one role."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    last_totp_step: Mapped[int | None]
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(Base):
    """A booking system's API token (only its SHA-256 is stored)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(HASH_LEN), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class ApiTokenAgency(Base):
    """An agency whose records an API token may create and read (a token without any such row
    — one issued before tokens had agencies — may neither)."""

    __tablename__ = "api_token_agencies"

    token_id: Mapped[str] = mapped_column(
        String(ID_LEN), ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True
    )
    agency: Mapped[str] = mapped_column(String(64), primary_key=True)


class StaffSession(Base):
    """A staff sign-in held on the server: the cookie carries a random id, this row only its
    SHA-256. ``state`` is ``pending`` between the password and the code, then ``active``; the
    row is deleted when the session ends (sign-out, timeout, deactivation, new credentials)."""

    __tablename__ = "staff_sessions"

    id_sha256: Mapped[str] = mapped_column(String(HASH_LEN), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(ID_LEN), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    # created_at + the absolute limit of its state: the end however active it is.
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class RequestState(StrEnum):
    """The removal-request state machine (DESIGN.md)."""

    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    NEEDS_INFO = "needs_info"
    # Approved by one person; destroys records outside their schedule, so it waits for a
    # supervisor who is neither the approver nor a matcher (DESIGN.md invariant 9).
    CONFIRMING = "confirming"
    APPROVED = "approved"
    # Approved, but a matched record is under a legal hold: restricted now, destroyed when the
    # hold ends (RULES.md §8.1); the requester is told so.
    ON_HOLD = "on_hold"
    DENIED = "denied"
    COMPLETED = "completed"


class RemovalRequest(Base):
    """A person's request to remove (or restrict) their booking photo.

    The requester's claims (name, date of birth, booking number, contact, free text) are sealed
    under the request's own data key, wrapped like a record's; blind indexes match them to
    records. The public reference is a bearer secret: only its SHA-256 is stored.
    """

    __tablename__ = "removal_requests"
    __table_args__ = (
        Index("ix_removal_requests_state_respond_by", "state", "respond_by"),
        # The staff queue pages through requests in deadline or arrival order (keyset).
        Index("ix_removal_requests_respond_by_id", "respond_by", "id"),
        Index("ix_removal_requests_received_on_id", "received_on", "id"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    reference_sha256: Mapped[str] = mapped_column(String(HASH_LEN), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    jurisdiction: Mapped[str] = mapped_column(String(8))
    grounds: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    received_on: Mapped[dt.date]
    respond_by: Mapped[dt.date | None]
    # "statutory" (respond by) or "service_target" (we aim to answer by): DeadlineBasis.
    deadline_basis: Mapped[str | None] = mapped_column(String(16))
    extension_notice_on: Mapped[dt.date | None]
    # Why the deadline was extended, written for the requester (shown on their status page).
    extension_reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # GDPR Art 18(1) / DPA 2018 s.47(3) / LED Art 16(3)(a) ground of a restriction request.
    restriction_ground: Mapped[str | None] = mapped_column(String(32))
    info_requested_on: Mapped[dt.date | None]
    info_received_on: Mapped[dt.date | None]
    claims_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    kek_version: Mapped[int | None]
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    name_dob_bidx: Mapped[str | None] = mapped_column(String(HASH_LEN), index=True)
    booking_bidx: Mapped[str | None] = mapped_column(String(HASH_LEN), index=True)
    # Indexed: the janitor asks, a chunk of blob keys at a time, which are evidence
    # (``retention.db.blobrefs``).
    evidence_blob: Mapped[str | None] = mapped_column(String(ID_LEN), index=True)
    evidence_media_type: Mapped[str | None] = mapped_column(String(32))
    evidence_bytes: Mapped[int | None]
    decision_reasons_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The date the requester is asked to answer a request for information by.
    answer_by: Mapped[dt.date | None]
    # The requester's last reply to a refusal (the reply itself is sealed with the claims).
    replied_on: Mapped[dt.date | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    # Stored for the queue's sorts and filters; recounted by ``retention.db.request_counts``.
    candidates_found: Mapped[int] = mapped_column(default=0)
    same_identity_requests: Mapped[int] = mapped_column(default=0)
    # The clerk working on the request (the queue's "assigned to" and "assign to me").
    assigned_to: Mapped[str | None] = mapped_column(String(64), index=True)
    assigned_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # The contact, when it is an e-mail address, sealed under the request's key (field
    # "notify_contact") for the notification outbox (``retention.notify``); NULL otherwise.
    contact_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class RequestAttachment(Base):
    """A file the requester sent after filing (with an answer or a reply), sealed under the
    request's data key like the first evidence upload."""

    __tablename__ = "request_attachments"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)  # the blob key
    request_id: Mapped[str] = mapped_column(ForeignKey("removal_requests.id"), index=True)
    media_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int]
    sent_with: Mapped[str] = mapped_column(String(8))  # "answer" or "reply"
    created_at: Mapped[dt.datetime]


class MatchSource(StrEnum):
    """How a clerk found the record they matched to a request."""

    CANDIDATE = "candidate"  # the request's own blind indexes found it
    SEARCH = "search"  # an audited search from the request page found it


class RequestMatch(Base):
    """A record a clerk matched to a request.

    A match of a record whose identity differs from the requester's, or one past the per-request
    limit, is *pending* (``needs_confirmation`` and no ``confirmed_by``) until a supervisor other
    than the matcher confirms it with a reason; a pending match blocks approval.
    """

    __tablename__ = "request_matches"
    __table_args__ = (UniqueConstraint("request_id", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("removal_requests.id"), index=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    matched_by: Mapped[str] = mapped_column(String(64))
    matched_at: Mapped[dt.datetime]
    source: Mapped[str] = mapped_column(String(12), default=MatchSource.CANDIDATE.value)
    same_identity: Mapped[bool] = mapped_column(default=True)
    needs_confirmation: Mapped[bool] = mapped_column(default=False)
    reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[dt.datetime | None]
    confirm_reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)

    @property
    def pending(self) -> bool:
        """Waiting for a supervisor's confirmation."""
        return self.needs_confirmation and self.confirmed_by is None


class RequestSearchHit(Base):
    """A record found by an audited search from a request's page: matchable to that request."""

    __tablename__ = "request_search_hits"
    __table_args__ = (UniqueConstraint("request_id", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("removal_requests.id"), index=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    searched_by: Mapped[str] = mapped_column(String(64))
    searched_at: Mapped[dt.datetime]


class ApprovalState(StrEnum):
    """Where a second-person approval stands."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


class SecondApproval(Base):
    """A destruction (or exceptional keep) one person asked for and a second must confirm.

        ``subject_type``/``subject_id`` name the request or record; ``action`` what confirming will
        do (``request.approve``, ``review.purge``, ``review.keep_exceptional``); ``details`` the
        plan the first person saw (ids and counts only). The first person's reason is sealed in
    ``reason_sealed`` under the subject's data key.
    """

    __tablename__ = "second_approvals"
    __table_args__ = (Index("ix_second_approvals_state_subject", "state", "subject_id"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(ID_LEN))
    action: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(12))
    reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]
    decision_reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class TransparencyMonth(Base):
    """The frozen figures of a month that is over, for the public transparency report.

    Only figures that cannot change once the month is over are kept (requests granted and
    refused with their days to decision, records purged and restricted by rule, holds placed:
    events of the append-only audit log and hold placements, all stamped with the time they
    happened), as exact counts — suppression happens when the report is published. Written once
    a month has been over for a day (``retention.engine.transparency``); never updated except by
    ``mugshot report --refresh``.
    """

    __tablename__ = "transparency_months"

    month: Mapped[dt.date] = mapped_column(primary_key=True)
    computed_at: Mapped[dt.datetime]
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)


class NotificationState(StrEnum):
    """Where one outbox message stands (``retention.notify.outbox``)."""

    PENDING = "pending"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a sender until ``claimed_until``
    SENT = "sent"  # the mail server accepted it; recipient cleared
    FAILED = "failed"  # refused for good or out of attempts; recipient cleared
    MANUAL = "manual"  # no e-mail address: the clerk tells the requester
    SUPERSEDED = "superseded"  # a later change in the same step says it all
    NOT_SENT = "not_sent"  # no mail server configured; recipient cleared


class Notification(Base):
    """One e-mail to a requester about a change of their request: the outbox row.

    The recipient is sealed under the request's data key (field ``notify_contact``, bound to the
    request id) and cleared once the message is sent or given up. Nothing else identifies the
    person: the text is built from ``event`` when sent, and never holds the reference, names,
    dates of birth or the decision's reasons.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        # The sender picks due messages in order of their next attempt.
        Index("ix_notifications_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("removal_requests.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(12))
    recipient_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_until: Mapped[dt.datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(ID_LEN))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
