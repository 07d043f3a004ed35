"""Approving a removal request: the plan per matched record, and the second person's answer.

Layer: ``retention.requests``. Builds on ``retention.requests.workflow`` (the request's state
machine) and ``retention.engine`` (decisions, the second-person rule, the purge). Approval
applies the request to every matched record: purge (crypto-shred, with a certificate naming the
request) or restrict, and restrict only where a legal hold stands (RULES.md §8.1). Where a purge
goes beyond what a record's rule says today, or past the safety belt, approval is recorded and
waits (``confirming``) for a supervisor who neither approved nor matched: ``confirm`` carries it
out exactly as approved, ``refuse`` sends the request back under review.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies import Decision
from policies.vocabulary import Action, RequestKind
from retention.audit import chain as audit
from retention.db.models import (
    ApprovalState,
    Image,
    Record,
    RecordStatus,
    RemovalRequest,
    RequestMatch,
    RequestState,
    SecondApproval,
)
from retention.engine import decisions, sealing
from retention.engine.authority import (
    DEFAULT_LIMITS,
    Limits,
    Person,
    purge_limit,
    require_second_person,
    rule_says_purge,
    settle,
)
from retention.engine.purge import Purged, held_ids, purge_records
from retention.errors import AuthorityError, HoldError
from retention.keys.keyring import Keyring
from retention.requests.filing import MAX_TEXT, RequestError, matched
from retention.requests.workflow import OPEN, lock_request, move_state, pending_matches


class Effect(StrEnum):
    """What approving a request will do to one matched record."""

    PURGE = "purge now"
    PURGE_OUTSIDE_RULE = "purge now, outside its rule (needs a second person)"
    RESTRICT = "restrict"
    HELD = "restrict: under a legal hold"
    ALREADY_PURGED = "already purged"


@dataclass(frozen=True)
class Planned:
    """One matched record on the approval page: what its rule says and what approval does."""

    record: Record
    images: int
    decision: Decision | None
    effect: Effect


@dataclass(frozen=True)
class Plan:
    """What approving a request would do, record by record, and who must agree to it."""

    records: list[Planned]
    pending_matches: int
    purge_limit: int
    live_records: int

    @property
    def purges(self) -> list[Planned]:
        return [p for p in self.records if p.effect in (Effect.PURGE, Effect.PURGE_OUTSIDE_RULE)]

    @property
    def outside_rule(self) -> bool:
        """Some purge is not what the record's own rule says: a second person must confirm."""
        return any(p.effect is Effect.PURGE_OUTSIDE_RULE for p in self.records)

    @property
    def over_belt(self) -> bool:
        """More purges than the safety belt allows without a supervisor."""
        return len(self.purges) > self.purge_limit

    @property
    def needs_second_person(self) -> bool:
        return self.outside_rule or self.over_belt


def plan(
    session: Session, req: RemovalRequest, today: dt.date, limits: Limits = DEFAULT_LIMITS
) -> Plan:
    """Evaluate every matched record as approval would, without changing anything."""
    records = matched(session, req)
    held = held_ids(session, [r.id for r in records])
    image_counts = dict(
        session.execute(
            select(Image.record_id, func.count())
            .where(Image.record_id.in_([r.id for r in records]), Image.kind == "original")
            .group_by(Image.record_id)
        ).all()
    )
    resolver = decisions.PackResolver(session)
    live = [r for r in records if r.status != RecordStatus.PURGED.value]
    facts = decisions.facts_for_batch(session, live)
    wants_purge = req.kind != RequestKind.RESTRICTION.value
    planned = []
    for record in records:
        if record.status == RecordStatus.PURGED.value:
            planned.append(Planned(record, 0, None, Effect.ALREADY_PURGED))
            continue
        decision = decisions.evaluate_only(session, record, today, resolver, facts[record.id])
        if record.id in held:
            effect = Effect.HELD
        elif not wants_purge or decision.action is Action.RESTRICT:
            effect = Effect.RESTRICT
        elif rule_says_purge(decision, today):
            effect = Effect.PURGE
        else:
            effect = Effect.PURGE_OUTSIDE_RULE
        planned.append(Planned(record, int(image_counts.get(record.id, 0)), decision, effect))
    limit, live_count = purge_limit(session, limits)
    return Plan(planned, len(pending_matches(session, req)), limit, live_count)


