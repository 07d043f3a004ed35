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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies.vocabulary import Action, RequestKind
from retention.audit import chain as audit
from retention.db.models import (
    Certificate,
    Record,
    RecordStatus,
    RemovalRequest,
    RequestMatch,
    RequestState,
)
from retention.engine import decisions
from retention.engine.purge import Purged, held_ids, purge_records
from retention.errors import FactError, HoldError, NotFoundError
from retention.keys import crypto
from retention.keys.keyring import Keyring
from retention.requests.filing import (
    MAX_TEXT,
    RequestError,
    by_reference,
    matched,
    request_key,
    response_deadline,
)


def _locked(session: Session, request_id: str) -> RemovalRequest:
    req = session.execute(
        select(RemovalRequest).where(RemovalRequest.id == request_id).with_for_update()
    ).scalar_one_or_none()
    if req is None:
        raise NotFoundError(f"no request {request_id}")
    return req


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


def match(
    session: Session, request_id: str, record_id: str, *, actor: str, now: dt.datetime
) -> None:
    """Confirm a record as the subject of the request (moves it under review)."""
    req = _locked(session, request_id)
    if RequestState(req.state) not in OPEN:
        raise RequestError(f"request {req.id} is {req.state}; records can no longer be matched")
    if session.get(Record, record_id) is None:
        raise NotFoundError(f"no record {record_id}")
    exists = session.execute(
        select(RequestMatch.id).where(
            RequestMatch.request_id == req.id, RequestMatch.record_id == record_id
        )
    ).first()
    if exists:
        return
    session.add(
        RequestMatch(request_id=req.id, record_id=record_id, matched_by=actor, matched_at=now)
    )
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
        details={"record_id": record_id},
    )


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
    req.respond_by = response_deadline(
        session,
        req.jurisdiction,
        RequestKind(req.kind),
        req.received_on,
        extension=req.extension_notice_on,
        info_requested=req.info_requested_on,
    )


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
    req.respond_by = response_deadline(
        session,
        req.jurisdiction,
        RequestKind(req.kind),
        req.received_on,
        extension=req.extension_notice_on,
        info_requested=req.info_requested_on,
        info_received=req.info_received_on,
    )
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
    req.respond_by = response_deadline(
        session,
        req.jurisdiction,
        RequestKind(req.kind),
        req.received_on,
        extension=req.extension_notice_on,
        info_requested=req.info_requested_on,
        info_received=req.info_received_on,
    )
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


@dataclass
class Approval:
    """What approving a request did to each matched record."""

    purged: list[Purged]
    restricted: list[str]
    held: list[str]


def approve(
    session: Session,
    keyring: Keyring,
    request_id: str,
    *,
    actor: str,
    reasons: str,
    now: dt.datetime,
) -> Approval:
    """Approve: apply the request to every matched record now — purge (crypto-shred, with a
    certificate naming the request) or, for a restriction request, restrict; a record under a
    legal hold is restricted instead, never purged (RULES.md §8.1)."""
    req = _locked(session, request_id)
    records = matched(session, req)
    if not records:
        raise RequestError("match at least one record before approving (or deny the request)")
    _move(session, req, RequestState.APPROVED, actor=actor, now=now, allowed=OPEN)
    req.decision_reasons = (reasons.strip() or "Your request was approved.")[:MAX_TEXT]
    req.decided_by = actor
    req.decided_at = now
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
        to_purge.append(
            (
                record,
                {
                    "decision": "removal request approved",
                    "decided_by": actor,
                    "rule": decision.rule,
                    "citation": decision.citation,
                    "decided_on": today.isoformat(),
                },
            )
        )
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
    open_states = [s.value for s in OPEN if s is not RequestState.NEEDS_INFO]
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
