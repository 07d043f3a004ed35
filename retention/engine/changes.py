"""Fact changes: outcomes, consent and legal holds.

Layer: ``retention.engine``. Each change locks the record, changes one fact, writes its provenance
event and exactly one audit entry, and re-evaluates the record in the same transaction so its
next action is always current. Holds follow the four-eyes rule: the person who places a hold
cannot approve it, and the person who asks for its release cannot confirm the release. A
pending hold already blocks purge.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import Decision
from policies.vocabulary import HoldKind, LegalBasis, Outcome, Purpose
from retention.audit import chain as audit
from retention.db.models import (
    Consent,
    HoldState,
    LegalHold,
    ProvenanceEvent,
    ProvenanceKind,
    Record,
    RecordStatus,
)
from retention.db.rows import locked
from retention.engine import decisions, sealing
from retention.engine.authority import same_person
from retention.errors import FactError, HoldError
from retention.keys.keyring import Keyring


def lock_record(session: Session, record_id: str) -> Record:
    record = locked(session, Record, record_id, "record")
    if record.status == RecordStatus.PURGED.value:
        raise FactError(f"record {record.id} was purged; its facts can no longer change")
    return record


def reevaluate_and_audit(
    session: Session,
    record: Record,
    *,
    now: dt.datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any],
) -> Decision:
    """The tail of every fact change: re-evaluate the record, then one audit entry that also
    says what the record's next action became."""
    session.flush()
    decision = decisions.reevaluate(session, record, now.date())
    audit.append(
        session,
        now=now,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        rule=decision.rule,
        # No dates or facts: an audit entry outlives the record it names (see the tombstone).
        details={**details, "next_action": decision.action.value},
    )
    return decision


def _check_date(value: dt.date, today: dt.date, what: str) -> None:
    if value > today:
        raise FactError(f"{what} {value.isoformat()} is in the future")


def set_outcome(
    session: Session,
    record_id: str,
    *,
    outcome: Outcome,
    on: dt.date | None,
    actor: str,
    now: dt.datetime,
) -> Decision:
    """Record the case outcome for the arrest the image was taken for."""
    today = now.date()
    record = lock_record(session, record_id)
    if outcome is Outcome.PENDING:
        if on is not None:
            raise FactError("a pending outcome has no date")
    else:
        if on is None:
            raise FactError(f"outcome {outcome.value} needs its date (--on)")
        _check_date(on, today, "outcome date")
        if record.arrest_date and on < record.arrest_date:
            raise FactError(f"outcome date {on.isoformat()} is before the arrest date")
    before = (record.outcome, record.outcome_on)
    record.outcome = outcome.value
    record.outcome_on = on
    record.updated_at = now
    session.add(
        ProvenanceEvent(
            record_id=record.id,
            kind=ProvenanceKind.CORRECTED.value,
            occurred_at=now,
            actor=actor,
            details={
                "field": "outcome",
                "from": before[0],
                "to": outcome.value,
                "from_date": before[1].isoformat() if before[1] else None,
                "to_date": on.isoformat() if on else None,
            },
        )
    )
    return reevaluate_and_audit(
        session,
        record,
        now=now,
        actor=actor,
        action="record.outcome_set",
        object_type="record",
        object_id=record.id,
        details={},
    )


def record_consent(
    session: Session,
    record_id: str,
    *,
    given_on: dt.date,
    purposes: list[Purpose],
    expires_on: dt.date | None,
    evidence_ref: str | None,
    actor: str,
    now: dt.datetime,
) -> Decision:
    """Record a consent (for consent-based records)."""
    record = lock_record(session, record_id)
    _check_date(given_on, now.date(), "consent date")
    if expires_on is not None and expires_on <= given_on:
        raise FactError("consent expiry must be after the date it was given")
    consent = Consent(
        id=uuid.uuid4().hex,
        record_id=record.id,
        purposes=sorted(p.value for p in purposes),
        given_on=given_on,
        expires_on=expires_on,
        evidence_ref=evidence_ref,
        created_at=now,
    )
    session.add(consent)
    return reevaluate_and_audit(
        session,
        record,
        now=now,
        actor=actor,
        action="consent.recorded",
        object_type="record",
        object_id=record.id,
        details={"consent_id": consent.id, "purposes": len(consent.purposes)},
    )


