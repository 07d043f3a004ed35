"""What the removal-request pages show: queue filters and sorts, deadline badges, candidate records
and what a read POST decrypted.

Layer: ``web.staff`` (the request pages' view model, apart from their routes in
``web.staff.requests``). Reads through ``retention.requests`` and ``retention.engine``; renders
nothing and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.db.models import Record, RecordStatus, RemovalRequest, RequestMatch, RequestState
from retention.engine import decisions
from retention.errors import RetentionError
from retention.requests import filing, queue, workflow
from web.staff.photos import THUMBNAIL_PURPOSE, ReasonField, ShownPhoto

OPEN_STATES = tuple(s.value for s in workflow.OPEN)
STATE_FILTERS = [
    ("open", "Open (received, under review, needs information, waiting for confirmation)"),
    *[(s.value, s.value.replace("_", " ").capitalize()) for s in RequestState],
    ("all", "All"),
]
# The queue's column filters: (query argument, label, [(value, label)]).
COLUMN_FILTERS = [
    ("deadline", "Deadline", [("overdue", "Overdue"), ("due_soon", "Due this week")]),
    (
        "candidates",
        "Candidates found",
        [("none", "None"), ("some", "One or more"), ("several", "More than one")],
    ),
    (
        "matched",
        "Matched",
        [("none", "Nothing matched"), ("some", "Something matched"), ("pending", "Match waiting")],
    ),
    ("evidence", "Evidence", [("yes", "Attached"), ("no", "None")]),
    ("others", "Other requests, same identity", [("yes", "Yes"), ("no", "No")]),
    ("assigned", "Assigned to", [("me", "Me"), ("none", "Nobody")]),
]
SORTS = [
    ("respond_by", "Response deadline"),
    ("received", "Date received"),
    ("state", "State"),
    ("candidates", "Candidates found"),
    ("matched", "Matched"),
    ("evidence", "Evidence attached"),
    ("others", "Other requests, same identity"),
    ("assigned", "Assigned to"),
]
GROUND_TEXT = {
    "not_charged": "not charged",
    "dismissed": "dismissed",
    "acquitted": "acquitted",
    "conviction_quashed": "conviction quashed",
    "factually_innocent": "factually innocent",
    "sealed": "sealed",
    "under_18": "under 18 at the time",
    "consent_withdrawn": "consent withdrawn",
    "other": "other",
}
deadline_badge = queue.deadline_badge


@dataclass(frozen=True)
class Candidate:
    """A record that may be the requester's, as the detail page shows it."""

    record: Record
    matched: bool
    decision: dict[str, Any] | None
    decision_error: str | None
    can_show_photo: bool
    match: RequestMatch | None = None
    found_by_search: bool = False


def candidates(db: Session, req: RemovalRequest, today: dt.date) -> list[Candidate]:
    found = filing.candidates(db, req)
    searched = workflow.search_hits(db, req)
    confirmed = filing.matched(db, req)
    matches = {
        m.record_id: m
        for m in db.execute(select(RequestMatch).where(RequestMatch.request_id == req.id)).scalars()
    }
    confirmed_ids = {r.id for r in confirmed}
    seen: set[str] = set()
    shown = []
    for r in [*found, *searched, *confirmed]:
        if r.id not in seen:
            seen.add(r.id)
            shown.append(r)
    by_search = {r.id for r in searched} - {r.id for r in found}
    # One pack resolver and one batch of facts for all candidates (not three queries each).
    resolver = decisions.PackResolver(db)
    facts = decisions.facts_for_batch(
        db, [r for r in shown if r.status != RecordStatus.PURGED.value]
    )
    result = []
    for record in shown:
        decision = error = None
        if record.status != RecordStatus.PURGED.value:
            try:
                decision = decisions.evaluate_only(
                    db, record, today, resolver, facts[record.id]
                ).to_json()
            except RetentionError as exc:
                error = str(exc)
        result.append(
            Candidate(
                record=record,
                matched=record.id in confirmed_ids,
                decision=decision,
                decision_error=error,
                can_show_photo=shows_photo(record),
                match=matches.get(record.id),
                found_by_search=record.id in by_search,
            )
        )
    return result


def same_identity(db: Session, req: RemovalRequest) -> list[RemovalRequest]:
    """Other requests carrying this request's name-and-date-of-birth blind index, oldest first
    (the page shows their ids, states and dates: never a name)."""
    if req.name_dob_bidx is None:
        return []
    return list(
        db.execute(
            select(RemovalRequest)
            .where(RemovalRequest.name_dob_bidx == req.name_dob_bidx, RemovalRequest.id != req.id)
            .order_by(RemovalRequest.received_on, RemovalRequest.id)
        ).scalars()
    )


def shows_photo(record: Record) -> bool:
    """Whether staff may see the record's photo: active, or restricted for a rule that still
    permits identification."""
    return record.status == RecordStatus.ACTIVE.value or (
        record.status == RecordStatus.RESTRICTED.value
        and THUMBNAIL_PURPOSE in (record.permitted_purposes or [])
    )


@dataclass(frozen=True)
class Shown:
    """What one POST decrypted for the detail page (each read audited with ``reason``), or the
    reason field it refused (``fields``: form name -> what was typed and the error)."""

    reason: str = ""
    claims: dict[str, Any] | None = None
    claims_error: str | None = None
    # None: no photo was asked for; else record id -> its photo, and notes for the others.
    photos: dict[str, ShownPhoto] | None = None
    photo_notes: dict[str, str] = field(default_factory=dict)
    fields: dict[str, ReasonField] = field(default_factory=dict)
