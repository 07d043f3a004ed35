"""Job runs: every scheduled or manual run of a job leaves a row with its counts and errors.

Layer: ``retention.jobs``. Rows are written in their own short transactions, so a job that fails
half-way still says when it started and why it stopped (no personal data in errors: ids only).

A process that dies (SIGKILL, a lost machine) cannot say so. Long jobs therefore send a
heartbeat after each batch — the time and their counts so far — and a run still ``running``
whose last sign of life is older than ``stale_after`` is marked ``abandoned`` by whoever looks
next (the scheduler that leads, ``mugshot status``), keeping the counts of its last heartbeat,
with an audit entry. The threshold is twice the scheduler lease: a batch that takes longer than
that is not a batch but a hang.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from retention.audit import chain as audit
from retention.db.models import JobRun, JobRunStatus
from retention.services import Services
from retention.settings import Settings

STALE_LEASES = 2  # a run silent for this many scheduler lease periods is abandoned


def start(
    services: Services,
    kind: str,
    *,
    actor: str,
    now: dt.datetime,
    on_date: dt.date | None = None,
    dry_run: bool = False,
) -> str:
    """Record that a job started; returns its id."""
    job_id = uuid.uuid4().hex
    with services.sessions() as session, session.begin():
        session.add(
            JobRun(
                id=job_id,
                kind=kind,
                status=JobRunStatus.RUNNING.value,
                dry_run=dry_run,
                on_date=on_date,
                actor=actor,
                started_at=now,
                heartbeat_at=now,
                counts={},
                errors=[],
            )
        )
    return job_id


def heartbeat(services: Services, job_id: str, *, now: dt.datetime, counts: dict[str, Any]) -> bool:
    """Record that a running job is alive, with its counts so far (after each batch).

    Returns False when the run is no longer ``running`` (it was marked abandoned meanwhile);
    the job carries on, and its ``finish`` records how it really ended.
    """
    with services.sessions() as session, session.begin():
        result = cast(
            "CursorResult[Any]",
            session.execute(
                update(JobRun)
                .where(JobRun.id == job_id, JobRun.status == JobRunStatus.RUNNING.value)
                .values(heartbeat_at=now, counts=dict(counts))
                .execution_options(synchronize_session=False)
            ),
        )
        return result.rowcount == 1


def finish(
    services: Services,
    job_id: str,
    *,
    status: JobRunStatus,
    now: dt.datetime,
    counts: dict[str, Any],
    errors: list[str],
) -> None:
    """Record how a job ended (over an ``abandoned`` mark too: it was alive after all)."""
    with services.sessions() as session, session.begin():
        run = session.get(JobRun, job_id)
        assert run is not None
        run.status = status.value
        run.finished_at = now
        run.counts = counts
        run.errors = errors[:100]


def last_success(services: Services, kind: str, *, real_only: bool = True) -> JobRun | None:
    """The latest run of ``kind`` that finished OK (dry runs excluded unless asked)."""
    with services.readers() as session:
        stmt = select(JobRun).where(JobRun.kind == kind, JobRun.status == JobRunStatus.OK.value)
        if real_only:
            stmt = stmt.where(JobRun.dry_run.is_(False))
        return session.execute(
            stmt.order_by(JobRun.started_at.desc()).limit(1)
        ).scalar_one_or_none()


def stale_after(settings: Settings) -> dt.timedelta:
    """How long a running job may stay silent before it counts as abandoned."""
    return STALE_LEASES * dt.timedelta(seconds=settings.scheduler_lease_seconds)


def abandon_stale(
    services: Services, *, now: dt.datetime, actor: str, stale_after: dt.timedelta
) -> list[JobRun]:
    """Mark every run still ``running`` whose last heartbeat (or start) is older than
    ``now - stale_after`` as ``abandoned``, each with an audit entry; returns those runs.

    Its counts stay those of its last heartbeat, and ``finished_at`` is that heartbeat — its
    last sign of life, not the moment somebody noticed. Each run is marked in its own
    transaction under a row lock (SQLite: the write lock), re-checking that it is still running
    and still silent, so two processes looking at once mark it, and audit it, once.
    """
    cutoff = now - stale_after
    last_seen = func.coalesce(JobRun.heartbeat_at, JobRun.started_at)
    stale_now = (JobRun.status == JobRunStatus.RUNNING.value) & (last_seen < cutoff)
    with services.readers() as session:
        candidates = list(session.execute(select(JobRun.id).where(stale_now)).scalars())
    marked: list[JobRun] = []
    for job_id in candidates:
        with services.sessions() as session, session.begin():
            run = session.execute(
                select(JobRun)
                .where(JobRun.id == job_id, stale_now)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).scalar_one_or_none()
            if run is None:  # it finished, or another process marked it first
                continue
            seen = run.heartbeat_at or run.started_at
            run.status = JobRunStatus.ABANDONED.value
            run.finished_at = seen
            run.errors = [
                *(run.errors or []),
                f"abandoned: no heartbeat since {seen.isoformat()}; its process is gone "
                f"(marked at {now.isoformat()} by {actor})",
            ][-100:]
            counts = {k: v for k, v in (run.counts or {}).items() if isinstance(v, int)}
            audit.append(
                session,
                now=now,
                actor=actor,
                action="job.abandoned",
                object_type="job",
                object_id=run.id,
                details={"kind": run.kind, "last_seen": seen.isoformat(), "counts": counts},
            )
        marked.append(run)
    return marked