def withdraw_consent(
    session: Session, record_id: str, *, on: dt.date, actor: str, now: dt.datetime
) -> Decision:
    """Withdraw the record's current consent (GDPR Art 7(3)); only consent-based data is purged
    for it (RULES.md §8.5) — the evaluator decides."""
    record = lock_record(session, record_id)
    _check_date(on, now.date(), "withdrawal date")
    consent = session.execute(
        select(Consent)
        .where(Consent.record_id == record.id, Consent.withdrawn_on.is_(None))
        .order_by(Consent.given_on.desc())
        .limit(1)
    ).scalar_one_or_none()
    if consent is None:
        if record.legal_basis != LegalBasis.CONSENT.value:
            raise FactError(
                f"record {record.id} is held on the basis of {record.legal_basis}, not consent, "
                "and has no consent to withdraw"
            )
        # Consent-based record imported without a consent row: record the withdrawal anyway.
        consent = Consent(
            id=uuid.uuid4().hex,
            record_id=record.id,
            purposes=[],
            given_on=record.captured_on or on,
            created_at=now,
        )
        session.add(consent)
    if on < consent.given_on:
        raise FactError("consent cannot be withdrawn before it was given")
    consent.withdrawn_on = on
    return reevaluate_and_audit(
        session,
        record,
        now=now,
        actor=actor,
        action="consent.withdrawn",
        object_type="record",
        object_id=record.id,
        details={"consent_id": consent.id},
    )


# -- legal holds ------------------------------------------------------------------------


def _audit_hold(
    session: Session,
    hold: LegalHold,
    action: str,
    *,
    actor: str,
    now: dt.datetime,
    **details: Any,
) -> None:
    """An audit entry about a hold that leaves its record's facts as they are."""
    audit.append(
        session,
        now=now,
        actor=actor,
        action=action,
        object_type="hold",
        object_id=hold.id,
        details={"record_id": hold.record_id, **details},
    )


def _hold_changed(
    session: Session,
    record: Record,
    hold: LegalHold,
    action: str,
    *,
    actor: str,
    now: dt.datetime,
    **details: Any,
) -> Decision:
    """The record re-evaluated after one of its holds took or lost effect, audited."""
    return reevaluate_and_audit(
        session,
        record,
        now=now,
        actor=actor,
        action=action,
        object_type="hold",
        object_id=hold.id,
        details={"record_id": record.id, **details},
    )


def place_hold(
    session: Session,
    keyring: Keyring,
    record_id: str,
    *,
    kind: HoldKind,
    reason: str,
    case_reference: str | None,
    actor: str,
    now: dt.datetime,
    review_on: dt.date | None = None,
) -> LegalHold:
    """Place a hold; it blocks purge at once, before anyone approves it (fail safe). The reason
    and case reference are sealed under the record's data key. ``review_on`` is the day a
    supervisor should look at it again (the holds list puts it first from that day)."""
    if not reason.strip():
        raise HoldError("a hold needs a reason")
    if review_on is not None and review_on <= now.date():
        raise HoldError("a hold's review date must be in the future")
    record = lock_record(session, record_id)
    key = sealing.record_key(session, keyring, record.id)
    hold_id = uuid.uuid4().hex
    case = (case_reference or "").strip() or None
    hold = LegalHold(
        id=hold_id,
        record_id=record.id,
        kind=kind.value,
        state=HoldState.PENDING.value,
        reason_sealed=sealing.seal(
            key, record.id, sealing.row_field("legal_holds", hold_id, "reason"), reason.strip()
        ),
        case_reference_sealed=sealing.seal(
            key, record.id, sealing.row_field("legal_holds", hold_id, "case_reference"), case
        )
        if case
        else None,
        placed_by=actor,
        placed_at=now,
        review_on=review_on,
    )
    session.add(hold)
    _hold_changed(session, record, hold, "hold.placed", actor=actor, now=now, kind=kind.value)
    return hold


