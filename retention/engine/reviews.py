"""Disposition reviews: a person decides what happens to a record its rule sent to review.

Layer: ``retention.engine``. Keep and restrict take effect at once. Purging a record whose rule
does not say purge, and keeping one past its limit for an exceptional reason (UK 2017 Review),
go beyond the rules, so they take two people (DESIGN.md invariant 9): the first decision is
recorded and waits; a supervisor who did not make it confirms (``confirm_review``) or refuses
(``refuse_review``) it, and only then is the record purged or kept. A purge the record's own
rule already says needs one person. Each step writes exactly one audit entry.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import Decision
from policies.vocabulary import Action
from retention.audit import chain as audit
from retention.db.models import (
    ApprovalState,
    RecordStatus,
    ReviewDecision,
    SecondApproval,
)
from retention.engine import decisions, sealing
from retention.engine.authority import Person, require_second_person, rule_says_purge, settle
from retention.engine.changes import lock_record, reevaluate_and_audit
from retention.engine.purge import Purged, held, purge_record
from retention.errors import FactError, HoldError
from retention.keys.keyring import Keyring


class ReviewOutcome(StrEnum):
    """What a reviewer decides."""

    KEEP = "keep"
    KEEP_EXCEPTIONAL = "keep_exceptional"
    RESTRICT = "restrict"
    PURGE = "purge"


# Outcomes that go beyond the rules unless the rule itself says so: a second person confirms.
SECOND_PERSON = {
    ReviewOutcome.PURGE: "review.purge",
    ReviewOutcome.KEEP_EXCEPTIONAL: "review.keep_exceptional",
}


@dataclass(frozen=True)
class ReviewResult:
    """The decision recorded, the record's new decision, what a purge destroyed, and the
    second-person approval the decision now waits for (if it does)."""

    decision: Decision | None
    purged: Purged | None
    waiting: SecondApproval | None = None


def waiting_review(session: Session, record_id: str) -> SecondApproval | None:
    """The review decision on this record that waits for a second person, if any."""
    return session.execute(
        select(SecondApproval).where(
            SecondApproval.subject_type == "record",
            SecondApproval.subject_id == record_id,
            SecondApproval.state == ApprovalState.PENDING.value,
        )
    ).scalar_one_or_none()


def decide_review(
    session: Session,
    keyring: Keyring,
    record_id: str,
    *,
    outcome: ReviewOutcome,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> ReviewResult:
    """Record a review decision and apply it: keep (the review is done until the next one
    falls due) or restrict now; purge now only where the record's rule says purge; otherwise a
    purge or an exceptional keep waits for a second person (``ReviewResult.waiting``)."""
    if not reason.strip():
        raise FactError("a review decision needs its reasons")
    record = lock_record(session, record_id)
    if record.next_action != Action.REVIEW.value:
        raise FactError(
            f"record {record.id} is not waiting for a review (its rule says "
            f"{record.next_action or 'nothing'}); there is nothing to decide"
        )
    if waiting_review(session, record.id) is not None:
        raise FactError(
            f"record {record.id} has a review decision waiting for a second person; "
            "a supervisor confirms or refuses it first"
        )
    if outcome is ReviewOutcome.PURGE and held(session, record.id):
        raise HoldError(f"record {record.id} is under a legal hold and cannot be purged")
    today = now.date()
    key = sealing.record_key(session, keyring, record.id)
    decision_id = uuid.uuid4().hex
    session.add(
        ReviewDecision(
            id=decision_id,
            record_id=record.id,
            decision=outcome.value,
            reason_sealed=sealing.seal(
                key,
                record.id,
                sealing.row_field("review_decisions", decision_id, "reason"),
                reason.strip(),
            ),
            decided_by=actor,
            decided_at=now,
        )
    )
    if outcome in SECOND_PERSON:
        current = decisions.evaluate_only(session, record, today)
        if outcome is not ReviewOutcome.PURGE or not rule_says_purge(current, today):
            approval_id = uuid.uuid4().hex
            waiting = SecondApproval(
                id=approval_id,
                subject_type="record",
                subject_id=record.id,
                action=SECOND_PERSON[outcome],
                state=ApprovalState.PENDING.value,
                reason_sealed=sealing.seal(
                    key,
                    record.id,
                    sealing.row_field("second_approvals", approval_id, "reason"),
                    reason.strip(),
                ),
                details={"rule": current.rule, "action": current.action.value},
                requested_by=actor,
                requested_at=now,
            )
            session.add(waiting)
            audit.append(
                session,
                now=now,
                actor=actor,
                action=f"{SECOND_PERSON[outcome]}_requested",
                object_type="record",
                object_id=record.id,
                rule=current.rule,
                details={"approval_id": waiting.id},
            )
            return ReviewResult(None, None, waiting)
    return _apply(session, keyring, record_id, outcome, actor=actor, confirmed_by=None, now=now)


def _apply(
    session: Session,
    keyring: Keyring,
    record_id: str,
    outcome: ReviewOutcome,
    *,
    actor: str,
    confirmed_by: str | None,
    now: dt.datetime,
    decided_by: str | None = None,
) -> ReviewResult:
    record = lock_record(session, record_id)
    today = now.date()
    record.reviewed_on = today
    record.review_queued_at = None
    record.updated_at = now
    if outcome is ReviewOutcome.KEEP_EXCEPTIONAL:
        record.exceptional_reason = True
    if outcome is ReviewOutcome.PURGE:
        why: dict[str, str] = {
            "decision": "review",
            "decided_by": decided_by or actor,
            "decided_on": today.isoformat(),
        }
        if confirmed_by is not None:
            why["confirmed_by"] = confirmed_by
        purged = purge_record(session, keyring, record, now=now, actor=actor, reason=why)
        return ReviewResult(None, purged)
    if outcome is ReviewOutcome.RESTRICT:
        record.status = RecordStatus.RESTRICTED.value
        record.restriction_sealed = sealing.seal_for_record(
            session, keyring, record.id, sealing.record_field("restriction"), "review decision"
        )
    details: dict[str, str] = {"decision": outcome.value}
    if confirmed_by is not None:
        details["confirmed_by"] = confirmed_by
    decision = reevaluate_and_audit(
        session,
        record,
        now=now,
        actor=actor,
        action="review.decided",
        object_type="record",
        object_id=record.id,
        details=details,
    )
    return ReviewResult(decision, None)


def _second(session: Session, record_id: str, supervisor: Person, what: str) -> SecondApproval:
    waiting = waiting_review(session, record_id)
    if waiting is None:
        raise FactError(f"record {record_id} has no review decision waiting for a second person")
    require_second_person(supervisor, already=[waiting.requested_by], what=what)
    return waiting


def confirm_review(
    session: Session,
    keyring: Keyring,
    record_id: str,
    *,
    supervisor: Person,
    reason: str,
    now: dt.datetime,
) -> ReviewResult:
    """A supervisor who did not make the decision confirms it; now it takes effect (a purge's
    certificate names both people)."""
    waiting = _second(session, record_id, supervisor, "this review decision")
    key = sealing.record_key(session, keyring, record_id)
    settle(waiting, confirmed=True, supervisor=supervisor, reason=reason, key=key, now=now)
    outcome = next(o for o, action in SECOND_PERSON.items() if action == waiting.action)
    return _apply(
        session,
        keyring,
        record_id,
        outcome,
        actor=supervisor.username,
        confirmed_by=supervisor.username,
        decided_by=waiting.requested_by,
        now=now,
    )


def refuse_review(
    session: Session,
    keyring: Keyring,
    record_id: str,
    *,
    supervisor: Person,
    reason: str,
    now: dt.datetime,
) -> None:
    """A supervisor refuses the decision: nothing happens and the record stays in review."""
    waiting = _second(session, record_id, supervisor, "refusing this review decision")
    key = sealing.record_key(session, keyring, record_id)
    settle(waiting, confirmed=False, supervisor=supervisor, reason=reason, key=key, now=now)
    audit.append(
        session,
        now=now,
        actor=supervisor.username,
        action=f"{waiting.action}_refused",
        object_type="record",
        object_id=record_id,
        details={"approval_id": waiting.id, "requested_by": waiting.requested_by},
    )
