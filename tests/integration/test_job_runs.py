"""Job runs end cleanly: heartbeats with counts so far, a stop between batches (``interrupted``),
and a run whose process is gone marked ``abandoned`` — once, with an audit entry."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from retention.cli.main import cli
from retention.db.models import AuditEntry, JobRun
from retention.jobs import runs
from retention.jobs.janitor import run_janitor
from retention.jobs.status import status
from retention.jobs.sweep import run_sweep
from retention.services import Services, open_services
from tests.conftest import FIXED_NOW
from tests.helpers import backend_env, clock_at
from tests.integration.engine_helpers import TODAY, check_invariants, ingest, purge_due, stored
from tests.integration.job_helpers import add_job_run, purged_count

CLOCK = clock_at(FIXED_NOW)
BATCH = 3


@pytest.fixture
def batched(services: Services) -> Iterator[Services]:
    """Services whose sweep works three records at a time, with the safety belt lifted."""
    svc = open_services(
        services.settings.with_overrides(sweep_batch_size=BATCH, sweep_max_purge_count=1000)
    )
    yield svc
    svc.close()


def _run(services: Services, job_id: str) -> JobRun:
    return stored(services, JobRun, job_id)


def _audit(services: Services, action: str) -> list[AuditEntry]:
    with services.readers() as s:
        return list(
            s.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).scalars()
        )


def _only_sweep(services: Services) -> JobRun:
    with services.readers() as s:
        [run] = s.execute(select(JobRun).where(JobRun.kind == "sweep")).scalars()
        return run


# -- heartbeats and stopping between batches ----------------------------------------------


def test_the_sweep_sends_a_heartbeat_with_its_counts_after_every_batch(
    tmp_path: Path, batched: Services
) -> None:
    ingest(batched, tmp_path, [purge_due(f"H-{n:02d}") for n in range(7)])
    seen: list[int] = []

    def hook(point: str, _batch: int) -> None:
        if point == "between_batches":
            seen.append(_only_sweep(batched).counts["purged"])

    run_sweep(batched, today=TODAY, clock=CLOCK, actor="test:sweep", hook=hook)
    assert seen == [3, 6, 7]
    run = _only_sweep(batched)
    assert (run.status, run.counts["purged"], run.heartbeat_at) == ("ok", 7, FIXED_NOW)


def test_a_stop_between_batches_ends_the_sweep_interrupted_with_its_counts_so_far(
    tmp_path: Path, batched: Services
) -> None:
    ingest(batched, tmp_path, [purge_due(f"I-{n:02d}") for n in range(9)])
    stop = threading.Event()

    def hook(point: str, batch: int) -> None:
        if point == "before_commit" and batch == 2:
            stop.set()  # asked to stop in the middle of batch 2: batch 2 still completes

    report = run_sweep(batched, today=TODAY, clock=CLOCK, actor="test:sweep", hook=hook, stop=stop)

    assert report.interrupted
    assert purged_count(batched) == 2 * BATCH == report.counts["purged"]
    run = _run(batched, report.job_id)
    assert (run.status, run.counts["purged"]) == ("interrupted", 2 * BATCH)
    [entry] = _audit(batched, "sweep.interrupted")
    assert (entry.object_id, entry.details["purged"]) == (report.job_id, 2 * BATCH)
    assert _audit(batched, "sweep.completed") == []
    assert check_invariants(batched, janitor_ran=True) == {"purged": 6, "live": 3}
    # The next sweep picks up where it stopped.
    again = run_sweep(batched, today=TODAY, clock=CLOCK, actor="test:sweep")
    assert (again.interrupted, again.counts["purged"]) == (False, 3)
    assert _run(batched, again.job_id).status == "ok"
    assert check_invariants(batched, janitor_ran=True) == {"purged": 9, "live": 0}


def test_a_stop_asked_for_during_the_last_batch_leaves_a_finished_sweep_ok(
    tmp_path: Path, batched: Services
) -> None:
    ingest(batched, tmp_path, [purge_due(f"L-{n:02d}") for n in range(2 * BATCH)])
    stop = threading.Event()

    def hook(point: str, batch: int) -> None:
        if point == "before_commit" and batch == 2:
            stop.set()

    report = run_sweep(batched, today=TODAY, clock=CLOCK, actor="test:sweep", hook=hook, stop=stop)

    assert not report.interrupted
    assert (_run(batched, report.job_id).status, report.counts["purged"]) == ("ok", 6)
    assert [e.object_id for e in _audit(batched, "sweep.completed")] == [report.job_id]


def test_a_sweep_asked_to_stop_before_it_starts_touches_nothing(
    tmp_path: Path, batched: Services
) -> None:
    ingest(batched, tmp_path, [purge_due(f"N-{n:02d}") for n in range(4)])
    stop = threading.Event()
    stop.set()
    report = run_sweep(batched, today=TODAY, clock=CLOCK, actor="test:sweep", stop=stop)
    assert report.interrupted
    assert purged_count(batched) == 0
    assert _run(batched, report.job_id).status == "interrupted"


def test_a_stopped_janitor_is_interrupted_and_deletes_nothing_more(
    tmp_path: Path, services: Services
) -> None:
    ingest(services, tmp_path, [purge_due("J-1")])
    before = set(services.store.keys())
    stop = threading.Event()
    stop.set()
    report = run_janitor(services, clock=CLOCK, actor="test:janitor", stop=stop)
    assert report.removed == 0
    assert set(services.store.keys()) == before
    with services.readers() as s:
        [run] = s.execute(select(JobRun).where(JobRun.kind == "janitor")).scalars()
    assert run.status == "interrupted"


def test_the_janitor_sends_a_heartbeat_per_chunk(tmp_path: Path, services: Services) -> None:
    ingest(services, tmp_path, [purge_due("J-2")])
    blobs = len(set(services.store.keys()))
    later = FIXED_NOW + dt.timedelta(minutes=5)
    ticks = iter([FIXED_NOW, later, later, later])
    run_janitor(services, clock=lambda: next(ticks), actor="test:janitor")
    with services.readers() as s:
        [run] = s.execute(select(JobRun).where(JobRun.kind == "janitor")).scalars()
    assert (run.status, run.heartbeat_at, run.counts["checked"]) == ("ok", later, blobs)


# -- abandoned runs ------------------------------------------------------------------------


def _seed(
    services: Services,
    *,
    started: dt.datetime,
    heartbeat: dt.datetime | None,
    counts: dict[str, Any] | None = None,
    kind: str = "sweep",
) -> str:
    """A run still marked running, by a scheduler whose process is gone."""
    return add_job_run(
        services,
        kind,
        started=started,
        heartbeat=heartbeat,
        status="running",
        actor="scheduler:dead",
        counts=counts,
    )


STALE = dt.timedelta(minutes=2)


def test_only_runs_silent_for_longer_than_the_threshold_are_abandoned(
    services: Services,
) -> None:
    now = FIXED_NOW
    silent = _seed(
        services,
        started=now - dt.timedelta(hours=1),
        heartbeat=now - dt.timedelta(minutes=3),
        counts={"purged": 4, "seconds": 1.5},
    )
    alive = _seed(
        services, started=now - dt.timedelta(hours=1), heartbeat=now - dt.timedelta(minutes=1)
    )
    # A row from before heartbeats existed: its start is its last sign of life.
    old = _seed(services, started=now - dt.timedelta(minutes=5), heartbeat=None, kind="janitor")

    marked = runs.abandon_stale(services, now=now, actor="test:status", stale_after=STALE)

    assert sorted(r.id for r in marked) == sorted([silent, old])
    gone = _run(services, silent)
    assert gone.status == "abandoned"
    assert gone.counts == {"purged": 4, "seconds": 1.5}  # the counts of its last heartbeat
    assert gone.finished_at == now - dt.timedelta(minutes=3)  # its last sign of life
    assert "abandoned" in gone.errors[-1]
    assert _run(services, old).finished_at == now - dt.timedelta(minutes=5)
    assert _run(services, alive).status == "running"
    entries = {e.object_id: e for e in _audit(services, "job.abandoned")}
    assert set(entries) == {silent, old}
    assert entries[silent].details == {
        "kind": "sweep",
        "last_seen": (now - dt.timedelta(minutes=3)).isoformat(),
        "counts": {"purged": 4},
    }
    assert entries[silent].actor == "test:status"
    # Looking again marks nothing twice.
    assert runs.abandon_stale(services, now=now, actor="test:status", stale_after=STALE) == []
    assert len(_audit(services, "job.abandoned")) == 2


def test_two_processes_marking_at_once_mark_and_audit_a_dead_run_once(
    services: Services,
) -> None:
    dead = [
        _seed(services, started=FIXED_NOW - dt.timedelta(hours=1), heartbeat=None) for _ in range(3)
    ]
    barrier = threading.Barrier(4)
    marked: list[str] = []

    def look() -> None:
        barrier.wait()
        found = runs.abandon_stale(services, now=FIXED_NOW, actor="test", stale_after=STALE)
        marked.extend(r.id for r in found)

    threads = [threading.Thread(target=look) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(marked) == sorted(dead)
    assert sorted(e.object_id for e in _audit(services, "job.abandoned")) == sorted(dead)


def test_a_heartbeat_after_the_run_was_abandoned_changes_nothing_but_finish_tells_the_truth(
    services: Services,
) -> None:
    job_id = _seed(services, started=FIXED_NOW - dt.timedelta(hours=1), heartbeat=None)
    runs.abandon_stale(services, now=FIXED_NOW, actor="test", stale_after=STALE)
    assert not runs.heartbeat(services, job_id, now=FIXED_NOW, counts={"purged": 9})
    assert _run(services, job_id).status == "abandoned"
    runs.finish(
        services,
        job_id,
        status=runs.JobRunStatus.OK,
        now=FIXED_NOW,
        counts={"purged": 9},
        errors=[],
    )
    assert (_run(services, job_id).status, _run(services, job_id).counts) == ("ok", {"purged": 9})


def test_mugshot_status_marks_dead_runs_abandoned_and_the_report_alone_does_not(
    services: Services,
) -> None:
    real_now = dt.datetime.now(dt.UTC)  # the CLI reads the real clock
    stale = runs.stale_after(services.settings)
    dead = _seed(
        services,
        started=real_now - dt.timedelta(hours=1),
        heartbeat=real_now - stale - dt.timedelta(minutes=1),
        counts={"purged": 6},
    )
    alive = _seed(services, started=real_now - dt.timedelta(hours=1), heartbeat=real_now)

    report = status(services, real_now)  # what the dashboard builds on GET: reads only
    assert [r.job_id for r in report.silent] == [dead]
    assert any(f"sweep run {dead} is still marked running" in w for w in report.warnings)
    assert _run(services, dead).status == "running"
    assert _audit(services, "job.abandoned") == []

    env = {**backend_env(services.settings), "MUGSHOT_ACTOR": "test:status"}
    first = CliRunner().invoke(cli, ["status", "--json"], env=env)
    assert first.exit_code == 1, first.output
    doc = json.loads(first.output)
    assert [r["job_id"] for r in doc["abandoned_now"]] == [dead]
    assert doc["abandoned_now"][0]["status"] == "abandoned"
    assert doc["abandoned_now"][0]["counts"] == {"purged": 6}
    assert doc["running_without_heartbeat"] == []
    assert any(f"sweep run {dead} was abandoned" in w for w in doc["warnings"])
    assert (_run(services, dead).status, _run(services, dead).counts) == (
        "abandoned",
        {"purged": 6},
    )
    assert _run(services, alive).status == "running"
    [entry] = _audit(services, "job.abandoned")
    assert (entry.object_id, entry.actor) == (dead, "test:status")

    second = CliRunner().invoke(cli, ["status"], env=env)
    assert "was abandoned" not in second.output
    assert "latest sweep" in second.output
    assert len(_audit(services, "job.abandoned")) == 1
