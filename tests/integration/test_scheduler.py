"""The scheduler runs every job on time, exactly once, and only in the process holding the lease.

Lease semantics on the configured database (SQLite, or PostgreSQL when
``MUGSHOT_TEST_DATABASE_URL`` is set); the jobs and their options as APScheduler holds them;
catch-up on start; a standby that stays idle; and a killed leader whose standby takes over
within a lease period without two sweeps ever overlapping.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from retention.audit import chain as audit
from retention.db.models import AuditEntry, JobRun, Record, RecordStatus
from retention.jobs import lease
from retention.jobs.scheduler import JOB_IDS, MugshotScheduler, build_scheduler, misfire_grace
from retention.services import Services, open_services
from tests.conftest import FIXED_NOW
from tests.helpers import backend_env
from tests.integration.engine_helpers import check_invariants, ingest, purge_due
from tests.integration.job_helpers import add_bare_record, add_job_run

T0 = FIXED_NOW
TTL = dt.timedelta(seconds=60)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def runs(services: Services, kind: str | None = None) -> list[JobRun]:
    with services.readers() as s:
        stmt = select(JobRun).order_by(JobRun.started_at)
        if kind is not None:
            stmt = stmt.where(JobRun.kind == kind)
        return list(s.execute(stmt).scalars())


def add_run(services: Services, kind: str, started: dt.datetime, status: str = "ok") -> None:
    add_job_run(
        services, kind, started=started, finished=started + dt.timedelta(seconds=1), status=status
    )


@pytest.fixture
def schedulers(services: Services) -> Iterator[Callable[..., MugshotScheduler]]:
    """Build schedulers over ``services``; every one is shut down after the test."""
    built: list[MugshotScheduler] = []

    def make(**kwargs: Any) -> MugshotScheduler:
        sched = build_scheduler(kwargs.pop("services", services), **kwargs)
        built.append(sched)
        return sched

    yield make
    for sched in built:
        sched.shutdown()


# -- lease --------------------------------------------------------------------------------


def test_a_free_lease_is_taken_and_then_refused_to_anyone_else(services: Services) -> None:
    assert lease.current(services) == (None, None)
    assert lease.acquire(services, "host:1:a", T0, TTL)
    assert lease.current(services) == ("host:1:a", T0 + TTL)
    assert not lease.acquire(services, "host:2:b", T0 + dt.timedelta(seconds=59), TTL)
    assert lease.current(services) == ("host:1:a", T0 + TTL)


def test_the_holder_renews_and_reacquires_its_own_lease(services: Services) -> None:
    assert lease.acquire(services, "A", T0, TTL)
    assert lease.renew(services, "A", T0 + dt.timedelta(seconds=30), TTL)
    assert lease.current(services).expires_at == T0 + dt.timedelta(seconds=90)
    # acquire by the holder is a renewal that keeps "since when"
    assert lease.acquire(services, "A", T0 + dt.timedelta(seconds=50), TTL)
    assert lease.current(services).expires_at == T0 + dt.timedelta(seconds=110)
    assert lease.acquired_at(services) == T0
    assert not lease.renew(services, "B", T0 + dt.timedelta(seconds=50), TTL)
    assert lease.current(services).holder == "A"


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_renew(
    services: Services,
) -> None:
    assert lease.acquire(services, "A", T0, TTL)
    assert not lease.acquire(services, "B", T0 + TTL - dt.timedelta(microseconds=1), TTL)
    assert lease.acquire(services, "B", T0 + TTL, TTL)  # expiry is inclusive
    assert lease.current(services) == ("B", T0 + 2 * TTL)
    assert lease.acquired_at(services) == T0 + TTL
    assert not lease.renew(services, "A", T0 + TTL, TTL)
    assert not lease.acquire(services, "A", T0 + TTL, TTL)
    assert lease.current(services).holder == "B"


def test_an_expired_lease_nobody_took_is_still_renewable(services: Services) -> None:
    assert lease.acquire(services, "A", T0, TTL)
    assert lease.renew(services, "A", T0 + 2 * TTL, TTL)
    assert lease.current(services) == ("A", T0 + 3 * TTL)


def test_release_frees_the_lease_only_for_its_holder(services: Services) -> None:
    assert lease.acquire(services, "A", T0, TTL)
    assert not lease.release(services, "B")
    assert lease.current(services).holder == "A"
    assert lease.release(services, "A")
    assert lease.current(services) == (None, None)
    assert lease.acquired_at(services) is None
    assert lease.acquire(services, "B", T0 + dt.timedelta(seconds=1), TTL)


def test_of_many_concurrent_takers_exactly_one_wins(services: Services) -> None:
    barrier = threading.Barrier(6)
    won: list[str] = []

    def take(name: str) -> None:
        barrier.wait()
        if lease.acquire(services, name, T0, TTL):
            won.append(name)

    threads = [threading.Thread(target=take, args=(f"h:{n}:x",)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert lease.current(services).holder == won[0]


def test_holder_ids_name_host_and_process_and_differ_per_call() -> None:
    a, b = lease.make_holder_id(), lease.make_holder_id()
    assert a != b
    host, pid, rand = a.rsplit(":", 2)
    assert host
    assert pid == str(os.getpid())
    assert len(rand) == 8
    assert len(a) <= lease.HOLDER_MAX


# -- scheduler wiring ---------------------------------------------------------------------


def test_jobs_have_fixed_ids_and_the_specified_options(
    services: Services, schedulers: Callable[..., MugshotScheduler]
) -> None:
    sched = schedulers(holder="A")
    assert not sched.scheduler.running  # building starts nothing
    assert str(sched.scheduler.timezone) == "UTC"
    jobs = {job.id: job for job in sched.scheduler.get_jobs()}
    assert (
        set(jobs)
        == set(JOB_IDS)
        == {
            "sweep",
            "janitor",
            "audit-checkpoint",
            "overdue-check",
            "lease-renew",
            "notify",
        }
    )
    expected = {
        "sweep": dt.timedelta(minutes=services.settings.sweep_interval_minutes),
        "janitor": dt.timedelta(days=1),
        "audit-checkpoint": dt.timedelta(days=1),
        "overdue-check": dt.timedelta(days=1),
        "lease-renew": dt.timedelta(seconds=services.settings.scheduler_lease_seconds / 3),
        "notify": dt.timedelta(seconds=services.settings.notify_interval_seconds),
    }
    for job_id, job in jobs.items():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.trigger.interval == expected[job_id]
        assert job.misfire_grace_time == misfire_grace(expected[job_id])
        assert str(job.trigger.timezone) == "UTC"
    # building touched nothing in the database
    assert runs(services) == []
    assert lease.current(services) == (None, None)


def test_building_twice_replaces_rather_than_duplicates_jobs(
    schedulers: Callable[..., MugshotScheduler],
) -> None:
    sched = schedulers(holder="A")
    sched.start()
    sched._add("sweep", lambda: None)  # what replace_existing=True guards against
    assert sorted(job.id for job in sched.scheduler.get_jobs()) == sorted(JOB_IDS)


def test_unknown_job_ids_in_overrides_are_refused(services: Services) -> None:
    with pytest.raises(ValueError, match="unknown job ids"):
        build_scheduler(services, intervals={"purge-everything": dt.timedelta(seconds=1)})


@pytest.mark.parametrize("history", ["never-ran", "ran-long-ago"])
def test_on_start_a_missed_sweep_runs_once(
    services: Services, schedulers: Callable[..., MugshotScheduler], history: str
) -> None:
    if history == "ran-long-ago":
        add_run(services, "sweep", utcnow() - dt.timedelta(hours=3))
    before = len(runs(services, "sweep"))
    sched = schedulers(holder="A")
    sched.start()
    wait_for(lambda: len(runs(services)) >= before + 4, 15, "catch-up runs")
    wait_for(lambda: all(r.finished_at for r in runs(services)), 15, "catch-up to finish")
    time.sleep(0.5)  # nothing more follows
    sweeps = runs(services, "sweep")
    assert len(sweeps) == before + 1
    assert sweeps[-1].status == "ok"
    assert sweeps[-1].actor == services.settings.actor
    for kind in ("janitor", "audit-checkpoint", "overdue-check"):
        assert [r.status for r in runs(services, kind)] == ["ok"], kind
    assert lease.current(services).holder == "A"
    assert sched.is_leader
    next_sweep = sched.scheduler.get_job("sweep").next_run_time
    assert next_sweep - utcnow() > dt.timedelta(minutes=59)
    sched.shutdown()
    assert lease.current(services) == (None, None)  # released for a standby


def test_on_start_recent_runs_are_not_repeated(
    services: Services, schedulers: Callable[..., MugshotScheduler]
) -> None:
    ten_min_ago = utcnow() - dt.timedelta(minutes=10)
    for kind in ("sweep", "janitor", "audit-checkpoint", "overdue-check"):
        add_run(services, kind, ten_min_ago)
    sched = schedulers(holder="A")
    sched.start()
    wait_for(lambda: sched.is_leader, 10, "leadership")
    time.sleep(0.5)
    assert len(runs(services)) == 4  # only the seeded ones
    # the sweep's cadence continues from its last run, not from this process's start
    due = sched.scheduler.get_job("sweep").next_run_time
    expected = ten_min_ago + dt.timedelta(minutes=60)
    assert abs(due - expected) < dt.timedelta(seconds=5)
    assert sched.scheduler.get_job("janitor").next_run_time - utcnow() > dt.timedelta(hours=23)


def test_a_standby_runs_nothing_while_another_holds_the_lease_then_takes_over(
    services: Services, schedulers: Callable[..., MugshotScheduler]
) -> None:
    assert lease.acquire(services, "other", utcnow(), TTL)
    standby = schedulers(
        holder="standby",
        intervals={"sweep": dt.timedelta(seconds=0.3), "lease-renew": dt.timedelta(seconds=0.2)},
    )
    standby.start()
    time.sleep(1.5)  # several polls and several sweep triggers
    assert runs(services) == []
    assert not standby.is_leader
    assert lease.current(services).holder == "other"
    assert lease.release(services, "other")
    wait_for(lambda: len(runs(services, "sweep")) >= 2, 10, "the standby's sweeps")
    assert lease.current(services).holder == "standby"


def test_a_job_that_fires_after_the_lease_was_stolen_does_nothing(
    services: Services, schedulers: Callable[..., MugshotScheduler]
) -> None:
    clock_now = [T0]
    sched = schedulers(holder="A", clock=lambda: clock_now[0])
    assert sched.tick()  # leader (the catch-up only plans: the scheduler is not running)
    clock_now[0] = T0 + 2 * TTL  # A hung past its lease…
    assert lease.acquire(services, "B", clock_now[0], TTL)  # …and B took over
    sched.scheduler.get_job("sweep").func()
    assert runs(services) == []
    assert not sched.is_leader


def _leader(schedulers: Callable[..., MugshotScheduler], **kwargs: Any) -> MugshotScheduler:
    sched = schedulers(holder="A", clock=lambda: T0, **kwargs)
    assert sched.tick()
    return sched


def test_a_sweep_stopped_by_the_safety_belt_is_logged_and_left_blocked(
    services: Services,
    schedulers: Callable[..., MugshotScheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    strict = open_services(services.settings.with_overrides(sweep_max_purge_count=1))
    sched: MugshotScheduler | None = None
    try:
        ids = [
            add_bare_record(services, next_action="purge", due=T0.date() - dt.timedelta(days=1))
            for _ in range(3)
        ]
        sched = _leader(schedulers, services=strict)
        with caplog.at_level(logging.INFO, logger="mugshot.scheduler"):
            sched.scheduler.get_job("sweep").func()
        [run] = runs(services, "sweep")
        assert run.status == "blocked"
        assert run.finished_at is not None
        assert run.counts["due_purges"] == 3
        with services.readers() as s:
            statuses = s.execute(select(Record.status).where(Record.id.in_(ids))).scalars()
            assert set(statuses) == {"active"}  # it did nothing
        warning = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warning) == 1
        assert "safety belt" in warning[0].getMessage()
        assert run.id in warning[0].getMessage()
        assert "SECRET-BOOKING" not in caplog.text
    finally:
        if sched is not None:
            sched.shutdown()  # before its services close: shutdown releases the lease
        strict.close()


def test_the_overdue_check_counts_work_the_sweep_should_have_done(
    services: Services,
    schedulers: Callable[..., MugshotScheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    today = T0.date()
    add_bare_record(services, next_action="purge", due=today - dt.timedelta(days=3))
    add_bare_record(services, next_action="restrict", due=today - dt.timedelta(days=2))
    add_bare_record(services, next_action="purge", due=today - dt.timedelta(days=1))  # grace day
    add_bare_record(services, next_action="purge", due=today)
    add_bare_record(
        services,
        next_action="purge",
        due=today - dt.timedelta(days=9),
        status=RecordStatus.PURGED.value,
    )
    add_bare_record(
        services,
        next_action="review",
        due=None,
        review_due_on=today - dt.timedelta(days=5),
        review_queued_at=T0 - dt.timedelta(days=5),
    )

    def removal_requests(_session: Any, _today: dt.date) -> dict[str, int]:
        return {"removal_request_overdue": 2}

    sched = _leader(schedulers)
    other = schedulers(holder="A", clock=lambda: T0, overdue_checks=[removal_requests])
    assert other.tick()  # same holder id: it renews the same lease
    with caplog.at_level(logging.INFO, logger="mugshot.scheduler"):
        sched.scheduler.get_job("overdue-check").func()
        other.scheduler.get_job("overdue-check").func()  # same holder, so it holds the lease
    first, second = runs(services, "overdue-check")
    assert first.status == "ok"
    assert first.counts == {
        "purge_overdue": 1,
        "restrict_overdue": 1,
        "review_overdue": 0,
        "review_queue": 1,
        "review_queue_overdue": 1,
        "requests_overdue": 0,
        "requests_due_this_week": 0,
    }
    assert second.counts == {"removal_request_overdue": 2}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "purge_overdue=1" in warnings[0]
    assert "restrict_overdue=1" in warnings[0]
    assert "SECRET-BOOKING" not in caplog.text


def test_the_audit_checkpoint_job_writes_a_private_signed_checkpoint(
    services: Services, schedulers: Callable[..., MugshotScheduler]
) -> None:
    with services.sessions() as s, s.begin():
        for n in range(3):
            audit.append(s, now=T0, actor="test", action="test.event", details={"n": n})
    sched = _leader(schedulers)
    sched.scheduler.get_job("audit-checkpoint").func()
    path = services.settings.data_dir / "checkpoints" / "audit-3.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    with services.readers() as s:
        assert audit.verify_checkpoint(s, doc, services.keyring.signing_public_key_pem()) is None
    [run] = runs(services, "audit-checkpoint")
    assert (run.status, run.counts) == ("ok", {"seq": 3, "written": 1})
    # a second run with no new entries keeps the first file as it was
    before = path.read_bytes()
    sched.scheduler.get_job("audit-checkpoint").func()
    assert path.read_bytes() == before
    assert [r.counts["written"] for r in runs(services, "audit-checkpoint")] == [1, 0]


# -- failover across processes ------------------------------------------------------------

SCRIPT = """
import datetime as dt, logging, sys
from retention.jobs.scheduler import build_scheduler
from retention.services import open_services
from retention.settings import Settings

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
services = open_services(Settings.from_env())
build_scheduler(
    services, holder=sys.argv[1], intervals={"sweep": dt.timedelta(seconds=float(sys.argv[2]))}
).run_forever()
services.close()
"""
LEASE_SECONDS = 2
SWEEP_SECONDS = 0.5


def _spawn(services: Services, name: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **backend_env(services.settings),
        "MUGSHOT_SCHEDULER_LEASE_SECONDS": str(LEASE_SECONDS),
        "MUGSHOT_ACTOR": f"scheduler:{name}",
    }
    with log.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-c", SCRIPT, name, str(SWEEP_SECONDS)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


@pytest.mark.slow
def test_a_killed_leader_is_replaced_within_a_lease_period_without_overlapping_sweeps(
    services: Services, tmp_path: Path
) -> None:
    ttl = dt.timedelta(seconds=LEASE_SECONDS)
    a = _spawn(services, "A", tmp_path / "a.log")
    b: subprocess.Popen[bytes] | None = None
    try:

        def finished_sweeps(actor: str) -> int:
            return sum(1 for r in runs(services, "sweep") if r.actor == actor and r.finished_at)

        wait_for(lambda: finished_sweeps("scheduler:A") >= 3, 20, "A's sweeps")
        assert lease.current(services).holder == "A"

        b = _spawn(services, "B", tmp_path / "b.log")
        wait_for(lambda: b"starting" in (tmp_path / "b.log").read_bytes(), 20, "B to start")
        time.sleep(1.5)  # a couple of B's polls while A is alive
        assert [r for r in runs(services) if r.actor == "scheduler:B"] == []
        assert lease.current(services).holder == "A"

        a.send_signal(signal.SIGKILL)
        killed_at, killed_mono = utcnow(), time.monotonic()
        a.wait(timeout=10)
        last_expiry: list[dt.datetime | None] = [None]

        def b_leads() -> bool:
            held = lease.current(services)
            if held.holder == "A":
                last_expiry[0] = held.expires_at
            return held.holder == "B"

        wait_for(b_leads, 3 * LEASE_SECONDS, "B to take over")
        took_over = time.monotonic() - killed_mono
        # A's lease ran out at most one lease period after its last renewal before the kill;
        # B polls every third of a lease period (plus slack for a loaded test machine).
        assert took_over <= LEASE_SECONDS + LEASE_SECONDS / 3 + 1.0, took_over
        expiry = last_expiry[0] or killed_at + ttl
        assert expiry <= killed_at + ttl + dt.timedelta(seconds=0.5)

        wait_for(lambda: finished_sweeps("scheduler:B") >= 2, 15, "B's sweeps")
        b.send_signal(signal.SIGTERM)
        assert b.wait(timeout=15) == 0
        assert lease.current(services) == (None, None)  # B released it on SIGTERM
    finally:
        for proc in (a, b):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()

    sweeps = runs(services, "sweep")
    by_a = [r for r in sweeps if r.actor == "scheduler:A"]
    by_b = [r for r in sweeps if r.actor == "scheduler:B"]
    assert len(by_a) + len(by_b) == len(sweeps)
    assert all(r.started_at < killed_at for r in by_a)
    assert all(r.started_at > killed_at for r in by_b)  # B ran nothing while A was alive
    assert all(r.started_at > killed_at for r in runs(services) if r.actor == "scheduler:B")
    assert all(r.status == "ok" and r.finished_at for r in by_b)  # SIGTERM let it finish
    assert sum(1 for r in by_a if r.finished_at is None) <= 1  # at most the one killed
    # No two sweeps overlap: each ends before the next starts (a killed one "ends" at the kill).
    spans = sorted((r.started_at, r.finished_at or killed_at) for r in sweeps)
    for (start1, end1), (start2, _) in itertools.pairwise(spans):
        assert start1 <= end1 <= start2, (start1, end1, start2)


# -- a leader killed mid-sweep: its run is abandoned, not left "running" ------------------

KILLED_MID_SWEEP = """
import logging, os, signal, sys
import retention.jobs.sweep as sweep
from retention.jobs.scheduler import build_scheduler
from retention.services import open_services
from retention.settings import Settings

