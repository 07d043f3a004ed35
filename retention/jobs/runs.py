"""Job runs: every scheduled or manual run of a job leaves a row with its counts and errors.

Layer: ``retention.jobs``. Rows are written in their own short transactions, so a job that fails
half-way still says when it started and why it stopped (no personal data in errors: ids only).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select

from retention.db.models import JobRun, JobRunStatus
from retention.services import Services


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
                counts={},
                errors=[],
            )
        )
    return job_id


def finish(
    services: Services,
    job_id: str,
    *,
    status: JobRunStatus,
    now: dt.datetime,
    counts: dict[str, Any],
    errors: list[str],
) -> None:
    """Record how a job ended."""
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
