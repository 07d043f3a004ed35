"""The disposition-review queue as a records office works it: filters, counts and selections.

Layer: ``retention.engine`` (read-only queries; imports the models and the vocabulary only).
A record is in the queue when its rule says review, the review is due and the sweep queued it.
The queue can be cut by jurisdiction, rule, age (days since the review fell due), assignee and
stage (waiting for a first decision, or for a supervisor's sign-off); the counts by
jurisdiction, rule and age come from one grouped query over ``ix_records_review_queue``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from policies.vocabulary import Action
from retention.db.models import ApprovalState, Record, SecondApproval

# Days since the review fell due: (value, label, first day, last day or None).
AGES: tuple[tuple[str, str, int, int | None], ...] = (
    ("0-7", "due this week", 0, 7),
    ("8-30", "8 to 30 days overdue", 8, 30),
    ("31-90", "31 to 90 days overdue", 31, 90),
    ("90+", "more than 90 days overdue", 91, None),
)
# A cut that overlaps the buckets above (never counted with them): what ``mugshot status`` and
# the dashboard call overdue, a review due more than a day ago.
OVERDUE_AGE = ("overdue", "due over a day ago", 2, None)
AGE_VALUES = tuple(a[0] for a in AGES)
FILTER_AGE_VALUES = (*AGE_VALUES, OVERDUE_AGE[0])
STAGES = (
    ("decide", "Waiting for a decision"),
    ("sign_off", "Waiting for a supervisor's sign-off"),
    ("all", "Both"),
)
# Assignee filter values besides a username.
UNASSIGNED = "none"
ANYONE = ""


@dataclass(frozen=True)
class ReviewFilter:
    """What the queue is cut to; empty strings mean "any"."""

    jurisdiction: str = ""
    rule: str = ""
    age: str = ""
    assignee: str = ANYONE
    stage: str = "decide"

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (the empty ones left out)."""
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class Counts:
    """The whole queue counted three ways (not cut by the filter), and what waits for sign-off."""

    total: int = 0
    by_jurisdiction: dict[str, int] = field(default_factory=dict)
    by_rule: dict[str, int] = field(default_factory=dict)
    by_age: dict[str, int] = field(default_factory=dict)
    sign_off: int = 0


def in_queue(today: dt.date) -> ColumnElement[bool]:
    """The queue's condition. A queued review fell due on or before the day it was queued, so
    the date bound costs nothing and keeps the scan inside the due part of the index."""
    return and_(
        Record.next_action == Action.REVIEW.value,
        Record.review_due_on <= today,
        Record.review_queued_at.is_not(None),
    )


def _waiting_sign_off() -> ColumnElement[bool]:
    return exists().where(
        SecondApproval.state == ApprovalState.PENDING.value,
        SecondApproval.subject_id == Record.id,
        SecondApproval.subject_type == "record",
    )


def _age_bounds(age: str, today: dt.date) -> ColumnElement[bool]:
    for value, _, first, last in (*AGES, OVERDUE_AGE):
        if value == age:
            newest = today - dt.timedelta(days=first)
            cond = Record.review_due_on <= newest if first else Record.review_due_on <= today
            if last is None:
                return cond
            return and_(cond, Record.review_due_on >= today - dt.timedelta(days=last))
    raise ValueError(f"age: {age!r} is not one of {', '.join(FILTER_AGE_VALUES)}")


def statement(flt: ReviewFilter, today: dt.date) -> Select[Any]:
    """The records the filter selects (unordered)."""
    stmt = select(Record).where(in_queue(today))
    return where(stmt, flt, today)


def id_statement(flt: ReviewFilter, today: dt.date) -> Select[Any]:
    """The ids the filter selects (unordered): a page is found in the index alone, then only
    its rows are read (``records_by_id``)."""
    return where(select(Record.id).where(in_queue(today)), flt, today)


def records_by_id(session: Session, ids: list[str]) -> list[Record]:
    """The records with these ids, in the order given."""
    found = {r.id: r for r in session.execute(select(Record).where(Record.id.in_(ids))).scalars()}
    return [found[i] for i in ids if i in found]


def where(stmt: Select[Any], flt: ReviewFilter, today: dt.date) -> Select[Any]:
    """``stmt`` cut by the filter."""
    if flt.jurisdiction:
        stmt = stmt.where(Record.jurisdiction == flt.jurisdiction)
    if flt.rule:
        stmt = stmt.where(Record.decision_rule == flt.rule)
    if flt.age:
        stmt = stmt.where(_age_bounds(flt.age, today))
    if flt.assignee == UNASSIGNED:
        stmt = stmt.where(Record.review_assignee.is_(None))
    elif flt.assignee:
        stmt = stmt.where(Record.review_assignee == flt.assignee)
    if flt.stage == "decide":
        stmt = stmt.where(~_waiting_sign_off())
    elif flt.stage == "sign_off":
        stmt = stmt.where(_waiting_sign_off())
    return stmt


def count(session: Session, flt: ReviewFilter, today: dt.date) -> int:
    """How many records the filter selects."""
    stmt = where(select(func.count()).select_from(Record).where(in_queue(today)), flt, today)
    return int(session.execute(stmt).scalar_one())


def matching_ids(session: Session, flt: ReviewFilter, today: dt.date, limit: int) -> list[str]:
    """The ids the filter selects, oldest due first, at most ``limit`` (+1, so a caller can
    tell that there are more)."""
    stmt = where(select(Record.id).where(in_queue(today)), flt, today)
    return list(
        session.execute(stmt.order_by(Record.review_due_on, Record.id).limit(limit + 1)).scalars()
    )


def counts(session: Session, today: dt.date) -> Counts:
    """The whole queue by jurisdiction, rule and age, from one grouped scan of the index."""
    bucket = case(
        *[
            (
                Record.review_due_on >= today - dt.timedelta(days=last),
                value,
            )
            for value, _, _, last in AGES
            if last is not None
        ],
        else_=AGES[-1][0],
    )
    rows = session.execute(
        select(Record.jurisdiction, Record.decision_rule, bucket, func.count())
        .where(in_queue(today))
        .group_by(Record.jurisdiction, Record.decision_rule, bucket)
    ).all()
    by_j: Counter[str] = Counter()
    by_r: Counter[str] = Counter()
    by_a: Counter[str] = Counter()
    for jurisdiction, rule, age, n in rows:
        by_j[jurisdiction] += n
        by_r[rule or "(no rule)"] += n
        by_a[age] += n
    sign_off = session.execute(
        select(func.count())
        .select_from(SecondApproval)
        .where(
            SecondApproval.state == ApprovalState.PENDING.value,
            SecondApproval.subject_type == "record",
            SecondApproval.action.like("review.%"),
        )
    ).scalar_one()
    return Counts(
        total=sum(by_j.values()),
        by_jurisdiction=dict(sorted(by_j.items())),
        by_rule=dict(sorted(by_r.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_age={a: by_a.get(a, 0) for a in AGE_VALUES},
        sign_off=int(sign_off),
    )


def waiting_approvals(session: Session, record_ids: list[str]) -> dict[str, SecondApproval]:
    """The pending review approvals of these records, by record id (for one page)."""
    if not record_ids:
        return {}
    rows = session.execute(
        select(SecondApproval).where(
            SecondApproval.state == ApprovalState.PENDING.value,
            SecondApproval.subject_type == "record",
            SecondApproval.subject_id.in_(record_ids),
        )
    ).scalars()
    return {a.subject_id: a for a in rows}
