"""Disposition reviews: a person decides what happens to a record its rule sent to review.

Layer: ``retention.engine``. Keep and restrict take effect at once. Purging a record whose rule
does not say purge, and keeping one past its limit for an exceptional reason (UK 2017 Review),
go beyond the rules, so they take two people (DESIGN.md invariant 9): the first decision is
recorded and waits; a supervisor who did not make it confirms (``confirm_review``) or refuses
(``refuse_review``) it, and only then is the record purged or kept. A purge the record's own
rule already says needs one person. Each step writes exactly one audit entry.

A deployment may ask for a supervisor's sign-off on more outcomes (``sign_off``: the setting
``MUGSHOT_REVIEW_SIGN_OFF``, e.g. every restriction) — a second stage on top of the rules.

Batches (``decide_reviews``, ``confirm_reviews``, ``assign_reviews``) take many records and one
reason, and still evaluate, lock and audit each record on its own, in its own savepoint: a
record that cannot be decided (held, decided meanwhile) is refused and named, the others go
ahead. A batch of purges larger than the safety belt (``authority.purge_limit``) purges none of
them at once: each waits for a supervisor, as a purge outside the rule does.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
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
    Role,
    SecondApproval,
    User,
)
from retention.engine import decisions, sealing
from retention.engine.authority import (
    DEFAULT_LIMITS,
    Limits,
    Person,
    purge_limit,
    require_second_person,
    rule_says_purge,
    same_person,
    settle,
)
from retention.engine.changes import lock_record, reevaluate_and_audit
from retention.engine.purge import Purged, held, purge_record
from retention.engine.reasons import stated_reason
from retention.errors import FactError, HoldError, RetentionError
from retention.keys.keyring import Keyring
from retention.settings import Settings


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
# Most records one batch action may take (a filter matching more is narrowed first).
BATCH_LIMIT = 500


def approval_action(outcome: ReviewOutcome) -> str:
    """The ``SecondApproval.action`` of a review decision waiting for its second person."""
    return f"review.{outcome.value}"


def outcome_of(approval: SecondApproval) -> ReviewOutcome:
    """The review outcome a waiting approval will carry out when confirmed."""
    return ReviewOutcome(approval.action.removeprefix("review."))


def sign_off_of(settings: Settings) -> frozenset[ReviewOutcome]:
    """The outcomes this deployment always has a supervisor sign off (``review_sign_off``)."""
    return frozenset(ReviewOutcome(v) for v in settings.review_sign_off)


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
    sign_off: Collection[ReviewOutcome] = (),
    over_belt: bool = False,
) -> ReviewResult:
    """Record a review decision and apply it: keep (the review is done until the next one
    falls due) or restrict now; purge now only where the record's rule says purge; otherwise a
    purge or an exceptional keep waits for a second person (``ReviewResult.waiting``), as does
    any outcome in ``sign_off`` and a purge in a batch past the safety belt (``over_belt``)."""
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
    if outcome in SECOND_PERSON or outcome in sign_off:
        current = decisions.evaluate_only(session, record, today)
        why = _why_second_person(outcome, current, today, sign_off=sign_off, over_belt=over_belt)
        if why is not None:
            approval_id = uuid.uuid4().hex
            waiting = SecondApproval(
                id=approval_id,
                subject_type="record",
                subject_id=record.id,
                action=approval_action(outcome),
                state=ApprovalState.PENDING.value,
                reason_sealed=sealing.seal(
                    key,
                    record.id,
                    sealing.row_field("second_approvals", approval_id, "reason"),
                    reason.strip(),
                ),
                details={"rule": current.rule, "action": current.action.value, "why": why},
                requested_by=actor,
                requested_at=now,
            )
            session.add(waiting)
            audit.append(
                session,
                now=now,
                actor=actor,
                action=f"{approval_action(outcome)}_requested",
                object_type="record",
                object_id=record.id,
                rule=current.rule,
                details={"approval_id": waiting.id, "why": why},
            )
            return ReviewResult(None, None, waiting)
    return _apply(session, keyring, record_id, outcome, actor=actor, confirmed_by=None, now=now)


def _why_second_person(
    outcome: ReviewOutcome,
    current: Decision,
    today: dt.date,
    *,
    sign_off: Collection[ReviewOutcome],
    over_belt: bool,
) -> str | None:
    """Why this decision waits for a second person (None: it takes effect now)."""
    if outcome is ReviewOutcome.KEEP_EXCEPTIONAL:
        return "beyond_rule"
    if outcome is ReviewOutcome.PURGE and not rule_says_purge(current, today):
        return "beyond_rule"
    if outcome is ReviewOutcome.PURGE and over_belt:
        return "safety_belt"
    if outcome in sign_off:
        return "sign_off"
    return None


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
    outcome = outcome_of(waiting)
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


# -- batches ----------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What a batch did, record by record: applied now, waiting for a second person, purged
    (their blobs to delete after the commit), and refused (record id -> why, nothing done)."""

    decided: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    purged: list[Purged] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def blob_keys(self) -> list[str]:
        return [k for p in self.purged for k in p.blob_keys]


