"""Sweeps killed mid-flight and sweeps racing each other: nothing half-done, nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from retention.db.models import AuditEntry, Certificate, Record
from retention.jobs.janitor import run_janitor
from retention.jobs.sweep import run_sweep
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import backend_env, clock_at
from tests.integration.engine_helpers import TODAY, check_invariants, ingest, purge_due
from tests.integration.job_helpers import purged_count

SCRIPT = """
import datetime as dt, os, signal, sys, time, pathlib
from retention.settings import Settings
from retention.services import open_services
from retention.jobs.sweep import run_sweep

point, batch = sys.argv[1], int(sys.argv[2])
go = pathlib.Path(sys.argv[3]) if len(sys.argv) > 3 else None

def hook(name, number):
    if name == point and number == batch:
        os.kill(os.getpid(), signal.SIGKILL)

svc = open_services(Settings.from_env())
if go is not None:
    (go.parent / f"ready-{os.getpid()}").touch()
    while not go.exists():
        time.sleep(0.002)
now = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
run_sweep(svc, today=now.date(), clock=lambda: now, actor=f"sweeper-{os.getpid()}",
          hook=hook if point != "none" else None)
svc.close()
"""


def _env(services: Services) -> dict[str, str]:
    return {
        **os.environ,
        **backend_env(services.settings),
        "MUGSHOT_SWEEP_BATCH_SIZE": "3",
        # Every record here is due: lift the safety belt (a supervisor would confirm).
        "MUGSHOT_SWEEP_MAX_PURGE_COUNT": "1000",
    }


def _exactly_once(services: Services, expected: int) -> None:
    with services.readers() as s:
        certs = Counter(r for (r,) in s.execute(select(Certificate.record_id)))
        purges = Counter(
            o
            for (o,) in s.execute(
                select(AuditEntry.object_id).where(AuditEntry.action == "record.purged")
            )
        )
    assert len(certs) == expected
    assert set(certs.values()) == {1}
    assert len(purges) == expected
    assert set(purges.values()) == {1}
    assert set(certs) == set(purges)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "purged_after_kill", "leftover_blobs"),
    [("before_commit", 3, False), ("after_commit", 6, True), ("between_batches", 6, False)],
)
def test_a_sweep_killed_at_any_point_leaves_records_untouched_or_fully_purged(
    tmp_path: Path,
    services: Services,
    point: str,
    purged_after_kill: int,
    leftover_blobs: bool,
) -> None:
    ids = ingest(services, tmp_path, [purge_due(f"K-{n:02d}") for n in range(12)])
    proc = subprocess.run([sys.executable, "-c", SCRIPT, point, "2"], env=_env(services))
    assert proc.returncode == -signal.SIGKILL
    assert purged_count(services) == purged_after_kill
    check_invariants(services)  # keys gone ⇔ purged; live records open; chain verifies
    with services.readers() as s:
        blob_of_purged = [
            i
            for rid in ids.values()
            if (rec := s.get(Record, rid)) is not None and rec.status == "purged"
            for i in rec.images
            if services.store.exists(i.id)
        ]
    assert bool(blob_of_purged) is leftover_blobs

    clock = clock_at(FIXED_NOW)
    run_sweep(services, today=TODAY, clock=clock, actor="test:rerun")
    run_janitor(services, clock=clock, actor="test:janitor")
    assert check_invariants(services, janitor_ran=True) == {"purged": 12, "live": 0}
    _exactly_once(services, 12)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [2, 4])
def test_parallel_sweeps_purge_each_due_record_exactly_once(
    tmp_path: Path, services: Services, workers: int
) -> None:
    total = 20 * workers
    ingest(services, tmp_path, [purge_due(f"C-{n:02d}") for n in range(total)])
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", SCRIPT, "none", "0", str(go)], env=_env(services))
        for _ in range(workers)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < workers:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    go.touch()
    for p in procs:
        assert p.wait(timeout=120) == 0
    assert check_invariants(services, janitor_ran=True) == {"purged": total, "live": 0}
    _exactly_once(services, total)
    with services.readers() as s:
        actors = Counter(
            a
            for (a,) in s.execute(
                select(AuditEntry.actor).where(AuditEntry.action == "record.purged")
            )
        )
    assert sum(actors.values()) == total
