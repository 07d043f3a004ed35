"""``status`` warns when the purge job has stopped, and reports what is due and overdue."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid

import pytest
from click.testing import CliRunner

from retention.cli.main import cli
from retention.db.models import RecordStatus, RemovalRequest
from retention.errors import ConfigError
from retention.jobs import lease
from retention.jobs.status import status
from retention.services import Services
from retention.settings import Settings
from tests.conftest import FIXED_NOW
from tests.helpers import backend_env
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


# -- overdue reviews and requests are warnings, with thresholds as settings -----------------


def add_bare_request(
    services: Services, *, state: str, respond_by: dt.date | None, received: dt.date
) -> str:
    """A removal-request row with no claims: enough for deadline counts."""
    rid = uuid.uuid4().hex
    with services.sessions() as s, s.begin():
        s.add(
            RemovalRequest(
                id=rid,
                reference_sha256=hashlib.sha256(rid.encode()).hexdigest(),
                kind="erasure",
                jurisdiction="GB-ENG",
                grounds=["acquitted"],
                state=state,
                received_on=received,
                respond_by=respond_by,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return rid


def _healthy_machinery(services: Services) -> None:
    add_run(services, "sweep", NOW - dt.timedelta(minutes=5))
    assert lease.acquire(services, "host:1:abc", NOW, dt.timedelta(seconds=60))


def _overdue_review(services: Services, days: int) -> None:
    add_bare_record(
        services,
        next_action="review",
        review_due_on=NOW.date() - dt.timedelta(days=days),
        review_queued_at=NOW - dt.timedelta(days=days),
    )


@pytest.mark.parametrize(
    ("overdue", "allowed", "warns"),
    [
        pytest.param(0, 0, False, id="none-overdue"),
        pytest.param(1, 0, True, id="one-over-the-default-of-zero"),
        pytest.param(3, 3, False, id="at-the-threshold"),
        pytest.param(4, 3, True, id="one-over-the-threshold"),
    ],
)
def test_overdue_reviews_past_the_threshold_are_a_warning(
    services: Services, overdue: int, allowed: int, warns: bool
) -> None:
    _healthy_machinery(services)
    for _ in range(overdue):
        _overdue_review(services, days=3)
    _overdue_review(services, days=1)  # due yesterday: not yet more than a day overdue
    tuned = dataclasses.replace(
        services, settings=services.settings.with_overrides(status_max_overdue_reviews=allowed)
    )
    report = status(tuned, NOW)
    assert report.review_queue_overdue == overdue
    assert report.healthy is not warns
    review_warnings = [w for w in report.warnings if "disposition reviews" in w]
    assert len(review_warnings) == (1 if warns else 0)
    if warns:
        assert review_warnings[0].startswith(f"{overdue} disposition reviews")
        assert f"more than the {allowed} allowed" in review_warnings[0]
    assert report.to_json()["thresholds"]["max_overdue_reviews"] == allowed


def test_requests_past_their_deadline_are_a_warning_and_counted_by_state(
    services: Services,
) -> None:
    _healthy_machinery(services)
    today = NOW.date()
    week_ago = today - dt.timedelta(days=7)
    yesterday = today - dt.timedelta(days=1)
    add_bare_request(services, state="received", respond_by=yesterday, received=week_ago)
    add_bare_request(services, state="under_review", respond_by=yesterday, received=week_ago)
    add_bare_request(services, state="confirming", respond_by=yesterday, received=week_ago)
    # Not overdue: the clock is paused, the request is answered, or the deadline is today.
    add_bare_request(services, state="needs_info", respond_by=yesterday, received=week_ago)
    add_bare_request(services, state="denied", respond_by=yesterday, received=week_ago)
    add_bare_request(services, state="received", respond_by=today, received=today)
    report = status(services, NOW)
    assert report.requests_overdue == 3
    assert report.requests["overdue"]["confirming"] == 1
    assert report.requests_due_this_week == 1
    assert report.requests["all"]["received"] == 2
    [warning] = [w for w in report.warnings if "removal requests" in w]
    assert warning.startswith("3 removal requests are past their response deadline")
    assert not report.healthy
    doc = report.to_json()
    assert doc["requests_overdue"] == 3
    assert doc["requests_by_state"]["needs_info"] == 1


def test_mugshot_status_exits_1_on_overdue_reviews_and_0_once_the_threshold_allows_them(
    services: Services,
) -> None:
    now = dt.datetime.now(dt.UTC)  # the CLI reads the real clock
    add_job_run(services, "sweep", started=now - dt.timedelta(minutes=2), finished=now, status="ok")
    assert lease.acquire(services, "host:1:abc", now, dt.timedelta(minutes=30))
    add_bare_record(
        services,
        next_action="review",
        review_due_on=now.date() - dt.timedelta(days=5),
        review_queued_at=now - dt.timedelta(days=5),
    )
    env = {**backend_env(services.settings), "MUGSHOT_ACTOR": "test:cli"}
    warned = CliRunner().invoke(cli, ["status"], env=env)
    assert warned.exit_code == 1, warned.output
    assert "WARNING: 1 disposition reviews are more than a day overdue" in warned.output
    env["MUGSHOT_STATUS_MAX_OVERDUE_REVIEWS"] = "1"
    calm = CliRunner().invoke(cli, ["status", "--json"], env=env)
    assert calm.exit_code == 0, calm.output
    doc = json.loads(calm.output)
    assert (doc["healthy"], doc["review_queue_overdue"]) == (True, 1)


def test_a_negative_threshold_is_refused_naming_the_variable() -> None:
    with pytest.raises(
        ConfigError, match="MUGSHOT_STATUS_MAX_OVERDUE_REQUESTS must be zero or more"
    ):
        Settings.from_env({"MUGSHOT_STATUS_MAX_OVERDUE_REQUESTS": "-1"})
    assert (
        Settings.from_env({"MUGSHOT_STATUS_MAX_OVERDUE_REVIEWS": "0"}).status_max_overdue_reviews
        == 0
    )