def _batch_ids(record_ids: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(record_ids))
    if not ids:
        raise FactError("choose at least one record")
    if len(ids) > BATCH_LIMIT:
        raise FactError(
            f"{len(ids)} records chosen; one batch takes at most {BATCH_LIMIT} (narrow the filter)"
        )
    return ids


def decide_reviews(
    session: Session,
    keyring: Keyring,
    record_ids: Sequence[str],
    *,
    outcome: ReviewOutcome,
    reason: str,
    actor: str,
    now: dt.datetime,
    limits: Limits = DEFAULT_LIMITS,
    sign_off: Collection[ReviewOutcome] = (),
) -> BatchResult:
    """One decision with one reason for many records, each decided (evaluated, locked,
    audited once) on its own in a savepoint; a record that cannot be decided is refused and
    named, the others go ahead. Purges past the safety belt all wait for a supervisor."""
    why = stated_reason(reason, "reason for the decision")
    ids = _batch_ids(record_ids)
    over_belt = False
    if outcome is ReviewOutcome.PURGE:
        limit, _ = purge_limit(session, limits)
        over_belt = len(ids) > limit
    result = BatchResult()
    for record_id in ids:
        try:
            with session.begin_nested():
                one = decide_review(
                    session,
                    keyring,
                    record_id,
                    outcome=outcome,
                    reason=why,
                    actor=actor,
                    now=now,
                    sign_off=sign_off,
                    over_belt=over_belt,
                )
        except RetentionError as exc:
            result.refused[record_id] = str(exc)
            continue
        if one.waiting is not None:
            result.waiting.append(record_id)
        else:
            result.decided.append(record_id)
            if one.purged is not None:
                result.purged.append(one.purged)
    return result


def confirm_reviews(
    session: Session,
    keyring: Keyring,
    record_ids: Sequence[str],
    *,
    supervisor: Person,
    reason: str,
    now: dt.datetime,
    confirm: bool = True,
) -> BatchResult:
    """A supervisor confirms (or refuses) many waiting review decisions with one reason; each
    is checked (not the supervisor's own) and audited on its own. The confirmation is the
    supervisor's answer to the safety belt too."""
    why = stated_reason(reason, "reason for confirming" if confirm else "reason for refusing")
    ids = _batch_ids(record_ids)
    result = BatchResult()
    for record_id in ids:
        try:
            with session.begin_nested():
                if confirm:
                    one = confirm_review(
                        session, keyring, record_id, supervisor=supervisor, reason=why, now=now
                    )
                    if one.purged is not None:
                        result.purged.append(one.purged)
                else:
                    refuse_review(
                        session, keyring, record_id, supervisor=supervisor, reason=why, now=now
                    )
        except RetentionError as exc:
            result.refused[record_id] = str(exc)
            continue
        result.decided.append(record_id)
    return result


def staff_assignee(session: Session, name: str) -> str:
    """The username of the active clerk or supervisor ``name`` names (as stored), or an error:
    work is assigned to people who can do it."""
    user = session.execute(
        select(User).where(User.username == name.strip().lower())
    ).scalar_one_or_none()
    if user is None or not user.active or user.role not in (Role.CLERK, Role.SUPERVISOR):
        raise FactError(f"assignee: {name.strip()!r} is not an active clerk or supervisor")
    return user.username


def assign_reviews(
    session: Session,
    record_ids: Sequence[str],
    *,
    assignee: str | None,
    actor: Person,
    now: dt.datetime,
) -> BatchResult:
    """Assign waiting reviews to a reviewer (None: unassign). A supervisor assigns anyone; a
    clerk only takes reviews for themself or gives back their own. One audit entry per record
    (``review.assigned``), naming the assignee — a staff account, never a data subject."""
    ids = _batch_ids(record_ids)
    if assignee is not None:
        assignee = staff_assignee(session, assignee)
    result = BatchResult()
    for record_id in ids:
        try:
            with session.begin_nested():
                record = lock_record(session, record_id)
                if record.next_action != Action.REVIEW.value or record.review_queued_at is None:
                    raise FactError(f"record {record.id} is not waiting for a review")
                if not actor.is_supervisor:
                    # Unassigned work only: taking it from a colleague is a supervisor's call.
                    taking = (
                        assignee is not None
                        and same_person(actor.username, assignee)
                        and record.review_assignee is None
                    )
                    giving_back = assignee is None and same_person(
                        actor.username, record.review_assignee
                    )
                    if not (taking or giving_back):
                        raise FactError(
                            "only a supervisor assigns reviews to someone else or takes them "
                            "from another reviewer"
                        )
                before = record.review_assignee
                record.review_assignee = assignee
                record.review_assigned_at = now if assignee is not None else None
                audit.append(
                    session,
                    now=now,
                    actor=actor.username,
                    action="review.assigned",
                    object_type="record",
                    object_id=record.id,
                    details={"to": assignee, "from": before},
                )
        except RetentionError as exc:
            result.refused[record_id] = str(exc)
            continue
        result.decided.append(record_id)
    return result