def _hold_comment(
    session: Session,
    keyring: Keyring | None,
    hold: LegalHold,
    column: str,
    comment: str | None,
) -> tuple[bytes | None, dict[str, Any]]:
    """A supervisor's comment on a hold, sealed under the record's data key for ``column``,
    and what the audit entry says of it (length and keyed hash, never the text)."""
    text = (comment or "").strip()
    if not text:
        return None, {}
    if keyring is None:
        raise HoldError("a hold comment is sealed: pass the keyring")
    key = sealing.record_key(session, keyring, hold.record_id)
    sealed = sealing.seal(
        key, hold.record_id, sealing.row_field("legal_holds", hold.id, column), text
    )
    return sealed, sealing.reason_digest(keyring, text)


def approve_hold(
    session: Session,
    hold_id: str,
    *,
    actor: str,
    now: dt.datetime,
    comment: str | None = None,
    keyring: Keyring | None = None,
) -> LegalHold:
    """A second person approves a pending hold, with an optional comment (sealed)."""
    hold = locked(session, LegalHold, hold_id, "hold")
    if hold.state != HoldState.PENDING.value:
        raise HoldError(f"hold {hold.id} is {hold.state}, not pending")
    if same_person(actor, hold.placed_by):
        raise HoldError("the person who placed a hold cannot approve it")
    sealed, digest = _hold_comment(session, keyring, hold, "approval_comment", comment)
    hold.state = HoldState.ACTIVE.value
    hold.approved_by = actor
    hold.approved_at = now
    hold.approval_comment_sealed = sealed
    _audit_hold(session, hold, "hold.approved", actor=actor, now=now, **digest)
    return hold


def review_hold(
    session: Session,
    keyring: Keyring,
    hold_id: str,
    *,
    comment: str,
    next_review_on: dt.date | None,
    actor: str,
    now: dt.datetime,
) -> LegalHold:
    """A supervisor looked at a hold again and keeps it: the comment (why it still stands) is
    sealed, audited by digest, and the next review date set (or cleared)."""
    hold = locked(session, LegalHold, hold_id, "hold")
    if hold.state == HoldState.RELEASED.value:
        raise HoldError(f"hold {hold.id} is already released")
    if not comment.strip():
        raise HoldError("say why the hold still stands")
    if next_review_on is not None and next_review_on <= now.date():
        raise HoldError("the next review date must be in the future")
    hold.review_on = next_review_on
    # The comment is sealed in the entry's audit note (a hold's reviews are a history).
    sealing.append_with_reason(
        session,
        keyring,
        key=sealing.record_key(session, keyring, hold.record_id),
        owner_type=sealing.RECORD,
        owner_id=hold.record_id,
        reason=comment.strip(),
        now=now,
        actor=actor,
        action="hold.reviewed",
        object_type="hold",
        object_id=hold.id,
        details={
            "record_id": hold.record_id,
            "next_review_on": next_review_on.isoformat() if next_review_on else None,
        },
    )
    return hold


def release_hold(
    session: Session,
    hold_id: str,
    *,
    actor: str,
    now: dt.datetime,
    comment: str | None = None,
    keyring: Keyring | None = None,
) -> tuple[LegalHold, Decision | None]:
    """Ask for a hold's release, or — by a second person — confirm it.

    The first call records the request; the hold still blocks purge. The second call, by someone
    else, releases it and re-evaluates the record: a purge that fell due meanwhile is due at once.
    """
    hold = locked(session, LegalHold, hold_id, "hold")
    if hold.state == HoldState.RELEASED.value:
        raise HoldError(f"hold {hold.id} is already released")
    if hold.release_requested_by is None:
        sealed, digest = _hold_comment(session, keyring, hold, "release_request_comment", comment)
        hold.release_requested_by = actor
        hold.release_requested_at = now
        hold.release_request_comment_sealed = sealed
        _audit_hold(session, hold, "hold.release_requested", actor=actor, now=now, **digest)
        return hold, None
    if same_person(actor, hold.release_requested_by):
        raise HoldError("the person who asked for a release cannot also confirm it")
    sealed, digest = _hold_comment(session, keyring, hold, "release_comment", comment)
    record = lock_record(session, hold.record_id)
    hold.state = HoldState.RELEASED.value
    hold.released_by = actor
    hold.released_at = now
    hold.release_comment_sealed = sealed
    hold.review_on = None
    decision = _hold_changed(session, record, hold, "hold.released", actor=actor, now=now, **digest)
    return hold, decision