real = sweep.purge_records
calls = [0]

def purge_records(*args, **kwargs):
    calls[0] += 1
    if calls[0] == 3:  # inside the third batch, before it commits
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)

sweep.purge_records = purge_records
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
services = open_services(Settings.from_env())
build_scheduler(services, holder="A").run_forever()
"""


def abandoned_entries(services: Services, job_id: str) -> list[AuditEntry]:
    with services.readers() as s:
        stmt = select(AuditEntry).where(
            AuditEntry.action == "job.abandoned", AuditEntry.object_id == job_id
        )
        return list(s.execute(stmt).scalars())


@pytest.mark.slow
def test_a_leader_killed_mid_sweep_leaves_a_run_the_next_leader_marks_abandoned(
    services: Services, schedulers: Callable[..., MugshotScheduler], tmp_path: Path
) -> None:
    ingest(services, tmp_path, [purge_due(f"A-{n:02d}") for n in range(12)])
    env = {
        **os.environ,
        **backend_env(services.settings),
        "MUGSHOT_SWEEP_BATCH_SIZE": "3",
        "MUGSHOT_SWEEP_MAX_PURGE_COUNT": "1000",
        "MUGSHOT_ACTOR": "scheduler:A",
    }
    log = tmp_path / "a.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_MID_SWEEP], env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    try:
        assert proc.wait(timeout=60) == -signal.SIGKILL, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    def sweep_run() -> JobRun:
        [run] = [r for r in runs(services, "sweep") if r.actor == "scheduler:A"]
        return run

    def purged() -> int:
        with services.readers() as s:
            rows = s.execute(select(Record.status)).scalars()
            return sum(1 for status in rows if status == RecordStatus.PURGED.value)

    dead = sweep_run()
    assert dead.status == "running"  # nobody could say otherwise: the process is gone
    assert dead.counts["purged"] == purged() == 6  # two batches committed, the third not
    assert dead.heartbeat_at is not None
    check_invariants(services)  # every record untouched or fully purged

    # A standby that takes the lease soon after A's expiry: A's last heartbeat is not yet
    # stale (twice the lease), so the run is left alone.
    soon = schedulers(holder="B", clock=lambda: utcnow() + TTL + dt.timedelta(seconds=30))
    assert soon.tick()
    assert sweep_run().status == "running"

    # Once it is stale the leader marks it abandoned, with the counts of its last heartbeat.
    later = schedulers(holder="B", clock=lambda: utcnow() + dt.timedelta(minutes=10))
    assert later.tick()
    run = sweep_run()
    assert run.status == "abandoned"
    assert run.counts["purged"] == purged() == 6
    assert run.finished_at == dead.heartbeat_at
    assert any("abandoned" in e for e in run.errors)
    assert [r for r in runs(services) if r.status == "running"] == []
    [entry] = abandoned_entries(services, run.id)
    assert entry.details["counts"]["purged"] == 6
    assert later.tick()  # renewing marks nothing twice
    assert len(abandoned_entries(services, run.id)) == 1
    assert check_invariants(services)["purged"] == 6