@dataclass
class Approval:
    """What approving (or confirming) a request did to each matched record; ``waiting`` when it
    now waits for a second person."""

    purged: list[Purged]
    restricted: list[str]
    held: list[str]
    waiting: SecondApproval | None = None


def approve(
    session: Session,
    keyring: Keyring,
    request_id: str,
    *,
    actor: str,
    reasons: str,
    now: dt.datetime,
    limits: Limits = DEFAULT_LIMITS,
) -> Approval:
    """Approve: apply the request to every matched record — purge (crypto-shred, with a
    certificate naming the request) or, for a restriction request, restrict; a record under a
    legal hold is restricted instead, never purged (RULES.md §8.1).

    When a purge would go beyond what the records' own rules say, or past the safety belt, the
    approval is recorded and the request waits (``confirming``) for a supervisor who is neither
    this approver nor a matcher (``confirm``); nothing is destroyed until then.
    """
    req = lock_request(session, request_id)
    if not matched(session, req):
        raise RequestError("match at least one record before approving (or deny the request)")
    text = (reasons.strip() or "Your request was approved.")[:MAX_TEXT]
    return _decide(session, keyring, req, actor=actor, text=text, now=now, limits=limits)


def _decide(
    session: Session,
    keyring: Keyring,
    req: RemovalRequest,
    *,
    actor: str,
    text: str,
    now: dt.datetime,
    limits: Limits,
    allowed: tuple[RequestState, ...] = OPEN,
) -> Approval:
    """Approve ``req`` as ``actor`` (carry it out, or wait for a second person)."""
    today = now.date()
    the_plan = plan(session, req, today, limits)
    if the_plan.pending_matches:
        raise RequestError(
            f"{the_plan.pending_matches} matched record(s) wait for a supervisor to confirm "
            "the match; confirm or remove them before approving"
        )
    key = sealing.request_key(keyring, req)
    sealed_text = sealing.seal(key, req.id, sealing.request_field("decision_reasons"), text)
    if not the_plan.needs_second_person:
        move_state(session, req, RequestState.APPROVED, actor=actor, now=now, allowed=allowed)
        req.decision_reasons_sealed = sealed_text
        req.decided_by = actor
        req.decided_at = now
        return _carry_out(session, keyring, req, actor=actor, confirmed_by=None, now=now)
    approval_id = uuid.uuid4().hex
    waiting = SecondApproval(
        id=approval_id,
        subject_type="request",
        subject_id=req.id,
        action="request.approve",
        state=ApprovalState.PENDING.value,
        reason_sealed=sealing.seal(
            key, req.id, sealing.row_field("second_approvals", approval_id, "reason"), text
        ),
        details={
            "purge": [p.record.id for p in the_plan.purges],
            "outside_rule": [
                p.record.id for p in the_plan.records if p.effect is Effect.PURGE_OUTSIDE_RULE
            ],
            "over_belt": the_plan.over_belt,
        },
        requested_by=actor,
        requested_at=now,
    )
    session.add(waiting)
    move_state(
        session,
        req,
        RequestState.CONFIRMING,
        actor=actor,
        now=now,
        allowed=allowed,
        details={
            "purges": len(the_plan.purges),
            "outside_rule": len(waiting.details["outside_rule"]),
            "over_belt": the_plan.over_belt,
        },
    )
    req.decision_reasons_sealed = sealed_text
    req.decided_by = actor
    req.decided_at = now
    return Approval([], [], [], waiting)


