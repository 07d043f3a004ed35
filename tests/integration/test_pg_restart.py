"""PostgreSQL restarts in the middle of a sweep: the run fails cleanly, the next one finishes.

Runs on PostgreSQL only when ``MUGSHOT_TEST_PG_RESTART=1`` (CI sets it), and then it must be
able to restart the server (``pg_ctlcluster``, as root): a restart cuts every other session, so
it never happens by surprise in a developer's run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from retention.db.models import JobRun
from retention.jobs.sweep import run_sweep
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import clock_at
from tests.integration.engine_helpers import TODAY, check_invariants, ingest, purge_due
from tests.integration.job_helpers import purged_count
from tests.integration.test_sweep_processes import _env, _exactly_once

PAUSING_SWEEP = """
import datetime as dt, pathlib, sys, time
from retention.settings import Settings
from retention.services import open_services
from retention.jobs.sweep import run_sweep

flag = pathlib.Path(sys.argv[1])

def hook(name, number):
    if name == "before_commit" and number == 2:
        flag.touch()  # batch 2 is open and uncommitted: the test restarts the server now
        time.sleep(8)

svc = open_services(Settings.from_env())
now = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
run_sweep(svc, today=now.date(), clock=lambda: now, actor="sweeper", hook=hook)
"""


def _restart_command() -> list[str] | None:
    tool = shutil.which("pg_ctlcluster")
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if tool is None or not versions or os.geteuid() != 0:
        return None
    return [tool, "--skip-systemctl-redirect", versions[-1], "main", "restart", "-m", "fast"]


@pytest.mark.slow
def test_a_postgresql_restart_mid_sweep_fails_the_run_cleanly_and_the_next_run_finishes(
    tmp_path: Path, services: Services, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("PostgreSQL only (SQLite has no server to restart)")
    if os.environ.get("MUGSHOT_TEST_PG_RESTART") != "1":
        # Restarting the server breaks every other connection to it (a developer's parallel
        # runs, other databases): only where it is asked for, as CI does.
        pytest.skip("restarts PostgreSQL: set MUGSHOT_TEST_PG_RESTART=1 to run it")
    command = _restart_command()
    if command is None:
        pytest.fail("MUGSHOT_TEST_PG_RESTART=1 but pg_ctlcluster cannot be run here")
    ingest(services, tmp_path, [purge_due(f"R-{n:02d}") for n in range(15)])
    flag = tmp_path / "in-batch-2"
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSING_SWEEP, str(flag)],
        env=_env(services),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert proc.poll() is None, "the sweep ended before batch 2"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    subprocess.run(command, check=True, capture_output=True)
    assert proc.wait(timeout=60) != 0  # the open batch could not commit: the run failed
    if proc.returncode == -signal.SIGKILL:  # pragma: no cover - not expected
        pytest.fail("the sweep was killed, not failed")

    services.engine.dispose()  # connections of the old server are gone
    assert purged_count(services) == 3  # batch 1 committed; batch 2 rolled back
    check_invariants(services)
    with services.readers() as db:
        statuses = [s for (s,) in db.execute(select(JobRun.status))]
    assert "ok" not in statuses

    run_sweep(services, today=TODAY, clock=clock_at(FIXED_NOW), actor="test:rerun")
    assert check_invariants(services, janitor_ran=True) == {"purged": 15, "live": 0}
    _exactly_once(services, 15)
