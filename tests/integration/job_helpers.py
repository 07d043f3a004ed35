"""Helpers for job tests: job-run rows and bare records written straight to the database, as an
earlier run or process would have left them, and what the sweep has purged so far."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select

from retention.db.models import JobRun, Record, RecordStatus
from retention.services import Services
from tests.conftest import FIXED_NOW


def _insert(services: Services, row: JobRun | Record) -> None:
    with services.sessions() as s, s.begin():
        s.add(row)


def add_job_run(
    services: Services,
    kind: str,
    *,
    started: dt.datetime,
    finished: dt.datetime | None = None,
    heartbeat: dt.datetime | None = None,
    status: str = "ok",
    dry_run: bool = False,
    actor: str = "test:seed",
    counts: dict[str, Any] | None = None,
) -> str:
    """A job-run row as a run would have left it (still running when ``finished`` is None)."""
    run_id = uuid.uuid4().hex
    _insert(
        services,
        JobRun(
            id=run_id,
            kind=kind,
            status=status,
            dry_run=dry_run,
            actor=actor,
            started_at=started,
            finished_at=finished,
            heartbeat_at=heartbeat,
            counts=counts or {},
            errors=[],
        ),
    )
    return run_id


def add_bare_record(
    services: Services,
    *,
    next_action: str | None = None,
    due: dt.date | None = None,
    status: str = RecordStatus.ACTIVE.value,
    review_queued_at: dt.datetime | None = None,
    review_due_on: dt.date | None = None,
) -> str:
    """A bare record row (no identity, key or images): enough for schedule-driven counts."""
    rid = uuid.uuid4().hex
    _insert(
        services,
        Record(
            id=rid,
            agency="TEST",
            booking_bidx=rid * 2,
            jurisdiction="GB-ENG",
            holder="law_enforcement",
            data_kind="booking_photo",
            outcome="no_further_action",
            legal_basis="arrest",
            status=status,
            next_action=next_action,
            next_action_due=due,
            review_due_on=review_due_on,
            review_queued_at=review_queued_at,
            created_at=FIXED_NOW,
            updated_at=FIXED_NOW,
        ),
    )
    return rid


def purged_count(services: Services) -> int:
    """How many records are purged now."""
    with services.readers() as s:
        return int(
            s.execute(
                select(func.count()).select_from(Record).where(Record.status == "purged")
            ).scalar_one()
        )