def waiting_approval(session: Session, subject_id: str) -> SecondApproval | None:
    """The pending second-person approval of a request or record, if any."""
    return session.execute(
        select(SecondApproval).where(
            SecondApproval.subject_id == subject_id,
            SecondApproval.state == ApprovalState.PENDING.value,
        )
    ).scalar_one_or_none()


def _second(session: Session, req: RemovalRequest, supervisor: Person, what: str) -> SecondApproval:
    if req.state != RequestState.CONFIRMING.value:
        raise RequestError(f"request {req.id} is {req.state}; nothing waits for confirmation")
    waiting = waiting_approval(session, req.id)
    assert waiting is not None, "a confirming request has its pending approval"
    matchers = session.execute(
        select(RequestMatch.matched_by).where(RequestMatch.request_id == req.id)
    ).scalars()
    require_second_person(supervisor, already=[waiting.requested_by, *matchers], what=what)
    return waiting


def confirm(
    session: Session,
    keyring: Keyring,
    request_id: str,
    *,
    supervisor: Person,
    reason: str,
    now: dt.datetime,
) -> Approval:
    """The second person confirms an approval that destroys outside the rules (or past the
    safety belt): now the records are purged, each certificate naming both people."""
    req = lock_request(session, request_id)
    waiting = _second(session, req, supervisor, "this approval")
    # The supervisor confirms what the first person approved, no more: if a record's facts
    # changed since (an outcome set, a hold released) so that approval would now also purge a
    # record the first person saw spared, the approval must be made again.
    now_purged = {p.record.id for p in plan(session, req, now.date()).purges}
    extra = sorted(now_purged - set(waiting.details.get("purge", [])))
    if extra:
        raise AuthorityError(
            f"since the approval, {len(extra)} more record(s) would be purged (first: "
            f"{extra[0]}); refuse this approval so the request can be approved again"
        )
    _answer(session, keyring, req, waiting, supervisor, reason, now, confirmed=True)
    return _carry_out(
        session, keyring, req, actor=supervisor.username, confirmed_by=supervisor.username, now=now
    )


def _answer(
    session: Session,
    keyring: Keyring,
    req: RemovalRequest,
    waiting: SecondApproval,
    supervisor: Person,
    reason: str,
    now: dt.datetime,
    *,
    confirmed: bool,
) -> None:
    """Record the second person's answer and move the request: approved, or back under review."""
    key = sealing.request_key(keyring, req)
    settle(waiting, confirmed=confirmed, supervisor=supervisor, reason=reason, key=key, now=now)
    move_state(
        session,
        req,
        RequestState.APPROVED if confirmed else RequestState.UNDER_REVIEW,
        actor=supervisor.username,
        now=now,
        allowed=(RequestState.CONFIRMING,),
        details={"approved_by": waiting.requested_by}
        if confirmed
        else {"second_approval": "refused"},
    )


def refuse(
    session: Session,
    keyring: Keyring,
    request_id: str,
    *,
    supervisor: Person,
    reason: str,
    now: dt.datetime,
) -> None:
    """The second person refuses: nothing is destroyed and the request is back under review."""
    req = lock_request(session, request_id)
    waiting = _second(session, req, supervisor, "refusing this approval")
    _answer(session, keyring, req, waiting, supervisor, reason, now, confirmed=False)
    req.decided_by = None
    req.decided_at = None


