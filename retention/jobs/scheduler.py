"""The scheduler: sweeps, janitor, audit checkpoints, overdue checks and notification e-mails.

Layer: ``retention.jobs`` (an outermost edge, like the CLI: it reads the clock). Never imports
Flask. Nothing is built or started at import: ``build_scheduler(services)`` builds a scheduler, and
``start()`` (embedded, e.g. in ``mugshot serve``) or ``run_forever()`` (``mugshot scheduler``)
starts it. Never start one inside a web worker that may be forked N times.

Leadership. Any number of scheduler processes may run; only the one holding the database lease
(``retention.jobs.lease``) runs jobs. Every process runs the ``lease-renew`` job every third of the
lease time: the leader extends its lease, a standby tries to take it and succeeds only once the
leader's lease has expired (it was killed, hung, or lost the database). Every job checks, and
renews, the lease right before it runs and does nothing without it.

Catch-up. APScheduler's job store is in memory, so runs missed while no scheduler ran are not
"misfires" APScheduler knows about. Instead, on becoming leader the process looks at each job's
last successful ``JobRun``: a job whose last success is older than its interval (or that never
succeeded) runs once at once; the others next run one interval after their last success. So a
restart neither skips a due sweep nor runs a recent one again.

Stopping. ``shutdown()`` (SIGTERM/SIGINT in ``run_forever``; ``mugshot serve``'s own handler)
sets a stop event that a running sweep or janitor checks between batches: it finishes the batch
in hand and records itself ``interrupted`` (or ``ok`` if it was done). No new job starts, and
the lease is released as soon as the running ones have stopped.

Abandoned runs. Each time it takes or renews the lease, the leader marks as ``abandoned`` every
run still ``running`` whose heartbeat is older than ``runs.stale_after`` (twice the lease): its
process is gone (``retention.jobs.runs``).

Logs (logger ``mugshot.scheduler``) name job kinds, JobRun ids and counts, never personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session

from retention import files
from retention.audit import chain as audit
from retention.db.models import JobRunStatus
from retention.jobs import lease, runs
from retention.jobs.janitor import run_janitor
from retention.jobs.notify import run_notify
from retention.jobs.status import reviews_and_actions_overdue
from retention.jobs.sweep import run_sweep
from retention.notify.smtp import SmtpConfig
from retention.requests import workflow
from retention.services import Services

log = logging.getLogger("mugshot.scheduler")

Clock = Callable[[], dt.datetime]

SWEEP = "sweep"
JANITOR = "janitor"
AUDIT_CHECKPOINT = "audit-checkpoint"
OVERDUE_CHECK = "overdue-check"
LEASE_RENEW = "lease-renew"
NOTIFY = "notify"
# The jobs that do work (and leave JobRun rows of the same kind); ``lease-renew`` is plumbing.
WORK_JOBS = (SWEEP, JANITOR, AUDIT_CHECKPOINT, OVERDUE_CHECK, NOTIFY)
JOB_IDS = (*WORK_JOBS, LEASE_RENEW)

DAILY = dt.timedelta(days=1)

# One extra check for the overdue job: given a read-only session and today, counts by name
# (never personal data). A count > 0 under a name ending in "_overdue" is logged as a warning.
OverdueCheck = Callable[[Session, dt.date], Mapping[str, int]]


def utcnow() -> dt.datetime:
    """The scheduler process's clock."""
    return dt.datetime.now(dt.UTC)


def misfire_grace(interval: dt.timedelta) -> int:
    """The ``misfire_grace_time`` of a job that runs every ``interval``: one interval.

    A misfire happens only inside a live process (the job store is in memory; downtime is
    handled by catch-up on becoming leader): the worker threads were busy or the machine was
    suspended, and the run is late. Up to one interval late it still runs — a late purge is
    better than a skipped one, and with ``coalesce=True`` a backlog of missed runs collapses
    into that one run. Later than that, the next regular run is at most one interval away
    anyway, so skipping the stale one loses nothing and avoids two runs back to back.
    """
    return max(1, int(interval.total_seconds()))


# Extension point: removal requests (statutory response deadlines, e.g. California PC 13665's
# 14 days) add their own ``OverdueCheck`` here, or callers pass ``overdue_checks=``.
DEFAULT_OVERDUE_CHECKS: tuple[OverdueCheck, ...] = (
    reviews_and_actions_overdue,
    workflow.overdue,
)


