"""`mugshot serve`: the first command a new user runs (`--demo`), and how it stops."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from retention.db.models import AuditEntry, JobRun, Record
from retention.jobs import lease
from retention.services import Services
from tests.helpers import backend_env, not_private
from tests.integration.engine_helpers import check_invariants, ingest, purge_due


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_demo_creates_everything_and_serves_the_public_and_staff_pages(
    tmp_path: Path,
) -> None:
    port = _free_port()
    env = {**os.environ, "MUGSHOT_DATA_DIR": str(tmp_path / "data")}
    env.pop("MUGSHOT_DATABASE_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from web.cli import main; main()",
            "serve",
            "--demo",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", "/")
                response = conn.getresponse()
                response.read()
                status = response.status
                break
            except OSError:
                assert proc.poll() is None, "serve exited early"
                time.sleep(0.3)
            finally:
                conn.close()
        assert status == 200
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/staff/login")
            login = conn.getresponse()
            assert login.status == 200
            assert b'name="csrf_token"' in login.read()
        finally:
            conn.close()
        accounts = tmp_path / "data" / "demo-accounts.txt"
        assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
        # Everything in the data directory is private, the live SQLite files included.
        data = tmp_path / "data"
        assert {"mugshot.db", "mugshot.db-wal", "mugshot.db-shm"} <= {
            p.name for p in data.iterdir()
        }
        assert not_private(data) == []
        lines = accounts.read_text().splitlines()
        assert [line.split()[0] for line in lines] == [
            "demo-clerk",
            "demo-supervisor",
            "demo-auditor",
            "demo-admin",
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert b"demo set: 200 records imported" in out
    assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
    assert b"mugshot serve stopped" in out


# `mugshot serve` whose sweep blocks inside its second batch until the test says "release": the
# test sends SIGTERM while a batch is in hand, so the sweep must finish that batch and stop.
SERVE_WITH_A_SLOW_SWEEP = """
import pathlib, sys, time
import retention.jobs.sweep as sweep

folder, port = pathlib.Path(sys.argv[1]), sys.argv[2]
real = sweep.purge_records
calls = [0]

def purge_records(*args, **kwargs):
    calls[0] += 1
    (folder / f"batch-{calls[0]}").touch()
    if calls[0] == 2:
        deadline = time.monotonic() + 60
        while not (folder / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    return real(*args, **kwargs)

sweep.purge_records = purge_records
sys.argv = ["mugshot", "serve", "--port", port]
from web.cli import main
main()
"""


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _refused(port: int) -> bool:
    """True once nothing listens on the port any more (serve closed its socket)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def _wait_for(what: str, predicate, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"serve exited early waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_sigterm_during_a_sweep_finishes_the_batch_releases_the_lease_and_exits_0(
    tmp_path: Path, services: Services
) -> None:
    total, batch = 15, 3
    ingest(services, tmp_path, [purge_due(f"S-{n:02d}") for n in range(total)])
    port = _free_port()
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {
        **os.environ,
        **backend_env(services.settings),
        "MUGSHOT_SWEEP_BATCH_SIZE": str(batch),
        # Every record here is due: lift the safety belt (a supervisor would confirm).
        "MUGSHOT_SWEEP_MAX_PURGE_COUNT": "1000",
        "MUGSHOT_ACTOR": "scheduler:serve",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE_WITH_A_SLOW_SWEEP, str(marks), str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for("the sweep's second batch", (marks / "batch-2").exists, proc)
        _wait_for("the web server", lambda: _answers(port), proc)
        proc.send_signal(signal.SIGTERM)
        # The handler has asked the sweep to stop and waitress has closed its socket; the
        # sweep is still inside its batch.
        _wait_for("the web server to close", lambda: _refused(port), proc)
        assert "received signal 15" in log.read_text(errors="replace")
        assert not (marks / "batch-3").exists()
        (marks / "release").touch()
        returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text(errors="replace")
    assert returncode == 0, output[-3000:]
    assert lease.current(services) == (None, None), "the lease was not released on exit"

    with services.readers() as s:
        [run] = s.execute(
            select(JobRun).where(JobRun.kind == "sweep", JobRun.dry_run.is_(False))
        ).scalars()
        purged = s.execute(
            select(func.count()).select_from(Record).where(Record.status == "purged")
        ).scalar_one()
        interrupted = s.execute(
            select(AuditEntry).where(AuditEntry.action == "sweep.interrupted")
        ).scalar_one()
    # It stopped after the batch it had in hand: two batches of three, not the whole backlog.
    assert purged == 2 * batch
    assert run.status == "interrupted"
    assert run.counts["purged"] == purged
    assert run.finished_at is not None
    assert run.heartbeat_at is not None
    assert interrupted.object_id == run.id
    assert interrupted.details["purged"] == purged
    # Every record untouched or fully purged, the purged ones' blobs gone, the chain intact.
    assert check_invariants(services, janitor_ran=True) == {
        "purged": purged,
        "live": total - purged,
    }
