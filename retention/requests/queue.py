"""The removal-request queue as a clerk triages it: what each row says, filters and sorts.

Layer: ``retention.requests`` (read-only queries; decrypts nothing). For each request the queue
shows its deadline, state, how many live records its blind indexes (or a search from its page)
found, how many are matched (and how many of those wait for a supervisor), whether evidence is
attached, how many *other* requests carry the same name-and-date-of-birth blind index (never the
name), and who is working on it. Every one of those can filter and sort the queue.

Candidates found and requests by the same identity are stored on the request and kept exact
by whoever changes them (``retention.db.request_counts``): counting them per request, against a
million records, for every request a filter keeps costs seconds. Matches are counted once over
the matches table and joined. ``tests/bench/bench_queues.py`` measures the pages at scale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from retention.db.models import RemovalRequest, RequestMatch, RequestState

# Any SELECT the filters are added to (a page of rows with their counts, or ids to count).
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])

DUE_SOON_DAYS = 7
# Counting stops here: "more than 10,000" is as useful to a clerk as the exact number.
COUNT_CAP = 10_000
OPEN = (RequestState.RECEIVED.value, RequestState.UNDER_REVIEW.value, RequestState.NEEDS_INFO.value)
QUEUE_OPEN = (*OPEN, RequestState.CONFIRMING.value)
# The states whose response clock is running (a request waiting for the requester is paused).
CLOCK_RUNNING = (
    RequestState.RECEIVED.value,
    RequestState.UNDER_REVIEW.value,
    RequestState.CONFIRMING.value,
)

# Filter values, per column ("" is any).
DEADLINES = ("overdue", "due_soon")
CANDIDATE_FILTERS = ("none", "some", "several")
MATCH_FILTERS = ("none", "some", "pending")
YES_NO = ("yes", "no")
UNASSIGNED = "none"
# Sort keys; each has its useful direction first (deadlines soonest, counts largest).
SORTS = (
    "respond_by",
    "received",
    "state",
    "candidates",
    "matched",
    "evidence",
    "others",
    "assigned",
)


@dataclass(frozen=True)
class QueueFilter:
    """How the queue is cut and sorted; empty strings mean "any"."""

    state: str = "open"
    deadline: str = ""
    candidates: str = ""
    matched: str = ""
    evidence: str = ""
    others: str = ""
    assigned: str = ""
    sort: str = "respond_by"
    reverse: bool = False

    def problems(self) -> list[str]:
        """What is wrong with the filter (field: allowed values), empty when it is usable."""
        states = {"open", "all", *(s.value for s in RequestState)}
        checks = [
            ("state", self.state, states),
            ("deadline", self.deadline, {"", *DEADLINES}),
            ("candidates", self.candidates, {"", *CANDIDATE_FILTERS}),
            ("matched", self.matched, {"", *MATCH_FILTERS}),
            ("evidence", self.evidence, {"", *YES_NO}),
            ("others", self.others, {"", *YES_NO}),
            ("sort", self.sort, set(SORTS)),
        ]
        return [
            f"{name}: {value!r} is not one of {', '.join(sorted(v for v in allowed if v))}"
            for name, value, allowed in checks
            if value not in allowed
        ]


@dataclass(frozen=True)
class Row:
    """One queue row: the request and what triage needs to know about it."""

    request: RemovalRequest
    matched: int
    pending: int

    @property
    def candidates(self) -> int:
        return self.request.candidates_found

    @property
    def others(self) -> int:
        return self.request.same_identity_requests

    @property
    def evidence(self) -> bool:
        return self.request.evidence_blob is not None


def deadline_badge(req: RemovalRequest, today: dt.date) -> str | None:
    """``overdue`` or ``due-soon`` (within a week) for a request whose clock is running."""
    if req.state not in CLOCK_RUNNING or req.respond_by is None:
        return None
    if req.respond_by < today:
        return "overdue"
    if req.respond_by <= today + dt.timedelta(days=DUE_SOON_DAYS):
        return "due-soon"
    return None


# Matches per request, counted once over the (small) matches table and joined: cheaper than a
# probe per request when the queue is sorted or filtered by them.
def _match_counts() -> Any:
    pending = and_(RequestMatch.needs_confirmation.is_(True), RequestMatch.confirmed_by.is_(None))
    return (
        select(
            RequestMatch.request_id.label("request_id"),
            func.count().label("matched"),
            func.sum(case((pending, 1), else_=0)).label("pending"),
        )
        .group_by(RequestMatch.request_id)
        .subquery("match_counts")
    )


def _filtered(stmt: Q, flt: QueueFilter, today: dt.date, me: str, matches: Any) -> Q:
    if flt.state == "open":
        stmt = stmt.where(RemovalRequest.state.in_(QUEUE_OPEN))
    elif flt.state != "all":
        stmt = stmt.where(RemovalRequest.state == flt.state)
    if flt.deadline:
        running = and_(
            RemovalRequest.state.in_(CLOCK_RUNNING), RemovalRequest.respond_by.is_not(None)
        )
        if flt.deadline == "overdue":
            stmt = stmt.where(running, RemovalRequest.respond_by < today)
        else:
            stmt = stmt.where(
                running,
                RemovalRequest.respond_by >= today,
                RemovalRequest.respond_by <= today + dt.timedelta(days=DUE_SOON_DAYS),
            )
    if flt.candidates:
        n = RemovalRequest.candidates_found
        stmt = stmt.where({"none": n == 0, "some": n > 0, "several": n > 1}[flt.candidates])
    if flt.matched == "none":
        stmt = stmt.where(matches.c.matched.is_(None))
    elif flt.matched == "some":
        stmt = stmt.where(matches.c.matched > 0)
    elif flt.matched == "pending":
        stmt = stmt.where(matches.c.pending > 0)
    if flt.evidence:
        has = RemovalRequest.evidence_blob.is_not(None)
        stmt = stmt.where(has if flt.evidence == "yes" else ~has)
    if flt.others:
        n = RemovalRequest.same_identity_requests
        stmt = stmt.where(n > 0 if flt.others == "yes" else n == 0)
    if flt.assigned == UNASSIGNED:
        stmt = stmt.where(RemovalRequest.assigned_to.is_(None))
    elif flt.assigned == "me":
        stmt = stmt.where(RemovalRequest.assigned_to == me)
    elif flt.assigned:
        stmt = stmt.where(RemovalRequest.assigned_to == flt.assigned)
    return stmt


def _order(flt: QueueFilter, matches: Any) -> list[Any]:
    """ORDER BY for the sort: (expression, largest first?) pairs, flipped by ``reverse``."""
    far = dt.date(9999, 12, 31)
    keys: dict[str, list[tuple[Any, bool]]] = {
        "respond_by": [(func.coalesce(RemovalRequest.respond_by, far), False)],
        "received": [(RemovalRequest.received_on, False)],
        "state": [
            (RemovalRequest.state, False),
            (func.coalesce(RemovalRequest.respond_by, far), False),
        ],
        "candidates": [(RemovalRequest.candidates_found, True)],
        "matched": [(func.coalesce(matches.c.matched, 0), True)],
        "evidence": [(RemovalRequest.evidence_blob.is_(None), False)],
        "others": [(RemovalRequest.same_identity_requests, True)],
        "assigned": [
            (RemovalRequest.assigned_to.is_(None), False),
            (RemovalRequest.assigned_to, False),
        ],
    }
    order = [
        expr.desc() if descending != flt.reverse else expr.asc()
        for expr, descending in [*keys[flt.sort], (RemovalRequest.id, False)]
    ]
    return order


def page(
    session: Session, flt: QueueFilter, today: dt.date, *, me: str, offset: int, size: int
) -> tuple[list[Row], bool]:
    """One page of rows (and whether another follows).

    The page's ids first — a narrow sort, joined to the match counts only when the sort or a
    filter is about matches — then the 25 requests and their match counts."""
    matches = _match_counts()
    ids_stmt = select(RemovalRequest.id)
    if flt.sort == "matched" or flt.matched:
        ids_stmt = ids_stmt.outerjoin(matches, matches.c.request_id == RemovalRequest.id)
    ids_stmt = _filtered(ids_stmt, flt, today, me, matches).order_by(*_order(flt, matches))
    ids = list(session.execute(ids_stmt.offset(offset).limit(size + 1)).scalars())
    shown = ids[:size]
    if not shown:
        return [], False
    requests = {
        r.id: r
        for r in session.execute(
            select(RemovalRequest).where(RemovalRequest.id.in_(shown))
        ).scalars()
    }
    pending = and_(RequestMatch.needs_confirmation.is_(True), RequestMatch.confirmed_by.is_(None))
    counted = {
        rid: (int(n), int(p or 0))
        for rid, n, p in session.execute(
            select(
                RequestMatch.request_id,
                func.count(),
                func.sum(case((pending, 1), else_=0)),
            )
            .where(RequestMatch.request_id.in_(shown))
            .group_by(RequestMatch.request_id)
        ).all()
    }
    rows = [Row(requests[i], *counted.get(i, (0, 0))) for i in shown]
    return rows, len(ids) > size


def count(session: Session, flt: QueueFilter, today: dt.date, *, me: str) -> tuple[int, bool]:
    """How many requests the filter keeps, counted up to ``COUNT_CAP`` (True when capped)."""
    matches = _match_counts()
    ids = select(RemovalRequest.id)
    if flt.matched:
        ids = ids.outerjoin(matches, matches.c.request_id == RemovalRequest.id)
    inner = _filtered(ids, flt, today, me, matches).limit(COUNT_CAP + 1).subquery()
    n = int(session.execute(select(func.count()).select_from(inner)).scalar_one())
    return min(n, COUNT_CAP), n > COUNT_CAP