def default_intervals(services: Services) -> dict[str, dt.timedelta]:
    """How often each job runs: the sweep per ``settings.sweep_interval_minutes``, the others
    daily, the lease every third of ``settings.scheduler_lease_seconds``."""
    settings = services.settings
    return {
        SWEEP: dt.timedelta(minutes=settings.sweep_interval_minutes),
        JANITOR: DAILY,
        AUDIT_CHECKPOINT: DAILY,
        OVERDUE_CHECK: DAILY,
        LEASE_RENEW: dt.timedelta(seconds=settings.scheduler_lease_seconds) / 3,
        NOTIFY: dt.timedelta(seconds=settings.notify_interval_seconds),
    }


class MugshotScheduler:
    """An APScheduler ``BackgroundScheduler`` whose jobs run only while this process holds the
    scheduler lease. Build it with ``build_scheduler``."""

    def __init__(
        self,
        services: Services,
        *,
        clock: Clock,
        holder: str,
        intervals: Mapping[str, dt.timedelta],
        overdue_checks: Sequence[OverdueCheck],
    ) -> None:
        self.services = services
        self.holder = holder
        self.intervals = dict(intervals)
        self._clock = clock
        self._ttl = dt.timedelta(seconds=services.settings.scheduler_lease_seconds)
        self._overdue_checks = tuple(overdue_checks)
        self._actor = services.settings.actor
        self._leader = False
        self._state = threading.Lock()
        self._stopped = threading.Event()
        # Set when shutting down: no job starts any more, and a running sweep or janitor stops
        # after the batch in hand.
        self._stopping = threading.Event()
        self.scheduler: Any = BackgroundScheduler(
            timezone=dt.UTC,
            executors={"default": ThreadPoolExecutor(max_workers=len(JOB_IDS))},
        )
        work: dict[str, Callable[[], None]] = {
            SWEEP: self._sweep,
            JANITOR: self._janitor,
            AUDIT_CHECKPOINT: self._audit_checkpoint,
            OVERDUE_CHECK: self._overdue_check,
            NOTIFY: self._notify,
        }
        for job_id, fn in work.items():
            self._add(job_id, self._guarded(job_id, fn))
        self._add(LEASE_RENEW, self.tick)

    def _add(self, job_id: str, fn: Callable[[], object]) -> None:
        interval = self.intervals[job_id]
        self.scheduler.add_job(
            fn,
            IntervalTrigger(seconds=interval.total_seconds(), timezone=dt.UTC),
            id=job_id,
            name=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=misfire_grace(interval),
        )

    # -- leadership -----------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """Whether this process held the lease at its last check."""
        with self._state:
            return self._leader

    def tick(self) -> bool:
        """The ``lease-renew`` job: take or renew the lease; on becoming leader, catch up.

        Returns whether this process leads now. Safe to call directly (tests, embedding).
        """
        try:
            held = lease.acquire(self.services, self.holder, self._clock(), self._ttl)
        except Exception as exc:  # the database is unreachable: we cannot know, so stop leading
            log.error("lease check failed (%s); not running jobs", type(exc).__name__)
            held = False
        with self._state:
            was = self._leader
            if not held:
                self._leader = False
        if held:
            self._abandon_stale_runs()
        if held and not was:
            log.info("scheduler %s took the lease; catching up on missed runs", self.holder)
            try:
                delays = self.plan_catch_up()
            except Exception as exc:
                log.error("catch-up failed (%s); retrying at the next tick", type(exc).__name__)
                return False
            with self._state:
                self._leader = True
            self._reschedule(delays)
        elif was and not held:
            log.warning("scheduler %s lost the lease; standing by", self.holder)
        return held

    def _abandon_stale_runs(self) -> None:
        try:
            marked = runs.abandon_stale(
                self.services,
                now=self._clock(),
                actor=self._actor,
                stale_after=runs.stale_after(self.services.settings),
            )
        except Exception as exc:  # the next tick tries again
            log.error("checking for abandoned job runs failed (%s)", type(exc).__name__)
            return
        for run in marked:
            log.warning(
                "job run %s (%s) abandoned: no heartbeat since %s; counts so far %s",
                run.id,
                run.kind,
                run.finished_at.isoformat() if run.finished_at else "?",
                _counts(run.counts or {}),
            )

    def plan_catch_up(self) -> dict[str, dt.timedelta]:
        """How long until each work job is due: nothing when its last success is older than its
        interval (or missing), else the rest of the interval since that success."""
        delays: dict[str, dt.timedelta] = {}
        now = self._clock()
        for kind in WORK_JOBS:
            last = runs.last_success(self.services, kind)
            interval = self.intervals[kind]
            delay = dt.timedelta(0)
            if last is not None and now - last.started_at < interval:
                delay = last.started_at + interval - now
            delays[kind] = delay
        return delays

    def _reschedule(self, delays: Mapping[str, dt.timedelta]) -> None:
        for kind, delay in delays.items():
            if self.scheduler.running:
                # APScheduler fires on its own (real) clock: translate the delay, not the time.
                self.scheduler.modify_job(kind, next_run_time=utcnow() + delay)
            log.info("job %s next runs in %d s", kind, int(delay.total_seconds()))

    def _guarded(self, kind: str, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            if not self.is_leader or self._stopping.is_set():
                return  # a standby (the leader runs this job), or shutting down
            try:
                still = lease.renew(self.services, self.holder, self._clock(), self._ttl)
            except Exception as exc:
                log.error("job %s skipped: lease check failed (%s)", kind, type(exc).__name__)
                return
            if not still:
                with self._state:
                    self._leader = False
                log.warning("job %s skipped: scheduler %s lost the lease", kind, self.holder)
                return
            try:
                fn()
            except Exception as exc:
                # The job's JobRun row holds the details; messages may quote SQL parameters,
                # so the log names the error type only.
                log.error("job %s failed (%s)", kind, type(exc).__name__)

        run.__name__ = f"run_{kind.replace('-', '_')}"
        return run

    # -- jobs -----------------------------------------------------------------------------

    def _sweep(self) -> None:
        now = self._clock()
        report = run_sweep(
            self.services,
            today=now.date(),
            clock=self._clock,
            actor=self._actor,
            stop=self._stopping,
        )
        if report.interrupted:
            log.info(
                "sweep %s interrupted between batches: %s", report.job_id, _counts(report.counts)
            )
            return
        if report.blocked:
            log.warning(
                "sweep %s blocked by the safety belt: %d purges due, limit %d; "
                "a supervisor must confirm (mugshot sweep --confirm-by NAME)",
                report.job_id,
                report.due_purges,
                report.purge_limit,
            )
            return
        log.info("sweep %s done: %s", report.job_id, _counts(report.counts))

    def _janitor(self) -> None:
        report = run_janitor(
            self.services, clock=self._clock, actor=self._actor, stop=self._stopping
        )
        log.info(
            "janitor done: checked=%d shredded=%d orphans=%d temp_files=%d",
            report.checked,
            report.shredded,
            report.orphans,
            report.temp_files,
        )

    def _notify(self) -> None:
        report = run_notify(
            self.services, clock=self._clock, actor=self._actor, stop=self._stopping
        )
        if report.job_id is not None or report.not_sent:
            log.info("notify %s: %s", report.job_id, _counts(report.counts()))

    @contextmanager
    def _recorded(self, kind: str, now: dt.datetime) -> Iterator[tuple[str, dict[str, Any]]]:
        """A job run recorded around the block: ``ok`` with the counts the block puts in the
        dict it is given, or ``failed`` with the error, which goes on up."""
        job_id = runs.start(self.services, kind, actor=self._actor, now=now)
        status = JobRunStatus.FAILED
        counts: dict[str, Any] = {}
        errors: list[str] = []
        try:
            yield job_id, counts
            status = JobRunStatus.OK
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:500])
            raise
        finally:
            runs.finish(
                self.services,
                job_id,
                status=status,
                now=self._clock(),
                counts=dict(counts),
                errors=errors,
            )

    def _audit_checkpoint(self) -> None:
        now = self._clock()
        with self._recorded(AUDIT_CHECKPOINT, now) as (job_id, counts):
            with self.services.readers() as session:
                doc = audit.export_checkpoint(session, self.services.keyring, now)
            folder = self.services.settings.data_dir / "checkpoints"
            path = folder / f"audit-{int(doc['seq'])}.json"
            text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
            written = files.create_private(path, text.encode())
            counts.update(seq=int(doc["seq"]), written=int(written))
            log.info("audit checkpoint %s at entry %d", job_id, doc["seq"])

    def _overdue_check(self) -> None:
        now = self._clock()
        with self._recorded(OVERDUE_CHECK, now) as (job_id, counts):
            counts.update(run_overdue_checks(self.services, now.date(), self._overdue_checks))
            overdue = {k: v for k, v in counts.items() if k.endswith("_overdue") and v}
            if overdue:
                log.warning("overdue check %s: overdue work %s", job_id, _counts(overdue))
            else:
                log.info("overdue check %s: nothing overdue (%s)", job_id, _counts(counts))

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start in the background (returns at once); the first lease attempt follows."""
        log.info(
            "scheduler %s starting (lease %d s, sweep every %d s)",
            self.holder,
            int(self._ttl.total_seconds()),
            int(self.intervals[SWEEP].total_seconds()),
        )
        self.scheduler.start()
        # The first lease attempt at once, not one lease-renew interval from now.
        self.scheduler.modify_job(LEASE_RENEW, next_run_time=utcnow())

    def request_stop(self) -> None:
        """Ask running jobs to stop after the batch in hand, and start no new one. Returns at
        once (safe in a signal handler); ``shutdown()`` then waits for them."""
        self._stopping.set()

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop, then release the lease so a standby takes over at once.

        A running sweep or janitor stops after the batch in hand; ``wait=True`` lets it get
        there first: releasing the lease while our sweep is still running would let a standby
        start a second one alongside it. Idempotent.
        """
        self.request_stop()
        if self._stopped.is_set():
            return
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        with self._state:
            self._leader = False
        try:
            if lease.release(self.services, self.holder):
                log.info("scheduler %s released the lease", self.holder)
        except Exception as exc:  # the lease expires by itself
            log.error("releasing the lease failed (%s)", type(exc).__name__)
        self._stopped.set()

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT, then shut down cleanly (``mugshot scheduler``).

        Must be called from the main thread (signal handlers can only be installed there).
        """
        stop = threading.Event()

        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("scheduler %s received signal %d; shutting down", self.holder, signum)
            stop.set()

        previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not stop.wait(timeout=1.0):
                pass
        finally:
            self.shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run_overdue_checks(
    services: Services, today: dt.date, checks: Sequence[OverdueCheck] = DEFAULT_OVERDUE_CHECKS
) -> dict[str, int]:
    """Run every overdue check in one read-only snapshot; their counts merged."""
    counts: dict[str, int] = {}
    with services.readers() as session:
        for check in checks:
            counts.update(check(session, today))
    return counts


def _counts(counts: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={counts[key]}" for key in sorted(counts))


def build_scheduler(
    services: Services,
    *,
    clock: Clock = utcnow,
    holder: str | None = None,
    intervals: Mapping[str, dt.timedelta] | None = None,
    overdue_checks: Sequence[OverdueCheck] = DEFAULT_OVERDUE_CHECKS,
) -> MugshotScheduler:
    """Build (not start) the scheduler for ``services``.

    ``holder`` defaults to ``hostname:pid:random``. ``intervals`` overrides some jobs'
    intervals (by job id) over ``default_intervals`` — e.g. a sweep every few seconds in a
    failover test; ``overdue_checks`` replaces the overdue job's checks (the extension point for
    removal-request deadlines).
    """
    every = default_intervals(services)
    unknown = set(intervals or {}) - set(JOB_IDS)
    if unknown:
        raise ValueError(f"unknown job ids: {sorted(unknown)}")
    every.update(intervals or {})
    if any(value <= dt.timedelta(0) for value in every.values()):
        raise ValueError("job intervals must be positive")
    SmtpConfig.from_settings(services.settings)  # a bad MUGSHOT_SMTP_URL stops us here
    return MugshotScheduler(
        services,
        clock=clock,
        holder=holder or lease.make_holder_id(),
        intervals=every,
        overdue_checks=overdue_checks,
    )
