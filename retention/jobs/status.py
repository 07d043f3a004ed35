"""Status: is the retention machinery running, and is any legal deadline slipping?

Layer: ``retention.jobs``. Read-only; imports neither Flask nor APScheduler, so ``mugshot status``,
a dashboard and a monitoring probe can call it cheaply. Counts and ids only — no personal data.
Marking a dead job run ``abandoned`` is a write (with an audit entry), so ``status`` only reports
runs that look dead; ``mugshot status`` marks them first (``runs.abandon_stale``) and passes
what it marked in.

A stopped purge job is a compliance failure: records the law says must be gone stay on disk and
stay searchable. So the report warns when the last successful sweep is missing or older than
twice the sweep interval, when no scheduler holds the lease, and when due work is overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies.vocabulary import Action
from retention.db.models import JobRun, JobRunStatus, Record, RecordStatus
from retention.jobs import lease, runs
from retention.notify import outbox
from retention.services import Services

# Work the sweep should have done and has not, after this long, is reported as overdue.
OVERDUE_AFTER = dt.timedelta(days=1)
ACTING = (Action.PURGE.value, Action.RESTRICT.value, Action.REVIEW.value)
STALE_FACTOR = 2  # a sweep older than this many intervals is a warning
# E-mails to requesters still unsent after this long are a warning (the mail server is down).
NOTIFY_LATE_AFTER = dt.timedelta(hours=1)
JOB_KINDS = ("sweep", "janitor", "audit-checkpoint", "overdue-check")


def _pending(today_or_before: Any) -> Any:
    return (
        today_or_before
        & (Record.status != RecordStatus.PURGED.value)
        & Record.next_action.in_(ACTING)
    )


def _by_action(session: Session, condition: Any) -> dict[str, int]:
    counts = dict.fromkeys(ACTING, 0)
    rows = session.execute(
        select(Record.next_action, func.count())
        .where(_pending(condition))
        .group_by(Record.next_action)
    ).all()
    for action, count in rows:
        counts[str(action)] = int(count)
    return counts


def reviews_and_actions_overdue(session: Session, today: dt.date) -> dict[str, int]:
    """Counts of work the sweep should already have done, and of the review queue.

    ``<action>_overdue``: records (not purged) whose purge, restriction or review fell due more
    than ``OVERDUE_AFTER`` ago and is still pending — the sweep has not run, or keeps failing on
    them. ``review_queue``: records waiting for a person's disposition review (queued by the
    sweep). ``review_queue_overdue``: those whose review fell due more than ``OVERDUE_AFTER``
    ago.
    """
    overdue = _by_action(session, Record.next_action_due < today - OVERDUE_AFTER)
    counts = {f"{action}_overdue": n for action, n in overdue.items()}
    queued = Record.review_queued_at.is_not(None) & (Record.status != RecordStatus.PURGED.value)
    counts["review_queue"] = int(
        session.execute(select(func.count()).select_from(Record).where(queued)).scalar_one()
    )
    counts["review_queue_overdue"] = int(
        session.execute(
            select(func.count())
            .select_from(Record)
            .where(queued, Record.review_due_on < today - OVERDUE_AFTER)
        ).scalar_one()
    )
    return counts


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _ago(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "in the future"
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


@dataclass(frozen=True)
class RunSummary:
    """One JobRun, as status shows it."""

    kind: str
    job_id: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict[str, Any]
    errors: list[str]
    heartbeat_at: dt.datetime | None = None

    @classmethod
    def of(cls, run: JobRun) -> RunSummary:
        """From a JobRun row."""
        return cls(
            kind=run.kind,
            job_id=run.id,
            status=run.status,
            started_at=run.started_at,
            finished_at=run.finished_at,
            counts=dict(run.counts or {}),
            errors=list(run.errors or []),
            heartbeat_at=run.heartbeat_at,
        )

    @property
    def last_seen(self) -> dt.datetime:
        """Its last sign of life: the last heartbeat, else the start."""
        return self.heartbeat_at or self.started_at

    @property
    def ended(self) -> dt.datetime:
        """When it finished (when it started, if it never finished)."""
        return self.finished_at or self.started_at

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "job_id": self.job_id,
            "status": self.status,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "heartbeat_at": _iso(self.heartbeat_at),
            "counts": self.counts,
            "errors": self.errors,
        }

    def counts_line(self) -> str:
        """Its counts as ``k=v`` pairs (no durations)."""
        shown = {k: v for k, v in self.counts.items() if k != "seconds"}
        return " ".join(f"{k}={shown[k]}" for k in sorted(shown)) or "none"


@dataclass(frozen=True)
class LeaseInfo:
    """The scheduler lease as stored, and whether it is live at ``now``."""

    holder: str | None
    expires_at: dt.datetime | None
    active: bool

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"holder": self.holder, "expires_at": _iso(self.expires_at), "active": self.active}


@dataclass
class StatusReport:
    """Everything ``mugshot status`` shows."""

    now: dt.datetime
    sweep_interval: dt.timedelta
    last_sweep: RunSummary | None
    latest_sweep: RunSummary | None
    last_success: dict[str, RunSummary | None]
    lease: LeaseInfo
    records_by_status: dict[str, int]
    due_now: dict[str, int]
    overdue: dict[str, int]
    review_queue: int
    review_queue_overdue: int
    sweep_warning: str | None = None
    warnings: list[str] = field(default_factory=list)
    # Runs this call's caller just marked abandoned, and runs still "running" that look dead.
    abandoned: list[RunSummary] = field(default_factory=list)
    silent: list[RunSummary] = field(default_factory=list)
    # The e-mail outbox to requesters (``retention.notify``): counts by state, oldest waiting.
    notifications: outbox.Backlog | None = None

    @property
    def healthy(self) -> bool:
        """No warnings (the CLI may exit non-zero otherwise, for monitoring)."""
        return not self.warnings

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form for ``mugshot status --json``."""
        return {
            "now": _iso(self.now),
            "healthy": self.healthy,
            "warnings": self.warnings,
            "sweep_interval_minutes": self.sweep_interval.total_seconds() / 60,
            "last_successful_sweep": self.last_sweep.to_json() if self.last_sweep else None,
            "latest_sweep": self.latest_sweep.to_json() if self.latest_sweep else None,
            "last_success": {
                kind: run.to_json() if run else None for kind, run in self.last_success.items()
            },
            "lease": self.lease.to_json(),
            "records_by_status": self.records_by_status,
            "due_now": self.due_now,
            "overdue": self.overdue,
            "review_queue": self.review_queue,
            "review_queue_overdue": self.review_queue_overdue,
            "abandoned_now": [run.to_json() for run in self.abandoned],
            "running_without_heartbeat": [run.to_json() for run in self.silent],
            "notifications": self.notifications.to_json() if self.notifications else None,
        }

    def _run_line(self, label: str, run: RunSummary | None) -> str:
        if run is None:
            return f"{label}: never"
        line = f"{label}: {_iso(run.ended)} ({run.status}, {_ago(self.now - run.ended)})"
        shown = {k: v for k, v in run.counts.items() if k not in ("seconds",)}
        if shown:
            line += " " + " ".join(f"{k}={shown[k]}" for k in sorted(shown))
        return line

    def lines(self) -> list[str]:
        """A plain-text rendering, warnings first."""
        out = [f"WARNING: {w}" for w in self.warnings]
        out.append(self._run_line("last successful sweep", self.last_sweep))
        latest = self.latest_sweep
        if latest is not None and (
            self.last_sweep is None or latest.job_id != self.last_sweep.job_id
        ):
            out.append(self._run_line("latest sweep", latest))
        for kind, label in (
            ("janitor", "last janitor run"),
            ("audit-checkpoint", "last audit checkpoint"),
            ("overdue-check", "last overdue check"),
        ):
            out.append(self._run_line(label, self.last_success.get(kind)))
        info = self.lease
        if info.holder is None:
            out.append("scheduler lease: free (no scheduler running)")
        elif info.active:
            out.append(f"scheduler lease: held by {info.holder} until {_iso(info.expires_at)}")
        else:
            out.append(f"scheduler lease: expired at {_iso(info.expires_at)} (was {info.holder})")

        def counts(values: dict[str, int]) -> str:
            return " ".join(f"{k}={values[k]}" for k in sorted(values)) or "none"

        out.append(f"records: {counts(self.records_by_status)}")
        out.append(f"due now: {counts(self.due_now)}")
        out.append(f"overdue by more than a day: {counts(self.overdue)}")
        out.append(
            f"review queue: {self.review_queue} ({self.review_queue_overdue} due over a day ago)"
        )
        if self.notifications is not None:
            line = f"e-mails to requesters: {counts(self.notifications.by_state)}"
            if self.notifications.oldest_waiting is not None:
                line += f" (oldest waiting since {_iso(self.notifications.oldest_waiting)})"
            out.append(line)
        return out


