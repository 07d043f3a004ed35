"""The removal-request workflow: search, match, ask for information, answer, extend, deny.

Layer: ``retention.requests`` (no Flask; ``web`` drives it). Builds on
``retention.requests.filing`` (claims, candidates) and ``retention.engine``; approving is
``retention.requests.approval``.
Each step locks the request, checks its state, appends exactly one audit entry and never
commits: the caller's transaction holds the step.

Who works on a request is ``assign`` (the queue's "assign to me"); the queue itself is
``retention.requests.queue``.

States: received → under_review → approved | denied | needs_info (→ under_review when the
requester answers) → completed (every matched record purged or restricted; certificates ready);
approved → on_hold when a matched record is under a legal hold (restricted now, destroyed when
the hold ends: ``approval.resume_held``). A request for information carries the date to answer
by (``answer_by``); the answer may bring a file (``retention.requests.replies``). A refused
requester may reply (``replies.reply``): sealed with the claims, the request stays refused, and
``replied_on`` tells the clerk's queue.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from policies.vocabulary import DeadlineBasis, ExtensionStatus, RequestKind
from retention.audit import chain as audit
from retention.db import request_counts
from retention.db.models import (
    Certificate,
    MatchSource,
    Record,
    RecordStatus,
    RemovalRequest,
    RequestMatch,
    RequestSearchHit,
    RequestState,
)
from retention.db.rows import locked
from retention.engine import sealing
from retention.engine.authority import (
    DEFAULT_LIMITS,
    Limits,
    Person,
    require_second_person,
    same_person,
)
from retention.engine.reasons import stated_reason
from retention.engine.reviews import staff_assignee
from retention.errors import FactError, NotFoundError
from retention.keys.indexes import booking_index, name_dob_index
from retention.keys.keyring import Keyring
from retention.notify import outbox
from retention.requests import replies
from retention.requests.filing import (
    MAX_TEXT,
    RequestError,
    ResponseTerms,
    by_reference,
    candidates,
    matched,
    response_terms,
)
from retention.storage.interface import BlobStore

# A requester asked for information is given this long to answer (shown as a date).
ANSWER_WITHIN = dt.timedelta(days=28)


def _terms(session: Session, req: RemovalRequest, today: dt.date) -> ResponseTerms:
    """The response terms as the request's dates stand (receipt, extension notice, and the
    pause while the requester is asked for information)."""
    return response_terms(
        session,
        req.jurisdiction,
        RequestKind(req.kind),
        req.received_on,
        today=today,
        extension=req.extension_notice_on,
        info_requested=req.info_requested_on,
        info_received=req.info_received_on,
    )


def _set_deadline(session: Session, req: RemovalRequest, today: dt.date) -> ResponseTerms:
    terms = _terms(session, req, today)
    req.respond_by = terms.respond_by
    req.deadline_basis = terms.basis.value if terms.basis else None
    return terms


def lock_request(session: Session, request_id: str) -> RemovalRequest:
    return locked(session, RemovalRequest, request_id, "request")


def move_state(
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
    outbox.state_changed(session, req, to.value, now=now)


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
    req = lock_request(session, request_id)
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
    request_counts.recount_candidates(session, request_ids=[req.id])
    sealing.append_with_reason(
        session,
        keyring,
        key=sealing.request_key(keyring, req),
        owner_type=sealing.REQUEST,
        owner_id=req.id,
        reason=why,
        now=now,
        actor=actor,
        action="request.searched",
        object_type="request",
        object_id=req.id,
        details={"by": used, "hits": len(found)},
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
    keyring: Keyring,
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
    req = lock_request(session, request_id)
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
        reason_sealed=sealing.seal_for_record(
            session,
            keyring,
            record_id,
            sealing.row_field("request_matches", f"{req.id}/{record_id}", "reason"),
            why,
        ),
    )
    session.add(row)
    if req.state == RequestState.RECEIVED.value:
        move_state(
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
    keyring: Keyring,
    request_id: str,
    record_id: str,
    *,
    supervisor: Person,
    reason: str,
    now: dt.datetime,
) -> RequestMatch:
    """A supervisor who did not make the match confirms a pending one, with a reason."""
    req = lock_request(session, request_id)
    row = _match_row(session, req.id, record_id)
    if row is None or not row.pending:
        raise RequestError(f"record {record_id} has no match waiting for confirmation")
    require_second_person(supervisor, already=[row.matched_by], what="this match")
    row.confirmed_by = supervisor.username
    row.confirmed_at = now
    row.confirm_reason_sealed = sealing.seal_for_record(
        session,
        keyring,
        record_id,
        sealing.row_field("request_matches", f"{req.id}/{record_id}", "confirm_reason"),
        stated_reason(reason, "reason for confirming the match"),
    )
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
    session: Session,
    keyring: Keyring,
    request_id: str,
    record_id: str,
    *,
    actor: str,
    reason: str,
    now: dt.datetime,
) -> None:
    """Take a match back (a wrong match, or a pending one a supervisor will not confirm)."""
    why = stated_reason(reason, "reason for removing the match")
    req = lock_request(session, request_id)
    if RequestState(req.state) not in OPEN:
        raise RequestError(f"request {req.id} is {req.state}; its matches are settled")
    row = _match_row(session, req.id, record_id)
    if row is None:
        raise RequestError(f"record {record_id} is not matched to this request")
    session.delete(row)
    sealing.append_with_reason(
        session,
        keyring,
        key=sealing.request_key(keyring, req),
        owner_type=sealing.REQUEST,
        owner_id=req.id,
        reason=why,
        now=now,
        actor=actor,
        action="request.unmatched",
        object_type="request",
        object_id=req.id,
        details={"record_id": record_id},
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
    session: Session,
    keyring: Keyring,
    request_id: str,
    *,
    actor: str,
    message: str,
    now: dt.datetime,
    answer_by: dt.date | None = None,
) -> None:
    """Ask the requester for more information, to answer by ``answer_by`` (default
    ``ANSWER_WITHIN`` from today); the response clock waits for the answer where the law says
    it runs from the relevant time (DPA 2018 s.54(2))."""
    if not message.strip():
        raise RequestError("message: say what information is needed")
    if answer_by is not None and answer_by <= now.date():
        raise RequestError("answer_by: give the requester a date after today to answer by")
    req = lock_request(session, request_id)
    move_state(
        session,
        req,
        RequestState.NEEDS_INFO,
        actor=actor,
        now=now,
        allowed=(RequestState.RECEIVED, RequestState.UNDER_REVIEW),
    )
    req.info_requested_on = now.date()
    req.info_received_on = None
    req.answer_by = answer_by or now.date() + ANSWER_WITHIN
    req.decision_reasons_sealed = sealing.seal_for_request(
        keyring, req, sealing.request_field("decision_reasons"), message.strip()[:MAX_TEXT]
    )
    _set_deadline(session, req, now.date())


def answer(
    session: Session,
    keyring: Keyring,
    reference: str,
    *,
    text: str,
    now: dt.datetime,
    store: BlobStore | None = None,
    evidence: bytes | None = None,
) -> RemovalRequest:
    """The requester's answer to a request for information, with an optional file (PDF, JPEG
    or PNG), sealed with the claims; the request goes back under review."""
    if not text.strip() or len(text) > MAX_TEXT:
        raise RequestError(f"text: between 1 and {MAX_TEXT} characters")
    found = by_reference(session, reference)
    if found is None or found.state != RequestState.NEEDS_INFO.value:
        raise RequestError("this request is not waiting for information")
    req = lock_request(session, found.id)
    replies.add_to_claims(
        session, keyring, store, req, text=text, evidence=evidence, sent_with="answer", now=now
    )
    req.info_received_on = now.date()
    req.answer_by = None
    req.decision_reasons_sealed = None
    _set_deadline(session, req, now.date())
    move_state(
        session,
        req,
        RequestState.UNDER_REVIEW,
        actor="public",
        now=now,
        allowed=(RequestState.NEEDS_INFO,),
    )
    return req


def extension_refusal(terms: ResponseTerms, req: RemovalRequest) -> str | None:
    """Why this request's deadline cannot be extended now, in words a clerk can pass on; None
    when it can (the law that sets the deadline allows one extension, noticed in time)."""
    if req.extension_notice_on is not None:
        return (
            f"the deadline was already extended on {req.extension_notice_on.isoformat()}; "
            "the law allows one extension"
        )
    status, first = terms.extension, terms.respond_by
    when = first.isoformat() if first else "the first deadline"
    if status is ExtensionStatus.AVAILABLE:
        return None
    if terms.respond_by is None:
        return "this request has no running deadline to extend (the clock is stopped)"
    if terms.basis is DeadlineBasis.SERVICE_TARGET:
        return (
            f"no statute sets this request's deadline: {when} is our own service target, "
            "which is not extended"
        )
    if status is ExtensionStatus.NOT_IN_FORCE:
        return (
            f"the provision allowing an extension ({terms.rule}) was not in force when this "
            f"request was received; answer by {when}"
        )
    if status is ExtensionStatus.UNVERIFIED:
        return (
            f"the commencement of the provision allowing an extension ({terms.rule}) is not "
            f"confirmed (RULES.md §10.5), so it is not applied; answer by {when}"
        )
    if status is ExtensionStatus.LATE:
        return f"the first deadline ({when}) has passed; an extension must be noticed before it"
    return f"the law that sets this deadline ({terms.rule}) allows no extension"


def extend(
    session: Session,
    keyring: Keyring,
    request_id: str,
    *,
    actor: str,
    reason: str,
    now: dt.datetime,
) -> ResponseTerms:
    """Give notice of an extension, once, with a reason the requester sees — only where the
    law that sets the deadline allows one and before the first deadline (GDPR Art 12(3); DPA
    2018 s.54(3A)-(3B) once its commencement is confirmed). A refusal says why. The reason is
    staff's free text: sealed under the request's key like the decision reasons."""
    text = reason.strip()
    if not text or len(text) > MAX_TEXT:
        raise RequestError(
            f"reason: say why the deadline is extended (the requester sees it; at most "
            f"{MAX_TEXT} characters)"
        )
    req = lock_request(session, request_id)
    if RequestState(req.state) not in OPEN:
        raise RequestError(f"request {req.id} is {req.state}; nothing to extend")
    today = now.date()
    why_not = extension_refusal(_terms(session, req, today), req)
    if why_not is not None:
        raise RequestError(f"no extension: {why_not}")
    req.extension_notice_on = today
    req.extension_reason_sealed = sealing.seal_for_request(
        keyring, req, sealing.request_field("extension_reason"), text
    )
    terms = _set_deadline(session, req, today)
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
    outbox.state_changed(session, req, "extended", now=now)
    return terms


def deny(
    session: Session,
    keyring: Keyring,
    request_id: str,
    *,
    actor: str,
    reasons: str,
    now: dt.datetime,
) -> None:
    """Refuse the request; the reasons are shown to the requester."""
    if not reasons.strip():
        raise RequestError("reasons: a refusal must give its reasons")
    req = lock_request(session, request_id)
    move_state(session, req, RequestState.DENIED, actor=actor, now=now, allowed=OPEN)
    req.decision_reasons_sealed = sealing.seal_for_request(
        keyring, req, sealing.request_field("decision_reasons"), reasons.strip()[:MAX_TEXT]
    )
    req.decided_by = actor
    req.decided_at = now


def assign(
    session: Session,
    request_id: str,
    *,
    assignee: str | None,
    actor: Person,
    now: dt.datetime,
) -> RemovalRequest:
    """Say who works on a request (None: nobody). A clerk takes a request for themself or gives
    back their own; a supervisor assigns anyone. The assignee must be an active clerk or
    supervisor. One audit entry naming the staff accounts (never the requester)."""
    req = lock_request(session, request_id)
    if assignee is not None:
        assignee = staff_assignee(session, assignee)
    if not actor.is_supervisor:
        # Unassigned work only: taking it from a colleague is a supervisor's call.
        taking = (
            assignee is not None
            and same_person(actor.username, assignee)
            and req.assigned_to is None
        )
        giving_back = assignee is None and same_person(actor.username, req.assigned_to)
        if not (taking or giving_back):
            raise RequestError(
                "assignee: only a supervisor assigns a request to someone else or takes it "
                "from another clerk"
            )
    before = req.assigned_to
    req.assigned_to = assignee
    req.assigned_at = now if assignee is not None else None
    req.updated_at = now
    audit.append(
        session,
        now=now,
        actor=actor.username,
        action="request.assigned",
        object_type="request",
        object_id=req.id,
        details={"to": assignee, "from": before},
    )
    return req


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
