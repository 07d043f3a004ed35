"""The sweep: purge, restrict or queue for review every record whose next action is due.

Layer: ``retention.jobs``.

Cost follows what is due, not the table: records are selected through the
``(next_action_due, status)`` index in keyset order, a batch at a time, each batch in its own
transaction with its rows locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so parallel sweeps
split the work; SQLite serialises writers). Every record is re-evaluated inside the transaction
— a hold placed a second ago wins — and only then acted on. A purge's blobs are deleted after
its batch commits. Re-running is a no-op; two sweeps never act twice on one record; a crash at
any point leaves every record either untouched or fully purged.

Safety belt: before acting, a sweep that would purge more than the configured share of the
records stops, and needs a supervisor's confirmation (``confirmed_by``).

Stopping: a sweep sends a heartbeat (its counts so far) after each batch, and checks its
``stop`` event between batches — never inside one — so a scheduler shutting down (SIGTERM) gets
a sweep that ends after the batch in hand. It is ``interrupted`` (with final counts) if due
records were left, ``ok`` if the batch in hand was the last.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from policies.vocabulary import Action
from retention.audit import chain as audit
from retention.db.models import JobRunStatus, Record, RecordStatus
from retention.engine import decisions
from retention.engine.authority import Limits, purge_limit
from retention.engine.purge import delete_blobs, held_ids, purge_records
from retention.errors import RetentionError, SafetyBeltError
from retention.jobs import runs
from retention.requests import approval
from retention.services import Services

Clock = Callable[[], dt.datetime]
# Test hook: called with a point name ("before_commit", "after_commit", "between_batches") and
# the batch number. Production passes None; crash tests pass a function that kills the process.
Hook = Callable[[str, int], None]

ACTING = (Action.PURGE.value, Action.RESTRICT.value, Action.REVIEW.value)


@dataclass(frozen=True, slots=True)
class Planned:
    """One action the sweep takes (or, in a dry run, would take)."""

    record_id: str
    action: str
    rule: str
    due_on: dt.date

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (no personal data)."""
        return {
            "record_id": self.record_id,
            "action": self.action,
            "rule": self.rule,
            "due_on": self.due_on.isoformat(),
        }


