"""The removal-request workflow: match, ask for information, answer, extend, deny, approve.

Layer: ``retention.requests`` (no Flask; ``web`` drives it). Builds on
``retention.requests.filing`` (claims, candidates) and ``retention.engine`` (decisions, purge).
Each step locks the request, checks its state, appends exactly one audit entry and never
commits: the caller's transaction holds the step.

States: received → under_review → approved | denied | needs_info (→ under_review when the
requester answers) → completed (every matched record purged or restricted; certificates ready).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from policies import Decision
from policies.vocabulary import Action, RequestKind
from retention.audit import chain as audit
from retention.db.models import (
    ApprovalState,
    Certificate,
    Image,
    MatchSource,
    Record,
    RecordStatus,
    RemovalRequest,
    RequestMatch,
    RequestSearchHit,
    RequestState,
    SecondApproval,
)
from retention.db.rows import locked
from retention.engine import decisions
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
from retention.engine.reasons import stated_reason
from retention.errors import AuthorityError, FactError, HoldError, NotFoundError
from retention.keys import crypto
from retention.keys.indexes import booking_index, name_dob_index
from retention.keys.keyring import Keyring
from retention.requests.filing import (
    MAX_TEXT,
    RequestError,
    by_reference,
    candidates,
    matched,
    request_key,
    response_deadline,
)


def _deadline(session: Session, req: RemovalRequest) -> dt.date | None:
    """The response deadline as the request's dates stand (receipt, extension notice, and the
    pause while the requester is asked for information)."""
    return response_deadline(
        session,
        req.jurisdiction,
        RequestKind(req.kind),
        req.received_on,
        extension=req.extension_notice_on,
        info_requested=req.info_requested_on,
        info_received=req.info_received_on,
    )


def _locked(session: Session, request_id: str) -> RemovalRequest:
    return locked(session, RemovalRequest, request_id, "request")


def _move(
    session: Session,
    req: RemovalRequest,
    to: RequestState,
    *,
    actor: str,
    now: dt.datetime,
    allowed: tuple[RequestState, ...],
    details: dict[str, Any] | None = None,
) -> None:
    if RequestState(req.state) not in allowed:
        raise RequestError(f"request {req.id} is {req.state}; it cannot become {to.value}")
    before = req.state
    req.state = to.value
    req.updated_at = now
    audit.append(
        session,
        now=now,
        actor=actor,
        action=f"request.{to.value}",
        object_type="request",
        object_id=req.id,
        details={"from": before, **(details or {})},
    )


OPEN = (RequestState.RECEIVED, RequestState.UNDER_REVIEW, RequestState.NEEDS_INFO)
# A search from a request's page returns at most this many records (an exact lookup finds few).
SEARCH_LIMIT = 50


def search(
    session: Session,
    keyring: Keyring,
    request_id: str,
    *,
    booking_number: str | None = None,
    name: str | None = None,
    date_of_birth: dt.date | None = None,
    actor: str,
    reason: str,
    now: dt.datetime,
) -> list[Record]:
    """Find records by booking number, or by name and date of birth, for this request — when
    the requester's later answer names another booking, say. Audited as a search (which kinds
    of value, how many hits — never the values); the records found become matchable to this
    request. Exact lookup through the blind indexes only: nothing is decrypted."""
    why = stated_reason(reason, "reason for the search")
    req = _locked(session, request_id)
    if RequestState(req.state) not in OPEN:
        raise RequestError(f"request {req.id} is {req.state}; records can no longer be matched")
    conditions = []
    used = []
    if booking_number and booking_number.strip():
        conditions.append(Record.booking_bidx == booking_index(keyring, booking_number))
        used.append("booking_number")
    if name and name.strip() and date_of_birth is not None:
        conditions.append(Record.name_dob_bidx == name_dob_index(keyring, name, date_of_birth))
        used.append("name+date_of_birth")
    if not conditions:
        raise RequestError("search: give a booking number, or a name and a date of birth")
    found = list(
        session.execute(
            select(Record)
            .where(or_(*conditions), Record.status != RecordStatus.PURGED.value)
            .order_by(Record.created_at, Record.id)
            .limit(SEARCH_LIMIT)
        ).scalars()
    )
    seen = set(
        session.execute(
            select(RequestSearchHit.record_id).where(RequestSearchHit.request_id == req.id)
        ).scalars()
    )
    for record in found:
        if record.id not in seen:
            session.add(
                RequestSearchHit(
                    request_id=req.id, record_id=record.id, searched_by=actor, searched_at=now
                )
            )
    audit.append(
        session,
        now=now,
        actor=actor,
        action="request.searched",
        object_type="request",
        object_id=req.id,
        details={"by": used, "hits": len(found), "reason": why},
    )
    return found


def search_hits(session: Session, req: RemovalRequest) -> list[Record]:
    """Records earlier searches from this request's page found (still live)."""
    return list(
        session.execute(
            select(Record)
            .join(RequestSearchHit, RequestSearchHit.record_id == Record.id)
            .where(
                RequestSearchHit.request_id == req.id, Record.status != RecordStatus.PURGED.value
            )
            .order_by(RequestSearchHit.searched_at, Record.id)
        ).scalars()
    )


