"""The demo's past: a records office that has been working its review queue for months.

Layer: ``retention.ingest`` (beside ``retention.ingest.demo``, which draws the data set; this
module decides on it through ``retention.engine.reviews`` and must not import ``web``).

After the demo set is imported, every review that fell due before today is decided by one of
a few fictional colleagues on a past working day — mostly kept until the next review, some
restricted, a few purged (a clerk's decision, confirmed by a supervisor the next day, exactly as
the two-person rule requires today) — except the most recently due ones: a backlog of a size
one person clears in a morning (``backlog``, default 36). Decisions go through the same engine
calls as the staff pages, so the history has its review decisions, second approvals, deletion
certificates and audit entries; the audit entries carry the past dates and the ``demo-``
colleagues' names, written in date order after the import's entries. Deterministic per seed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies.vocabulary import Action
from retention.db.models import Record, RecordStatus
from retention.engine.authority import Person
from retention.engine.reviews import (
    ReviewOutcome,
    confirm_review,
    decide_review,
    waiting_review,
)
from retention.errors import RetentionError
from retention.keys.keyring import Keyring

DEFAULT_BACKLOG = 36
# How far back the office's history reaches.
HISTORY_DAYS = 180
CLERKS = ("demo-clerk-ann", "demo-clerk-raj", "demo-clerk-mei")
SUPERVISORS = ("demo-supervisor-lee", "demo-supervisor-oti")
# (outcome, weight, reasons a colleague wrote).
OUTCOMES: tuple[tuple[ReviewOutcome, int, tuple[str, ...]], ...] = (
    (
        ReviewOutcome.KEEP,
        70,
        (
            "Still needed for the open investigation; next review by the rule",
            "Reviewed against MoPI: retention still justified for now",
            "Checked with the case officer; keep until the next review",
        ),
    ),
    (
        ReviewOutcome.RESTRICT,
        20,
        (
            "No longer needed day to day; restricted to the listed purposes",
            "Case closed; restrict access while the appeal window runs",
        ),
    ),
    (
        ReviewOutcome.PURGE,
        10,
        (
            "No policing purpose left after review; destroy the images",
            "Acquitted and no other use identified; purge with certificate",
        ),
    ),
)


@dataclass
class History:
    """What the demo's past holds: decisions by outcome, and the backlog left for today."""

    decided: dict[str, int] = field(default_factory=dict)
    backlog: int = 0
    # Decisions whose supervisor's sign-off day has not come yet: today's sign-off queue.
    waiting: int = 0
    refused: int = 0
    blob_keys: list[str] = field(default_factory=list)


def _working_day(rng: random.Random, first: dt.date, last: dt.date) -> dt.datetime:
    """A weekday between ``first`` and ``last``, during office hours (UTC)."""
    span = max((last - first).days, 0)
    day = first + dt.timedelta(days=rng.randint(0, span))
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    day = max(day, first)
    return dt.datetime(
        day.year, day.month, day.day, rng.randint(8, 15), rng.randint(0, 59), tzinfo=dt.UTC
    )


def write_history(
    session: Session,
    keyring: Keyring,
    *,
    today: dt.date,
    seed: int = 1,
    backlog: int = DEFAULT_BACKLOG,
) -> History:
    """Decide every review due before ``today`` but the ``backlog`` most recently due, on past
    working days, in the caller's transaction (the caller commits, then deletes
    ``History.blob_keys``: the purged records' blobs, already noise)."""
    if backlog < 0:
        raise ValueError("backlog: a number of records, 0 or more")
    due = list(
        session.execute(
            select(Record)
            .where(
                Record.next_action == Action.REVIEW.value,
                Record.review_due_on < today,
                Record.status != RecordStatus.PURGED.value,
            )
            .order_by(Record.review_due_on, Record.id)
        ).scalars()
    )
    keep_for_today = due[len(due) - backlog :] if backlog else []
    to_decide = due[: len(due) - len(keep_for_today)]
    rng = random.Random(f"demo-history-{seed}")
    # The last decision two days ago, so that its sign-off the next working day is past too.
    yesterday = today - dt.timedelta(days=2)
    plan = []
    for record in to_decide:
        assert record.review_due_on is not None
        first = max(record.review_due_on, today - dt.timedelta(days=HISTORY_DAYS))
        when = _working_day(rng, min(first, yesterday), yesterday)
        outcome, _, reasons = rng.choices(OUTCOMES, weights=[w for _, w, _ in OUTCOMES])[0]
        plan.append((when, record.id, outcome, rng.choice(reasons), rng.choice(CLERKS)))
    history = History(backlog=len(keep_for_today))
    # Every decision, and a supervisor's look at it the next working day, in date order.
    events = [(when, 0, rid, outcome, reason, clerk) for when, rid, outcome, reason, clerk in plan]
    events += [
        (when + dt.timedelta(days=3 if when.weekday() == 4 else 1), 1, rid, outcome, reason, clerk)
        for when, rid, outcome, reason, clerk in plan
    ]
    failed: set[str] = set()
    for when, step, record_id, outcome, reason, clerk in sorted(events):
        if record_id in failed or when.date() >= today:
            continue
        try:
            with session.begin_nested():
                if step == 0:
                    result = decide_review(
                        session,
                        keyring,
                        record_id,
                        outcome=outcome,
                        reason=reason,
                        actor=clerk,
                        now=when,
                    )
                    if result.waiting is not None:
                        history.waiting += 1
                        continue  # the supervisor's turn comes the next working day
                elif waiting_review(session, record_id) is not None:
                    history.waiting -= 1
                    result = confirm_review(
                        session,
                        keyring,
                        record_id,
                        supervisor=Person(
                            SUPERVISORS[len(reason) % len(SUPERVISORS)], "supervisor"
                        ),
                        reason="Checked the decision against the record and the rule",
                        now=when,
                    )
                else:
                    continue
        except RetentionError:
            # A record a hold or a changed rule keeps out of this outcome: left for a person.
            failed.add(record_id)
            history.refused += 1
            continue
        history.decided[outcome.value] = history.decided.get(outcome.value, 0) + 1
        if result.purged is not None:
            history.blob_keys.extend(result.purged.blob_keys)
    return history