@dataclass
class SweepReport:
    """What a sweep did or would do."""

    job_id: str
    on_date: dt.date
    dry_run: bool
    actions: list[Planned] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    blocked: bool = False
    interrupted: bool = False
    due_purges: int = 0
    purge_limit: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form for ``mugshot sweep --json``."""
        return {
            "job_id": self.job_id,
            "on": self.on_date.isoformat(),
            "dry_run": self.dry_run,
            "blocked": self.blocked,
            "interrupted": self.interrupted,
            "due_purges": self.due_purges,
            "purge_limit": self.purge_limit,
            "counts": self.counts,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "actions": [a.to_json() for a in self.actions],
        }


def _due(today: dt.date) -> Any:
    return (
        (Record.next_action_due <= today)
        & (Record.status != RecordStatus.PURGED.value)
        & Record.next_action.in_(ACTING)
    )


def due_purge_count(session: Session, today: dt.date) -> int:
    """How many records the stored schedule says are due for purge on ``today``."""
    return int(
        session.execute(
            select(func.count())
            .select_from(Record)
            .where(_due(today), Record.next_action == Action.PURGE.value)
        ).scalar_one()
    )


def run_sweep(
    services: Services,
    *,
    today: dt.date,
    clock: Clock,
    actor: str,
    dry_run: bool = False,
    confirmed_by: str | None = None,
    hook: Hook | None = None,
    stop: threading.Event | None = None,
) -> SweepReport:
    """Sweep every due record as of ``today``; see the module docstring.

    ``stop`` (set by a scheduler shutting down) ends the sweep after the batch in hand.
    """
    settings = services.settings
    started = time.perf_counter()
    job_id = runs.start(services, "sweep", actor=actor, now=clock(), on_date=today, dry_run=dry_run)
    report = SweepReport(job_id=job_id, on_date=today, dry_run=dry_run)
    report.counts = {"purged": 0, "restricted": 0, "review_queued": 0, "rescheduled": 0}
    status = JobRunStatus.OK
    try:
        with services.readers() as session:
            # The one safety belt of every purge path (retention.engine.authority).
            limit, _ = purge_limit(session, Limits.from_settings(settings))
            report.purge_limit = limit
            report.due_purges = due_purge_count(session, today)
        if report.due_purges > limit and confirmed_by is None:
            report.blocked = True
            status = JobRunStatus.BLOCKED
            report.errors.append(
                f"safety belt: {report.due_purges} purges due, more than the limit of {limit}; "
                "a supervisor must confirm (mugshot sweep --confirm-by NAME)"
            )
            if not dry_run:
                return report
        if dry_run:
            _plan(services, report, today, clock, stop)
        else:
            _act(services, report, today, clock, actor, confirmed_by, hook, stop)
            _resume_held_requests(services, report, clock, actor)
        if report.interrupted:
            status = JobRunStatus.INTERRUPTED
    except BaseException as exc:
        status = JobRunStatus.FAILED
        report.errors.append(f"{type(exc).__name__}: {exc}"[:500])
        raise
    finally:
        report.seconds = time.perf_counter() - started
        counts: dict[str, Any] = dict(report.counts)
        counts.update(
            seconds=round(report.seconds, 3),
            due_purges=report.due_purges,
            purge_limit=report.purge_limit,
        )
        runs.finish(
            services, job_id, status=status, now=clock(), counts=counts, errors=report.errors
        )
    return report


def _resume_held_requests(
    services: Services, report: SweepReport, clock: Clock, actor: str
) -> None:
    """Removal requests kept ``on_hold`` whose holds have all ended are carried out now (the
    requester was told "we will destroy it when the hold ends"), each in its own transaction;
    one that needs a second person waits for one (``confirming``)."""
    with services.readers() as session:
        ready = approval.held_requests_ready(session)
    if not ready:
        return
    resumed = 0
    for request_id in ready:
        try:
            with services.sessions() as session, session.begin():
                done = approval.resume_held(
                    session, services.keyring, request_id, actor=actor, now=clock()
                )
        except RetentionError as exc:
            report.errors.append(f"request {request_id}: {exc}"[:500])
            continue
        resumed += 1
        delete_blobs(services.store, [k for p in done.purged for k in p.blob_keys])
    report.counts["requests_resumed"] = resumed


def _batches(
    services: Services, today: dt.date, batch_size: int, *, lock: bool, read_only: bool
) -> Any:
    """Yield (session, records) per batch in keyset order of (due date, id)."""
    cursor: tuple[dt.date, str] | None = None
    factory = services.readers if read_only else services.sessions
    while True:
        session = factory()
        session.begin()
        stmt = select(Record).where(_due(today))
        if cursor is not None:
            stmt = stmt.where(tuple_(Record.next_action_due, Record.id) > cursor)
        stmt = stmt.order_by(Record.next_action_due, Record.id).limit(batch_size)
        if lock:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(session.execute(stmt).scalars())
        if not rows:
            session.rollback()
            session.close()
            return
        last = rows[-1]
        assert last.next_action_due is not None
        cursor = (last.next_action_due, last.id)
        yield session, rows


def _stopping(report: SweepReport, stop: threading.Event | None, session: Session) -> bool:
    """Checked with the next batch in hand, before touching it: due records are left, so a stop
    asked for now interrupts the sweep (and the batch is let go, row locks and all)."""
    if stop is None or not stop.is_set():
        return False
    report.interrupted = True
    session.rollback()
    session.close()
    return True


def _plan(
    services: Services,
    report: SweepReport,
    today: dt.date,
    clock: Clock,
    stop: threading.Event | None,
) -> None:
    with services.readers() as session:
        resolver = decisions.PackResolver(session)
    for session, rows in _batches(
        services, today, services.settings.sweep_batch_size, lock=False, read_only=True
    ):
        if _stopping(report, stop, session):
            return
        try:
            facts = decisions.facts_for_batch(session, rows)
            for record in rows:
                decision = decisions.evaluate_only(
                    session, record, today, resolver, facts[record.id]
                )
                sched = decisions.schedule_for(decision, status=record.status)
                if sched.due_on is None or sched.due_on > today or sched.action is None:
                    report.counts["rescheduled"] += 1
                    continue
                report.actions.append(Planned(record.id, sched.action, decision.rule, sched.due_on))
                report.counts[_counter(sched.action)] += 1
        finally:
            session.rollback()
            session.close()
        runs.heartbeat(services, report.job_id, now=clock(), counts=report.counts)


def _counter(action: str) -> str:
    return {"purge": "purged", "restrict": "restricted", "review": "review_queued"}[action]


def _act(
    services: Services,
    report: SweepReport,
    today: dt.date,
    clock: Clock,
    actor: str,
    confirmed_by: str | None,
    hook: Hook | None,
    stop: threading.Event | None,
) -> None:
    with services.readers() as session:
        resolver = decisions.PackResolver(session)
    done: set[str] = set()
    for batch_no, (session, rows) in enumerate(
        _batches(
            services,
            today,
            services.settings.sweep_batch_size,
            lock=not services.settings.is_sqlite,
            read_only=False,
        ),
        start=1,
    ):
        if _stopping(report, stop, session):
            break
        blob_keys: list[str] = []
        try:
            now = clock()
            facts = decisions.facts_for_batch(session, rows)
            batch = _Batch()
            for record in rows:
                if record.id in done:
                    continue
                done.add(record.id)
                _decide(session, report, batch, record, today, now, resolver, facts[record.id])
            # Belt and braces: the evaluator never purges a held record (facts carry the
            # holds), and purge_records refuses one anyway; a hold placed since is caught here.
            blocked = held_ids(session, [r.id for r, _ in batch.purges])
            for record_id in sorted(blocked):
                report.errors.append(f"record {record_id} is under a legal hold; not purged")
            to_purge = [(r, why) for r, why in batch.purges if r.id not in blocked]
            purged = purge_records(session, services.keyring, to_purge, now=now, actor=actor)
            report.counts["purged"] += len(purged)
            blob_keys = [k for p in purged for k in p.blob_keys]
            audit.append_many(session, batch.events, now=now, actor=actor)
            if hook is not None:
                hook("before_commit", batch_no)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        if hook is not None:
            hook("after_commit", batch_no)
        try:
            delete_blobs(services.store, blob_keys)
        except OSError as exc:
            # The keys are already destroyed: these blobs are noise. The janitor deletes them
            # once the store answers again; the sweep goes on destroying keys meanwhile.
            report.errors.append(
                f"blob store unavailable ({type(exc).__name__}): {len(blob_keys)} blobs of "
                "purged records left for the janitor"
            )
        # The batch is complete — committed, its blobs deleted — before anything may stop us.
        runs.heartbeat(services, report.job_id, now=clock(), counts=report.counts)
        if hook is not None:
            hook("between_batches", batch_no)
    if report.counts["purged"] or report.counts["restricted"] or report.counts["review_queued"]:
        audit.record(
            services.sessions,
            now=clock(),
            actor=actor,
            action="sweep.interrupted" if report.interrupted else "sweep.completed",
            object_type="job",
            object_id=report.job_id,
            details={
                **report.counts,
                "on": today.isoformat(),
                "confirmed_by": confirmed_by,
            },
        )


@dataclass
class _Batch:
    purges: list[tuple[Record, dict[str, Any]]] = field(default_factory=list)
    events: list[audit.Event] = field(default_factory=list)


def _decide(
    session: Session,
    report: SweepReport,
    batch: _Batch,
    record: Record,
    today: dt.date,
    now: dt.datetime,
    resolver: decisions.PackResolver,
    facts: decisions.RecordFacts,
) -> None:
    decision = decisions.reevaluate(session, record, today, resolver, facts)
    sched = decisions.schedule_for(decision, status=record.status)
    if sched.action not in ACTING or sched.due_on is None or sched.due_on > today:
        report.counts["rescheduled"] += 1
        return
    if record.next_action_due is None and sched.action == Action.REVIEW.value:
        report.counts["rescheduled"] += 1  # already queued for a person
        return
    report.actions.append(Planned(record.id, sched.action, decision.rule, sched.due_on))
    if sched.action == Action.PURGE.value:
        batch.purges.append(
            (
                record,
                {
                    "rule": decision.rule,
                    "pack": decision.pack,
                    "pack_version": decision.pack_version,
                    "citation": decision.citation,
                    "decided_on": today.isoformat(),
                },
            )
        )
        return
    if sched.action == Action.RESTRICT.value:
        record.status = RecordStatus.RESTRICTED.value
        # The rule that restricts it is ``decision_rule``; a restriction's own text
        # (``restriction_sealed``) is for reasons people give, which the sweep has none of.
        record.restriction_sealed = None
        record.updated_at = now
        decisions.apply_decision(record, decision, today)
        batch.events.append(
            audit.Event(
                action="record.restricted",
                object_type="record",
                object_id=record.id,
                rule=decision.rule,
                details={"purposes": sorted(p.value for p in decision.purposes)},
            )
        )
        report.counts["restricted"] += 1
        return
    record.review_queued_at = now
    record.next_action_due = None
    batch.events.append(
        audit.Event(
            action="record.review_queued",
            object_type="record",
            object_id=record.id,
            rule=decision.rule,
            details={},
        )
    )
    report.counts["review_queued"] += 1


def require_not_blocked(report: SweepReport) -> None:
    """Raise ``SafetyBeltError`` for a blocked report (CLI exit status)."""
    if report.blocked:
        raise SafetyBeltError(report.errors[0] if report.errors else "sweep blocked")
