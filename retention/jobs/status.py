"""Status: is the retention machinery running, and is any legal deadline slipping?

Layer: ``retention.jobs``. Read-only; imports neither Flask nor APScheduler, so ``mugshot status``,
a dashboard and a monitoring probe can call it cheaply. Counts and ids only — no personal data.
Marking a dead job run ``abandoned`` is a write (with an audit entry), so ``status`` only reports
runs that look dead; ``mugshot status`` marks them first (``runs.abandon_stale``) and passes
what it marked in.

A stopped purge job is a compliance failure: records the law says must be gone stay on disk and
stay searchable. So the report warns when the last successful sweep is missing or older than
twice the sweep interval, when no scheduler holds the lease, when due work is overdue, and when
more disposition reviews or removal requests are overdue than the settings allow
(``status_max_overdue_reviews``, ``status_max_overdue_requests``; 0 by default): a backlog of
late reviews is a legal deadline slipping just as surely as a stopped sweep.

Every figure is an aggregate query (``COUNT ... GROUP BY``); the same report feeds ``mugshot
status``, the staff dashboard and the Prometheus metrics (``web.metrics``), so they cannot
disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies.vocabulary import Action
from retention.db.models import (
    ApprovalState,
    HoldState,
    JobRun,
    JobRunStatus,
    LegalHold,
    Record,
    RecordStatus,
    RemovalRequest,
    RequestState,
    ReviewDecision,
    SecondApproval,
)
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
# Requests whose response clock runs: not yet answered, not paused waiting for the requester
# (an approval waiting for its second person has not answered the requester yet).
CLOCK_RUNNING = (
    RequestState.RECEIVED.value,
    RequestState.UNDER_REVIEW.value,
    RequestState.CONFIRMING.value,
)
DUE_SOON = dt.timedelta(days=7)


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
    queued = _queued()
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


def _queued() -> Any:
    """The disposition-review queue, as its page lists it (``next_action`` first, so an index
    leading with it serves the count instead of a scan of every record)."""
    return (
        (Record.next_action == Action.REVIEW.value)
        & Record.review_queued_at.is_not(None)
        & (Record.status != RecordStatus.PURGED.value)
    )  # the predicate of the partial index ix_records_review_waiting, plus its first column


def waiting_for_people(session: Session) -> dict[str, int]:
    """What waits for a person, for the staff navigation: the review queue, holds waiting for a
    supervisor's approval, and decisions waiting for a second person (review decisions and
    request approvals)."""
    counts = {
        "review_queue": int(
            session.execute(select(func.count()).select_from(Record).where(_queued())).scalar_one()
        ),
        "holds_pending": int(
            session.execute(
                select(func.count())
                .select_from(LegalHold)
                .where(LegalHold.state == HoldState.PENDING.value)
            ).scalar_one()
        ),
        "second_person_reviews": 0,
        "second_person_requests": 0,
    }
    for subject, count in session.execute(
        select(SecondApproval.subject_type, func.count())
        .where(SecondApproval.state == ApprovalState.PENDING.value)
        .group_by(SecondApproval.subject_type)
    ).all():
        key = "second_person_requests" if subject == "request" else "second_person_reviews"
        counts[key] += int(count)
    return counts


def request_counts(session: Session, today: dt.date) -> dict[str, dict[str, int]]:
    """Removal requests by state (every state listed): ``all``; ``overdue`` — the clock runs
    and the response deadline has passed; ``due_this_week`` — due from today to a week on."""
    states = [s.value for s in RequestState]
    out = {name: dict.fromkeys(states, 0) for name in ("all", "overdue", "due_this_week")}
    for state, count in session.execute(
        select(RemovalRequest.state, func.count()).group_by(RemovalRequest.state)
    ).all():
        out["all"][str(state)] = int(count)
    running = RemovalRequest.state.in_(CLOCK_RUNNING)
    for name, window in (
        ("overdue", RemovalRequest.respond_by < today),
        (
            "due_this_week",
            RemovalRequest.respond_by.between(today, today + DUE_SOON),
        ),
    ):
        for state, count in session.execute(
            select(RemovalRequest.state, func.count())
            .where(running, window)
            .group_by(RemovalRequest.state)
        ).all():
            out[name][str(state)] = int(count)
    return out


def by_jurisdiction(session: Session) -> dict[str, dict[str, int]]:
    """Per jurisdiction: records by status, the review queue and review decisions taken."""
    table: dict[str, dict[str, int]] = {}

    def row(jurisdiction: Any) -> dict[str, int]:
        return table.setdefault(
            str(jurisdiction),
            {**dict.fromkeys((s.value for s in RecordStatus), 0), "review_queue": 0, "reviewed": 0},
        )

    for jurisdiction, state, count in session.execute(
        select(Record.jurisdiction, Record.status, func.count()).group_by(
            Record.jurisdiction, Record.status
        )
    ).all():
        row(jurisdiction)[str(state)] = int(count)
    for jurisdiction, count in session.execute(
        select(Record.jurisdiction, func.count()).where(_queued()).group_by(Record.jurisdiction)
    ).all():
        row(jurisdiction)["review_queue"] = int(count)
    for jurisdiction, count in session.execute(
        select(Record.jurisdiction, func.count())
        .select_from(ReviewDecision)
        .join(Record, Record.id == ReviewDecision.record_id)
        .group_by(Record.jurisdiction)
    ).all():
        row(jurisdiction)["reviewed"] = int(count)
    return dict(sorted(table.items()))


def job_run_counts(session: Session) -> dict[str, dict[str, int]]:
    """Every job run ever, by kind and status (dry runs included: they are runs too)."""
    out: dict[str, dict[str, int]] = {}
    for kind, state, count in session.execute(
        select(JobRun.kind, JobRun.status, func.count()).group_by(JobRun.kind, JobRun.status)
    ).all():
        out.setdefault(str(kind), {})[str(state)] = int(count)
    return dict(sorted(out.items()))


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
    requests: dict[str, dict[str, int]] = field(default_factory=dict)
    jurisdictions: dict[str, dict[str, int]] = field(default_factory=dict)
    job_runs: dict[str, dict[str, int]] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)
    max_overdue_reviews: int = 0
    max_overdue_requests: int = 0
    sweep_warning: str | None = None
    warnings: list[str] = field(default_factory=list)
    # Runs this call's caller just marked abandoned, and runs still "running" that look dead.
    abandoned: list[RunSummary] = field(default_factory=list)
    silent: list[RunSummary] = field(default_factory=list)
    # The e-mail outbox to requesters (``retention.notify``): counts by state, oldest waiting.
    notifications: outbox.Backlog | None = None

    @property
    def requests_overdue(self) -> int:
        """Requests whose response deadline has passed while their clock runs."""
        return sum(self.requests.get("overdue", {}).values())

    @property
    def requests_due_this_week(self) -> int:
        """Requests due from today to a week on (clock running)."""
        return sum(self.requests.get("due_this_week", {}).values())

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
            "requests_by_state": self.requests.get("all", {}),
            "requests_overdue": self.requests_overdue,
            "requests_overdue_by_state": self.requests.get("overdue", {}),
            "requests_due_this_week": self.requests_due_this_week,
            "jurisdictions": self.jurisdictions,
            "job_runs": self.job_runs,
            "waiting_for_people": self.waiting,
            "thresholds": {
                "max_overdue_reviews": self.max_overdue_reviews,
                "max_overdue_requests": self.max_overdue_requests,
            },
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
        out.append(
            f"removal requests: {counts(self.requests.get('all', {}))}; "
            f"{self.requests_overdue} past their response deadline, "
            f"{self.requests_due_this_week} due within a week"
        )
        waiting = self.waiting
        if waiting:
            out.append(
                f"waiting for a person: {waiting.get('holds_pending', 0)} holds to approve, "
                f"{waiting.get('second_person_reviews', 0)} review decisions and "
                f"{waiting.get('second_person_requests', 0)} request approvals "
                "for a second person"
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
        jurisdictions = by_jurisdiction(session)
        # Records by status: the per-jurisdiction counts summed (one scan of the table, not two).
        by_status = {
            s.value: sum(row[s.value] for row in jurisdictions.values()) for s in RecordStatus
        }
        due_now = _by_action(session, Record.next_action_due <= today)
        queue = reviews_and_actions_overdue(session, today)
        requests = request_counts(session, today)
        job_runs = job_run_counts(session)
        waiting = waiting_for_people(session)
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
        requests=requests,
        jurisdictions=jurisdictions,
        job_runs=job_runs,
        waiting=waiting,
        max_overdue_reviews=services.settings.status_max_overdue_reviews,
        max_overdue_requests=services.settings.status_max_overdue_requests,
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
        unsent = sum(notifications.by_state[s] for s in outbox.WAITING)
        report.warnings.append(
            f"{unsent} e-mails to requesters are waiting, the oldest since {_iso(oldest)}: "
            "is the mail server (MUGSHOT_SMTP_URL) reachable, and is the scheduler running?"
        )
    late = sum(report.overdue.values())
    if late:
        report.warnings.append(
            f"{late} due actions are more than a day overdue "
            f"({', '.join(f'{k}={v}' for k, v in sorted(report.overdue.items()) if v)})"
        )
    if report.review_queue_overdue > report.max_overdue_reviews:
        report.warnings.append(
            f"{report.review_queue_overdue} disposition reviews are more than a day overdue "
            f"(more than the {report.max_overdue_reviews} allowed by "
            "MUGSHOT_STATUS_MAX_OVERDUE_REVIEWS)"
        )
    if report.requests_overdue > report.max_overdue_requests:
        report.warnings.append(
            f"{report.requests_overdue} removal requests are past their response deadline "
            f"(more than the {report.max_overdue_requests} allowed by "
            "MUGSHOT_STATUS_MAX_OVERDUE_REQUESTS)"
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