def _match_row(session: Session, request_id: str, record_id: str) -> RequestMatch | None:
    return session.execute(
        select(RequestMatch).where(
            RequestMatch.request_id == request_id, RequestMatch.record_id == record_id
        )
    ).scalar_one_or_none()


def match(
    session: Session,
    request_id: str,
    record_id: str,
    *,
    actor: str,
    now: dt.datetime,
    reason: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> RequestMatch:
    """Confirm a record as the subject of the request (moves it under review).

    Only the request's candidates (its own blind indexes found them) and records found by a
    search from the request page can be matched; anything else is refused and nothing changes.
    A record whose name and date of birth differ from the requester's, or a match past
    ``limits.request_matches``, needs a stated reason and stays *pending* until a supervisor
    other than the matcher confirms it (``confirm_match``); approval waits for that.
    """
    req = _locked(session, request_id)
    if RequestState(req.state) not in OPEN:
        raise RequestError(f"request {req.id} is {req.state}; records can no longer be matched")
    record = session.get(Record, record_id)
    if record is None:
        raise NotFoundError(f"no record {record_id}")
    existing = _match_row(session, req.id, record_id)
    if existing is not None:
        return existing
    if record.status == RecordStatus.PURGED.value:
        raise RequestError(f"record {record_id} is already purged")
    if record_id in {r.id for r in candidates(session, req)}:
        source = MatchSource.CANDIDATE
    elif session.execute(
        select(RequestSearchHit.id).where(
            RequestSearchHit.request_id == req.id, RequestSearchHit.record_id == record_id
        )
    ).first():
        source = MatchSource.SEARCH
    else:
        raise RequestError(
            f"record {record_id} is not a candidate of this request: find it with a search "
            "from the request's page (with a reason) before matching it"
        )
    same = req.name_dob_bidx is not None and record.name_dob_bidx == req.name_dob_bidx
    count = len(matched(session, req)) + 1
    over_limit = count > limits.request_matches
    needs = not same or over_limit
    why = None
    if needs:
        because = (
            "another person's identity"
            if not same
            else f"more than {limits.request_matches} records"
        )
        why = stated_reason(reason, f"reason for matching a record with {because}")
    row = RequestMatch(
        request_id=req.id,
        record_id=record_id,
        matched_by=actor,
        matched_at=now,
        source=source.value,
        same_identity=same,
        needs_confirmation=needs,
        reason=why,
    )
    session.add(row)
    if req.state == RequestState.RECEIVED.value:
        _move(
            session,
            req,
            RequestState.UNDER_REVIEW,
            actor=actor,
            now=now,
            allowed=(RequestState.RECEIVED,),
        )
    audit.append(
        session,
        now=now,
        actor=actor,
        action="request.matched",
        object_type="request",
        object_id=req.id,
        details={
            "record_id": record_id,
            "source": source.value,
            "same_identity": same,
            "pending": needs,
            **({"over_limit": True} if over_limit else {}),
        },
    )
    session.flush()
    return row


def confirm_match(
    session: Session,
    request_id: str,
    record_id: str,
    *,
    supervisor: Person,
    reason: str,
    now: dt.datetime,
) -> RequestMatch:
    """A supervisor who did not make the match confirms a pending one, with a reason."""
    req = _locked(session, request_id)
    row = _match_row(session, req.id, record_id)
    if row is None or not row.pending:
        raise RequestError(f"record {record_id} has no match waiting for confirmation")
    require_second_person(supervisor, already=[row.matched_by], what="this match")
    row.confirmed_by = supervisor.username
    row.confirmed_at = now
    row.confirm_reason = stated_reason(reason, "reason for confirming the match")
    audit.append(
        session,
        now=now,
        actor=supervisor.username,
        action="request.match_confirmed",
        object_type="request",
        object_id=req.id,
        details={"record_id": record_id, "matched_by": row.matched_by},
    )
    return row


def unmatch(
    session: Session, request_id: str, record_id: str, *, actor: str, reason: str, now: dt.datetime
) -> None:
    """Take a match back (a wrong match, or a pending one a supervisor will not confirm)."""
    why = stated_reason(reason, "reason for removing the match")
    req = _locked(session, request_id)
    if RequestState(req.state) not in OPEN:
        raise RequestError(f"request {req.id} is {req.state}; its matches are settled")
    row = _match_row(session, req.id, record_id)
    if row is None:
        raise RequestError(f"record {record_id} is not matched to this request")
    session.delete(row)
    audit.append(
        session,
        now=now,
        actor=actor,
        action="request.unmatched",
        object_type="request",
        object_id=req.id,
        details={"record_id": record_id, "reason": why},
    )


def pending_matches(session: Session, req: RemovalRequest) -> list[RequestMatch]:
    """Matches waiting for a supervisor's confirmation."""
    return [
        m
        for m in session.execute(
            select(RequestMatch).where(RequestMatch.request_id == req.id)
        ).scalars()
        if m.pending
    ]


def ask_for_information(
    session: Session, request_id: str, *, actor: str, message: str, now: dt.datetime
) -> None:
    """Ask the requester for more information; the response clock waits for the answer
    where the law says it runs from the relevant time (DPA 2018 s.54(2))."""
    if not message.strip():
        raise RequestError("message: say what information is needed")
    req = _locked(session, request_id)
    _move(
        session,
        req,
        RequestState.NEEDS_INFO,
        actor=actor,
        now=now,
        allowed=(RequestState.RECEIVED, RequestState.UNDER_REVIEW),
    )
    req.info_requested_on = now.date()
    req.info_received_on = None
    req.decision_reasons = message.strip()[:MAX_TEXT]
    req.respond_by = _deadline(session, req)


def answer(
    session: Session, keyring: Keyring, reference: str, *, text: str, now: dt.datetime
) -> RemovalRequest:
    """The requester's answer to a request for information (sealed with the claims)."""
    if not text.strip() or len(text) > MAX_TEXT:
        raise RequestError(f"answer: between 1 and {MAX_TEXT} characters")
    found = by_reference(session, reference)
    if found is None or found.state != RequestState.NEEDS_INFO.value:
        raise RequestError("this request is not waiting for information")
    req = _locked(session, found.id)
    key = request_key(keyring, req)
    assert req.claims_sealed is not None
    claims = json.loads(crypto.open_field(key, req.claims_sealed, record_id=req.id, field="claims"))
    claims["answers"].append({"on": now.date().isoformat(), "text": text.strip()})
    req.claims_sealed = crypto.seal_field(
        key, json.dumps(claims).encode(), record_id=req.id, field="claims"
    )
    req.info_received_on = now.date()
    req.decision_reasons = None
    req.respond_by = _deadline(session, req)
    _move(
        session,
        req,
        RequestState.UNDER_REVIEW,
        actor="public",
        now=now,
        allowed=(RequestState.NEEDS_INFO,),
    )
    return req


def extend(session: Session, request_id: str, *, actor: str, now: dt.datetime) -> None:
    """Give notice of an extension (DPA 2018 s.54(3A): before the first month ends)."""
    req = _locked(session, request_id)
    if RequestState(req.state) not in OPEN:
        raise RequestError(f"request {req.id} is {req.state}; nothing to extend")
    if req.respond_by is not None and now.date() > req.respond_by:
        raise RequestError(
            "the response deadline has passed; an extension must be noticed before it"
        )
    req.extension_notice_on = now.date()
    req.respond_by = _deadline(session, req)
    req.updated_at = now
    audit.append(
        session,
        now=now,
        actor=actor,
        action="request.extended",
        object_type="request",
        object_id=req.id,
        details={"respond_by": req.respond_by.isoformat() if req.respond_by else None},
    )


def deny(session: Session, request_id: str, *, actor: str, reasons: str, now: dt.datetime) -> None:
    """Refuse the request; the reasons are shown to the requester."""
    if not reasons.strip():
        raise RequestError("reasons: a refusal must give its reasons")
    req = _locked(session, request_id)
    _move(session, req, RequestState.DENIED, actor=actor, now=now, allowed=OPEN)
    req.decision_reasons = reasons.strip()[:MAX_TEXT]
    req.decided_by = actor
    req.decided_at = now


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
    req = _locked(session, request_id)
    if not matched(session, req):
        raise RequestError("match at least one record before approving (or deny the request)")
    today = now.date()
    the_plan = plan(session, req, today, limits)
    if the_plan.pending_matches:
        raise RequestError(
            f"{the_plan.pending_matches} matched record(s) wait for a supervisor to confirm "
            "the match; confirm or remove them before approving"
        )
    text = (reasons.strip() or "Your request was approved.")[:MAX_TEXT]
    if not the_plan.needs_second_person:
        _move(session, req, RequestState.APPROVED, actor=actor, now=now, allowed=OPEN)
        req.decision_reasons = text
        req.decided_by = actor
        req.decided_at = now
        return _carry_out(session, keyring, req, actor=actor, confirmed_by=None, now=now)
    waiting = SecondApproval(
        id=uuid.uuid4().hex,
        subject_type="request",
        subject_id=req.id,
        action="request.approve",
        state=ApprovalState.PENDING.value,
        reason=text,
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
    _move(
        session,
        req,
        RequestState.CONFIRMING,
        actor=actor,
        now=now,
        allowed=OPEN,
        details={
            "purges": len(the_plan.purges),
            "outside_rule": len(waiting.details["outside_rule"]),
            "over_belt": the_plan.over_belt,
        },
    )
    req.decision_reasons = text
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
    req = _locked(session, request_id)
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
    settle(waiting, confirmed=True, supervisor=supervisor, reason=reason, now=now)
    _move(
        session,
        req,
        RequestState.APPROVED,
        actor=supervisor.username,
        now=now,
        allowed=(RequestState.CONFIRMING,),
        details={"approved_by": waiting.requested_by},
    )
    return _carry_out(
        session, keyring, req, actor=supervisor.username, confirmed_by=supervisor.username, now=now
    )


def refuse(
    session: Session, request_id: str, *, supervisor: Person, reason: str, now: dt.datetime
) -> None:
    """The second person refuses: nothing is destroyed and the request is back under review."""
    req = _locked(session, request_id)
    waiting = _second(session, req, supervisor, "refusing this approval")
    settle(waiting, confirmed=False, supervisor=supervisor, reason=reason, now=now)
    _move(
        session,
        req,
        RequestState.UNDER_REVIEW,
        actor=supervisor.username,
        now=now,
        allowed=(RequestState.CONFIRMING,),
        details={"second_approval": "refused"},
    )
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
            record.restriction_reason = f"request {req.id}"[:200]
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
            session, keyring, to_purge, now=now, actor=actor, request_reference=req.id
        )
    except HoldError as exc:  # a hold placed between the check and now
        raise RequestError(str(exc)) from None
    if not held:
        _move(
            session,
            req,
            RequestState.COMPLETED,
            actor=actor,
            now=now,
            allowed=(RequestState.APPROVED,),
        )
        req.completed_at = now
    return Approval(purged, restricted, sorted(held))


def certificates_for(session: Session, req: RemovalRequest) -> list[Certificate]:
    """Deletion certificates issued for this request."""
    return list(
        session.execute(
            select(Certificate)
            .where(Certificate.request_reference == req.id)
            .order_by(Certificate.created_at)
        ).scalars()
    )


def check_open(req: RemovalRequest) -> None:
    """Raise unless the request can still be acted on."""
    if RequestState(req.state) not in OPEN:
        raise FactError(f"request {req.id} is {req.state}")


def overdue(session: Session, today: dt.date) -> dict[str, int]:
    """Open requests past their response deadline, and due within a week (scheduler check)."""
    # An approval waiting for its second person has not answered the requester yet.
    open_states = [
        s.value for s in (*OPEN, RequestState.CONFIRMING) if s is not RequestState.NEEDS_INFO
    ]
    rows = session.execute(
        select(RemovalRequest.respond_by).where(
            RemovalRequest.state.in_(open_states), RemovalRequest.respond_by.is_not(None)
        )
    ).scalars()
    dates = [d for d in rows if d is not None]
    return {
        "requests_overdue": sum(1 for d in dates if d < today),
        "requests_due_this_week": sum(1 for d in dates if today <= d <= today + dt.timedelta(7)),
    }
