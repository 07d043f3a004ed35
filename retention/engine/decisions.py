"""Decisions on records: facts from the database, the pack that governs, the stored next action.

Layer: ``retention.engine``. Every fact change (ingest, outcome, consent, hold, review, a new pack
version) calls ``reevaluate`` in the same transaction, which stores the record's next action and
its due date (indexed), so a sweep selects only what is due — never the whole table. The stored
``decision_trace`` is the explanation: pack, version, rule, citation, facts used, dates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import Decision, Facts, Pack, Request, compile_pack, evaluate, pack_for_jurisdiction
from policies.loader import parse_pack_source
from policies.vocabulary import (
    Action,
    DataKind,
    Holder,
    HoldKind,
    Jurisdiction,
    LegalBasis,
    OffenceClass,
    Outcome,
    RequestKind,
    RestrictionGround,
)
from retention.db.models import (
    Consent,
    EnactedPack,
    HoldState,
    LegalHold,
    Record,
    RecordStatus,
    RemovalRequest,
    RequestMatch,
    RequestState,
)


class PackResolver:
    """Which pack governs a record: the latest enacted version naming its jurisdiction, else the
    bundled pack. Build one per unit of work (it reads ``enacted_packs`` once)."""

    def __init__(self, session: Session) -> None:
        self._by_jurisdiction: dict[str, Pack] = {}
        rows = session.execute(select(EnactedPack).order_by(EnactedPack.id)).scalars()
        for row in rows:
            pack = _compile_enacted(row.source, row.sha256, f"enacted:{row.pack_id}@{row.version}")
            for jurisdiction in pack.jurisdictions:
                self._by_jurisdiction[jurisdiction.value] = pack

    def pack_for(self, jurisdiction: str) -> Pack:
        """The pack that governs records of ``jurisdiction`` now."""
        pack = self._by_jurisdiction.get(jurisdiction)
        return pack if pack is not None else pack_for_jurisdiction(jurisdiction)

    def with_pack(self, pack: Pack) -> PackResolver:
        """A resolver in which ``pack`` governs its jurisdictions (to preview an enactment)."""
        clone = PackResolver.__new__(PackResolver)
        clone._by_jurisdiction = dict(self._by_jurisdiction)
        for jurisdiction in pack.jurisdictions:
            clone._by_jurisdiction[jurisdiction.value] = pack
        return clone


_COMPILED: dict[str, Pack] = {}


def _compile_enacted(source: str, sha256: str, name: str) -> Pack:
    # Enacted sources never change (the row is keyed by their hash), so compiling each once per
    # process is safe; a sweep over 10,000 records must not re-parse TOML 10,000 times.
    pack = _COMPILED.get(sha256)
    if pack is None:
        pack = compile_pack(parse_pack_source(source, name), name)
        _COMPILED[sha256] = pack
    return pack


def pack_digest(source: str) -> str:
    """SHA-256 of a pack's source text (how an enacted version is identified)."""
    return hashlib.sha256(source.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """The stored facts of a record that the evaluator needs (no personal data)."""

    id: str
    jurisdiction: str
    holder: str
    data_kind: str
    captured_on: dt.date | None
    arrest_date: dt.date | None
    age_at_capture: int | None
    offence_class: str | None
    mopi_group: int | None
    outcome: str
    outcome_on: dt.date | None
    legal_basis: str
    reviewed_on: dt.date | None = None
    exceptional_reason: bool = False
    hold_kind: str | None = None
    legal_hold: bool = False
    consent_given_on: dt.date | None = None
    consent_withdrawn_on: dt.date | None = None
    consent_expires_on: dt.date | None = None
    # The subject's restriction request matched to this record and not refused (GDPR Art 18,
    # DPA 2018 s.47, LED Art 16(3)): it must keep deciding the record after approval, or a
    # sweep would purge under an erasure rule the subject did not ask for.
    restriction_requested_on: dt.date | None = None
    restriction_ground: str | None = None

    def to_facts(self) -> Facts:
        """The evaluator's frozen ``Facts``."""
        captured = self.captured_on or self.arrest_date
        assert captured is not None, "a record always has a capture or arrest date"
        return Facts(
            id=self.id,
            jurisdiction=Jurisdiction(self.jurisdiction),
            captured_on=captured,
            holder=Holder(self.holder),
            data_kind=DataKind(self.data_kind),
            arrest_date=self.arrest_date,
            age_at_capture=self.age_at_capture,
            offence_class=OffenceClass(self.offence_class) if self.offence_class else None,
            mopi_group=self.mopi_group,
            outcome=Outcome(self.outcome),
            outcome_on=self.outcome_on,
            legal_basis=LegalBasis(self.legal_basis),
            consent_given_on=self.consent_given_on,
            consent_withdrawn_on=self.consent_withdrawn_on,
            consent_expires_on=self.consent_expires_on,
            reviewed_on=self.reviewed_on,
            legal_hold=self.legal_hold,
            hold_kind=HoldKind(self.hold_kind) if self.hold_kind else None,
            exceptional_reason=self.exceptional_reason,
            request=Request(
                kind=RequestKind.RESTRICTION,
                received_on=self.restriction_requested_on,
                restriction_ground=RestrictionGround(self.restriction_ground)
                if self.restriction_ground
                else None,
            )
            if self.restriction_requested_on is not None
            else None,
        )


def facts_for(session: Session, record: Record) -> RecordFacts:
    """Facts of a stored record, holds and consents included. A pending hold counts as a hold:
    it already blocks purge (fail safe)."""
    return facts_for_batch(session, [record])[record.id]


def facts_for_batch(session: Session, records: Sequence[Record]) -> dict[str, RecordFacts]:
    """Facts of many records with two queries (holds, consents) instead of two per record."""
    ids = [r.id for r in records]
    holds: dict[str, list[str]] = defaultdict(list)
    for record_id, kind in session.execute(
        select(LegalHold.record_id, LegalHold.kind)
        .where(LegalHold.record_id.in_(ids), LegalHold.state != HoldState.RELEASED.value)
        .order_by(LegalHold.placed_at)
    ):
        holds[record_id].append(kind)
    consents: dict[str, Consent] = {}
    for consent in session.execute(
        select(Consent)
        .where(Consent.record_id.in_(ids))
        .order_by(Consent.given_on, Consent.created_at)
    ).scalars():
        consents[consent.record_id] = consent  # the latest wins
    restrictions: dict[str, tuple[dt.date, str | None]] = {}
    for record_id, received, ground in session.execute(
        select(
            RequestMatch.record_id, RemovalRequest.received_on, RemovalRequest.restriction_ground
        )
        .join(RemovalRequest, RemovalRequest.id == RequestMatch.request_id)
        .where(
            RequestMatch.record_id.in_(ids),
            RemovalRequest.kind == RequestKind.RESTRICTION.value,
            RemovalRequest.state != RequestState.DENIED.value,
        )
        .order_by(RemovalRequest.received_on, RemovalRequest.id)
    ):
        restrictions[record_id] = (received, ground)  # the latest wins
    return {
        r.id: _record_facts(r, holds.get(r.id, []), consents.get(r.id), restrictions.get(r.id))
        for r in records
    }


def _record_facts(
    record: Record,
    hold_kinds: list[str],
    consent: Consent | None,
    restriction: tuple[dt.date, str | None] | None = None,
) -> RecordFacts:
    return RecordFacts(
        id=record.id,
        jurisdiction=record.jurisdiction,
        holder=record.holder,
        data_kind=record.data_kind,
        captured_on=record.captured_on,
        arrest_date=record.arrest_date,
        age_at_capture=record.age_at_capture,
        offence_class=record.offence_class,
        mopi_group=record.mopi_group,
        outcome=record.outcome,
        outcome_on=record.outcome_on,
        legal_basis=record.legal_basis,
        reviewed_on=record.reviewed_on,
        exceptional_reason=record.exceptional_reason,
        legal_hold=bool(hold_kinds),
        hold_kind=_strongest_hold(hold_kinds),
        consent_given_on=consent.given_on if consent else None,
        consent_withdrawn_on=consent.withdrawn_on if consent else None,
        consent_expires_on=consent.expires_on if consent else None,
        restriction_requested_on=restriction[0] if restriction else None,
        restriction_ground=restriction[1] if restriction else None,
    )


def _strongest_hold(kinds: list[str]) -> str | None:
    # A litigation hold is what RULES.md §8.2 sends to counsel against a statutory destruction
    # duty; report it in preference to the others so that conflict is never hidden.
    for kind in (HoldKind.LITIGATION.value, HoldKind.SUBPOENA.value, HoldKind.EVIDENCE.value):
        if kind in kinds:
            return kind
    return kinds[0] if kinds else None


@dataclass(frozen=True, slots=True)
class Schedule:
    """What the sweep must next do to a record, and from when (None: nothing scheduled)."""

    action: str | None
    due_on: dt.date | None
    review_due_on: dt.date | None


def schedule_for(decision: Decision, *, status: str) -> Schedule:
    """Turn a decision into the record's stored schedule.

    A restriction already in force is not due again: the step after it (``next_action``, e.g.
    the purge three years after a California arrest) is what the sweep waits for.
    """
    if status == RecordStatus.PURGED.value:
        return Schedule(None, None, None)
    action: Action | None = decision.action
    due: dt.date | None = decision.due_on
    if action is Action.RESTRICT and status == RecordStatus.RESTRICTED.value:
        action, due = decision.next_action, decision.next_due_on
    if action is None or action is Action.RETAIN:
        return Schedule(Action.RETAIN.value, None, None)
    if action is Action.REVIEW:
        return Schedule(Action.REVIEW.value, due, due)
    return Schedule(action.value, due, None)


def apply_decision(record: Record, decision: Decision, today: dt.date) -> None:
    """Store a decision on the record (its trace, purposes and schedule)."""
    sched = schedule_for(decision, status=record.status)
    record.decision_trace = decision.to_json()
    record.permitted_purposes = sorted(p.value for p in decision.purposes)
    record.decision_rule = decision.rule
    record.policy_pack = decision.pack
    record.policy_version = decision.pack_version
    record.evaluated_on = today
    record.next_action = sched.action
    if sched.review_due_on != record.review_due_on:
        record.review_queued_at = None  # a new review is a new queue entry
    record.review_due_on = sched.review_due_on
    # A review already queued waits for a person, not for the sweep.
    queued = sched.action == Action.REVIEW.value and record.review_queued_at is not None
    record.next_action_due = None if queued else sched.due_on


def reevaluate(
    session: Session,
    record: Record,
    today: dt.date,
    resolver: PackResolver | None = None,
    facts: RecordFacts | None = None,
) -> Decision:
    """Evaluate a stored record now and store the result (in the caller's transaction)."""
    decision = evaluate_only(session, record, today, resolver, facts)
    apply_decision(record, decision, today)
    return decision


def evaluate_only(
    session: Session,
    record: Record,
    today: dt.date,
    resolver: PackResolver | None = None,
    facts: RecordFacts | None = None,
) -> Decision:
    """Evaluate without storing anything (dry runs, purpose checks)."""
    resolver = resolver or PackResolver(session)
    facts = facts or facts_for(session, record)
    return evaluate(resolver.pack_for(record.jurisdiction), facts.to_facts(), today)