def _latest_sweep(services: Services) -> JobRun | None:
    with services.readers() as session:
        return session.execute(
            select(JobRun)
            .where(JobRun.kind == "sweep", JobRun.dry_run.is_(False))
            .order_by(JobRun.started_at.desc())
            .limit(1)
        ).scalar_one_or_none()


def _silent_runs(services: Services, now: dt.datetime) -> list[RunSummary]:
    cutoff = now - runs.stale_after(services.settings)
    with services.readers() as session:
        rows = session.execute(
            select(JobRun)
            .where(
                JobRun.status == JobRunStatus.RUNNING.value,
                func.coalesce(JobRun.heartbeat_at, JobRun.started_at) < cutoff,
            )
            .order_by(JobRun.started_at)
        ).scalars()
        return [RunSummary.of(run) for run in rows]


def status(
    services: Services, now: dt.datetime, *, abandoned: Sequence[JobRun] = ()
) -> StatusReport:
    """The retention machinery's state at ``now`` (see the module docstring).

    ``abandoned``: runs the caller has just marked abandoned (``runs.abandon_stale``), to report.
    """
    interval = dt.timedelta(minutes=services.settings.sweep_interval_minutes)
    today = now.astimezone(dt.UTC).date()
    last_success: dict[str, RunSummary | None] = {}
    for kind in JOB_KINDS:
        run = runs.last_success(services, kind)
        last_success[kind] = RunSummary.of(run) if run else None
    latest = _latest_sweep(services)
    held = lease.current(services)
    active = held.holder is not None and held.expires_at is not None and held.expires_at > now
    with services.readers() as session:
        by_status = dict.fromkeys((s.value for s in RecordStatus), 0)
        for value, count in session.execute(
            select(Record.status, func.count()).group_by(Record.status)
        ).all():
            by_status[str(value)] = int(count)
        due_now = _by_action(session, Record.next_action_due <= today)
        queue = reviews_and_actions_overdue(session, today)
        notifications = outbox.backlog(session)
    report = StatusReport(
        now=now,
        sweep_interval=interval,
        last_sweep=last_success["sweep"],
        latest_sweep=RunSummary.of(latest) if latest else None,
        last_success=last_success,
        lease=LeaseInfo(held.holder, held.expires_at, active),
        records_by_status=by_status,
        due_now=due_now,
        overdue={action: queue[f"{action}_overdue"] for action in ACTING},
        review_queue=queue["review_queue"],
        review_queue_overdue=queue["review_queue_overdue"],
        abandoned=[RunSummary.of(run) for run in abandoned],
        silent=_silent_runs(services, now),
        notifications=notifications,
    )
    for gone in report.abandoned:
        report.warnings.append(
            f"{gone.kind} run {gone.job_id} was abandoned: its process stopped without "
            f"finishing (last heartbeat {_iso(gone.ended)}); marked now, counts so far: "
            f"{gone.counts_line()}"
        )
    for quiet in report.silent:
        report.warnings.append(
            f"{quiet.kind} run {quiet.job_id} is still marked running but has sent no heartbeat "
            f"since {_iso(quiet.last_seen)}: its process is probably gone (`mugshot status` "
            "marks it abandoned)"
        )
    report.sweep_warning = _sweep_warning(report)
    if report.sweep_warning:
        report.warnings.append(report.sweep_warning)
    if not active:
        report.warnings.append(
            "no scheduler process holds the lease: scheduled sweeps are not running "
            "(start `mugshot scheduler`)"
        )
    oldest = notifications.oldest_waiting
    if oldest is not None and now - oldest > NOTIFY_LATE_AFTER:
        waiting = sum(notifications.by_state[s] for s in outbox.WAITING)
        report.warnings.append(
            f"{waiting} e-mails to requesters are waiting, the oldest since {_iso(oldest)}: "
            "is the mail server (MUGSHOT_SMTP_URL) reachable, and is the scheduler running?"
        )
    late = sum(report.overdue.values())
    if late:
        report.warnings.append(
            f"{late} due actions are more than a day overdue "
            f"({', '.join(f'{k}={v}' for k, v in sorted(report.overdue.items()) if v)})"
        )
    return report


def _sweep_warning(report: StatusReport) -> str | None:
    limit = STALE_FACTOR * report.sweep_interval
    minutes = int(report.sweep_interval.total_seconds() // 60)
    last = report.last_sweep
    if last is None:
        return "no sweep has ever succeeded: a stopped purge job is a compliance failure"
    age = report.now - last.ended
    if age > limit:
        return (
            f"the last successful sweep finished {_ago(age)}, more than twice the "
            f"{minutes}-minute sweep interval: a stopped purge job is a compliance failure"
        )
    return None