def _carry_out(
    session: Session,
    keyring: Keyring,
    req: RemovalRequest,
    *,
    actor: str,
    confirmed_by: str | None,
    now: dt.datetime,
) -> Approval:
    records = matched(session, req)
    live = [r for r in records if r.status != RecordStatus.PURGED.value]
    held = held_ids(session, [r.id for r in live])
    today = now.date()
    to_purge: list[tuple[Record, dict[str, Any]]] = []
    restricted: list[str] = []
    for record in live:
        decision = decisions.reevaluate(session, record, today)
        wants_purge = req.kind != RequestKind.RESTRICTION.value
        if record.id in held or not wants_purge or decision.action is Action.RESTRICT:
            record.status = RecordStatus.RESTRICTED.value
            record.restriction_sealed = sealing.seal_for_record(
                session,
                keyring,
                record.id,
                sealing.record_field("restriction"),
                f"request {req.id}",
            )
            record.updated_at = now
            decisions.apply_decision(record, decision, today)
            restricted.append(record.id)
            audit.append(
                session,
                now=now,
                actor=actor,
                action="record.restricted",
                object_type="record",
                object_id=record.id,
                rule=decision.rule,
                details={"request_id": req.id, "held": record.id in held},
            )
            continue
        if confirmed_by is None and not rule_says_purge(decision, today):
            # The facts changed since the plan (a hold released, an outcome set): this purge
            # is no longer the rule's, so it needs the second person after all.
            raise AuthorityError(
                f"record {record.id}: its rule no longer says purge; approve again so a "
                "supervisor can confirm"
            )
        reason: dict[str, Any] = {
            "decision": "removal request approved",
            "decided_by": req.decided_by,
            "rule": decision.rule,
            "citation": decision.citation,
            "decided_on": today.isoformat(),
        }
        if confirmed_by is not None:
            reason["confirmed_by"] = confirmed_by
            reason["outside_rule"] = not rule_says_purge(decision, today)
        to_purge.append((record, reason))
    try:
        purged = purge_records(
            session,
            keyring,
            to_purge,
            now=now,
            actor=actor,
            request_reference=req.id,
            requester_reference_sha256=req.reference_sha256,
        )
    except HoldError as exc:  # a hold placed between the check and now
        raise RequestError(str(exc)) from None
    if not held:
        move_state(
            session,
            req,
            RequestState.COMPLETED,
            actor=actor,
            now=now,
            allowed=(RequestState.APPROVED, RequestState.ON_HOLD),
        )
        req.completed_at = now
    elif req.state != RequestState.ON_HOLD.value:
        # Restricted for now; destroyed once the hold ends (``resume_held``). The requester's
        # page says so instead of "being carried out" for as long as the hold stands.
        move_state(
            session,
            req,
            RequestState.ON_HOLD,
            actor=actor,
            now=now,
            allowed=(RequestState.APPROVED,),
            details={"held": len(held)},
        )
    return Approval(purged, restricted, sorted(held))


def held_requests_ready(session: Session) -> list[str]:
    """Requests kept ``on_hold`` none of whose matched live records is still under a hold."""
    waiting = list(
        session.execute(
            select(RemovalRequest).where(RemovalRequest.state == RequestState.ON_HOLD.value)
        ).scalars()
    )
    ready = []
    for req in waiting:
        live = [r.id for r in matched(session, req) if r.status != RecordStatus.PURGED.value]
        if not held_ids(session, live):
            ready.append(req.id)
    return ready


def resume_held(
    session: Session,
    keyring: Keyring,
    request_id: str,
    *,
    actor: str,
    now: dt.datetime,
    limits: Limits = DEFAULT_LIMITS,
) -> Approval:
    """Carry out an approval kept waiting by a legal hold, once no matched record is held any
    more: decided again exactly as ``approve`` decides (purge where the rule says so; beyond
    the rule or past the safety belt the request waits, ``confirming``, for a second person),
    with the reasons the requester was already given."""
    req = lock_request(session, request_id)
    if req.state != RequestState.ON_HOLD.value:
        raise RequestError(f"request {req.id} is {req.state}; it is not kept under a hold")
    live = [r.id for r in matched(session, req) if r.status != RecordStatus.PURGED.value]
    if held_ids(session, live):
        raise RequestError(f"request {req.id}: a matched record is still under a legal hold")
    given = sealing.Opener(session, keyring).request(
        req.id, sealing.request_field("decision_reasons"), req.decision_reasons_sealed
    )
    return _decide(
        session,
        keyring,
        req,
        actor=actor,
        text=given or "Your request was approved.",
        now=now,
        limits=limits,
        allowed=(RequestState.ON_HOLD,),
    )
