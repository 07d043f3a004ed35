"""``status`` warns when the purge job has stopped, and reports what is due and overdue."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from retention.db.models import RecordStatus
from retention.jobs import lease
from retention.jobs.status import status
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.integration.job_helpers import add_bare_record, add_job_run

NOW = FIXED_NOW
HOUR = dt.timedelta(hours=1)


def add_run(
    services: Services,
    kind: str,
    finished: dt.datetime,
    *,
    status: str = "ok",
    dry_run: bool = False,
    counts: dict[str, int] | None = None,
) -> str:
    """A finished run that took thirty seconds."""
    started = finished - dt.timedelta(seconds=30)
    return add_job_run(
        services,
        kind,
        started=started,
        finished=finished,
        status=status,
        dry_run=dry_run,
        counts=counts,
    )


def test_status_warns_when_no_sweep_ever_succeeded(services: Services) -> None:
    report = status(services, NOW)
    assert report.last_sweep is None
    assert report.sweep_warning is not None
    assert "compliance failure" in report.sweep_warning
    assert not report.healthy
    assert report.lines()[0].startswith("WARNING: no sweep has ever succeeded")
    assert "last successful sweep: never" in report.lines()


@pytest.mark.parametrize(
    ("age", "stale"),
    [
        pytest.param(dt.timedelta(minutes=30), False, id="fresh"),
        pytest.param(2 * HOUR, False, id="exactly-twice-the-interval"),
        pytest.param(2 * HOUR + dt.timedelta(seconds=1), True, id="just-over-twice"),
        pytest.param(26 * HOUR, True, id="a-day-old"),
    ],
)
def test_status_warns_when_the_last_sweep_is_older_than_twice_the_interval(
    services: Services, age: dt.timedelta, stale: bool
) -> None:
    assert services.settings.sweep_interval_minutes == 60
    add_run(services, "sweep", NOW - age, counts={"purged": 2, "restricted": 1})
    report = status(services, NOW)
    assert report.last_sweep is not None
    assert report.last_sweep.counts == {"purged": 2, "restricted": 1}
    assert (report.sweep_warning is not None) is stale
    if stale:
        assert "twice the 60-minute sweep interval" in (report.sweep_warning or "")


def test_a_fresh_sweep_and_a_live_lease_give_a_clean_report(services: Services) -> None:
    add_run(services, "sweep", NOW - dt.timedelta(minutes=5), counts={"purged": 4})
    add_run(services, "janitor", NOW - 3 * HOUR)
    add_run(services, "audit-checkpoint", NOW - 2 * HOUR)
    assert lease.acquire(services, "host:1:abc", NOW, dt.timedelta(seconds=60))
    report = status(services, NOW)
    assert report.warnings == []
    assert report.healthy
    lines = report.lines()
    assert not any(line.startswith("WARNING") for line in lines)
    assert any(line.startswith("last successful sweep:") and "purged=4" in line for line in lines)
    assert "scheduler lease: held by host:1:abc until 2026-11-20T12:01:00+00:00" in lines
    assert report.last_success["janitor"] is not None
    assert report.last_success["overdue-check"] is None
    assert "last overdue check: never" in lines


def test_blocked_failed_and_dry_runs_are_not_successes(services: Services) -> None:
    good = add_run(services, "sweep", NOW - 5 * HOUR)
    add_run(services, "sweep", NOW - 2 * HOUR, status="failed")
    add_run(services, "sweep", NOW - dt.timedelta(minutes=3), dry_run=True)
    blocked = add_run(services, "sweep", NOW - dt.timedelta(minutes=10), status="blocked")
    report = status(services, NOW)
    assert report.last_sweep is not None
    assert report.last_sweep.job_id == good
    assert report.sweep_warning is not None
    assert report.latest_sweep is not None
    assert report.latest_sweep.job_id == blocked
    assert any(line.startswith("latest sweep:") and "blocked" in line for line in report.lines())


def test_status_warns_about_an_expired_or_missing_lease(services: Services) -> None:
    add_run(services, "sweep", NOW - dt.timedelta(minutes=5))
    assert status(services, NOW).lease.holder is None
    assert any("lease" in w for w in status(services, NOW).warnings)
    assert lease.acquire(services, "gone:1:x", NOW - HOUR, dt.timedelta(seconds=60))
    report = status(services, NOW)
    assert (report.lease.holder, report.lease.active) == ("gone:1:x", False)
    assert any("lease" in w for w in report.warnings)
    assert any("expired" in line for line in report.lines())


def test_status_counts_records_due_overdue_and_queued(services: Services) -> None:
    today = NOW.date()
    add_run(services, "sweep", NOW - dt.timedelta(minutes=5))
    add_bare_record(services, next_action="purge", due=today)
    add_bare_record(services, next_action="purge", due=today - dt.timedelta(days=4))
    add_bare_record(services, next_action="restrict", due=today - dt.timedelta(days=1))
    add_bare_record(services, next_action="purge", due=today + dt.timedelta(days=1))
    add_bare_record(services, next_action="retain", due=None)
    add_bare_record(services, status=RecordStatus.RESTRICTED.value, next_action="purge", due=None)
    add_bare_record(services, status=RecordStatus.PURGED.value, next_action="purge", due=today)
    add_bare_record(
        services,
        next_action="review",
        review_due_on=today - dt.timedelta(days=3),
        review_queued_at=NOW - dt.timedelta(days=3),
    )
    add_bare_record(
        services,
        next_action="review",
        review_due_on=today,
        review_queued_at=NOW - dt.timedelta(hours=1),
    )
    report = status(services, NOW)
    assert report.records_by_status == {"active": 7, "restricted": 1, "purged": 1}
    assert report.due_now == {"purge": 2, "restrict": 1, "review": 0}
    assert report.overdue == {"purge": 1, "restrict": 0, "review": 0}
    assert (report.review_queue, report.review_queue_overdue) == (2, 1)
    assert any("more than a day overdue" in w and "purge=1" in w for w in report.warnings)
    text = "\n".join(report.lines())
    assert "records: active=7 purged=1 restricted=1" in text
    assert "review queue: 2 (1 due over a day ago)" in text
    doc = json.loads(json.dumps(report.to_json()))
    assert doc["due_now"]["purge"] == 2
    assert doc["last_successful_sweep"]["status"] == "ok"
    assert "SECRET-BOOKING" not in text + json.dumps(doc)
