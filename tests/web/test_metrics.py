"""The Prometheus endpoint: refused without its bearer token, and a scrape says what
``mugshot status --json`` says about the same database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from retention.cli.main import cli
from retention.jobs import lease
from retention.services import Services
from tests.helpers import backend_env
from tests.integration.job_helpers import add_bare_record, add_job_run
from tests.integration.test_status import add_bare_request
from web.app import create_app

TOKEN = "t" * 20 + "0123456789abcdefghij"


def _app(services: Services, token: str | None) -> Flask:
    tuned = dataclasses.replace(
        services, settings=services.settings.with_overrides(metrics_token=token)
    )
    return create_app(services=tuned, config={"TESTING": True})


def test_the_endpoint_is_off_without_a_token_and_refuses_unauthenticated_scrapes(
    services: Services,
) -> None:
    assert _app(services, None).test_client().get("/metrics").status_code == 404
    client = _app(services, TOKEN).test_client()
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer "},
    ):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert b"mugshot_" not in refused.data
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def _metrics(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _one(metrics: dict[str, Any], name: str, **labels: str) -> float:
    return float(metrics[name][tuple(sorted(labels.items()))])


def test_a_scrape_matches_mugshot_status_json_on_the_same_database(services: Services) -> None:
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    add_job_run(
        services,
        "sweep",
        started=now - dt.timedelta(minutes=3),
        finished=now - dt.timedelta(minutes=2),
    )
    add_job_run(
        services,
        "sweep",
        started=now - dt.timedelta(hours=3),
        finished=now - dt.timedelta(hours=3),
        status="failed",
    )
    add_job_run(
        services,
        "janitor",
        started=now - dt.timedelta(hours=5),
        finished=now - dt.timedelta(hours=5),
    )
    assert lease.acquire(services, "host:42:abc", now, dt.timedelta(minutes=30))
    add_bare_record(services, next_action="purge", due=today - dt.timedelta(days=3))
    add_bare_record(services, next_action="restrict", due=today)
    add_bare_record(services, status="purged")
    add_bare_record(
        services, status="restricted", next_action="purge", due=today + dt.timedelta(days=9)
    )
    add_bare_record(
        services,
        next_action="review",
        review_due_on=today - dt.timedelta(days=4),
        review_queued_at=now - dt.timedelta(days=4),
    )
    yesterday = today - dt.timedelta(days=1)
    add_bare_request(
        services, state="received", respond_by=yesterday, received=today - dt.timedelta(days=30)
    )
    add_bare_request(
        services, state="under_review", respond_by=today + dt.timedelta(days=3), received=today
    )
    add_bare_request(
        services, state="denied", respond_by=yesterday, received=today - dt.timedelta(days=30)
    )

    env = {**backend_env(services.settings), "MUGSHOT_ACTOR": "test:cli"}
    result = CliRunner().invoke(cli, ["status", "--json"], env=env)
    assert result.exit_code == 1  # overdue work: warnings
    doc = json.loads(result.output)

    scrape = (
        _app(services, TOKEN)
        .test_client()
        .get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    )
    assert scrape.status_code == 200
    assert scrape.headers["Content-Type"].startswith("text/plain; version=")
    m = _metrics(scrape.get_data(as_text=True))

    assert _one(m, "mugshot_healthy") == (1 if doc["healthy"] else 0) == 0
    assert _one(m, "mugshot_warnings") == len(doc["warnings"])
    for action in ("purge", "restrict", "review"):
        assert _one(m, "mugshot_work_due", action=action) == doc["due_now"][action]
        assert _one(m, "mugshot_work_overdue", action=action) == doc["overdue"][action]
    for state, count in doc["records_by_status"].items():
        assert (
            sum(v for labels, v in m["mugshot_records"].items() if ("status", state) in labels)
            == count
        )
    assert (
        _one(m, "mugshot_records_purged_total", jurisdiction="GB-ENG")
        == doc["jurisdictions"]["GB-ENG"]["purged"]
        == 1
    )
    assert _one(m, "mugshot_review_queue", jurisdiction="GB-ENG") == doc["review_queue"] == 1
    assert _one(m, "mugshot_review_queue_overdue") == doc["review_queue_overdue"] == 1
    for state, count in doc["requests_by_state"].items():
        assert _one(m, "mugshot_requests", state=state) == count
        assert (
            _one(m, "mugshot_requests_overdue", state=state)
            == doc["requests_overdue_by_state"][state]
        )
    assert sum(m["mugshot_requests_overdue"].values()) == doc["requests_overdue"] == 1
    assert _one(m, "mugshot_requests_due_this_week") == doc["requests_due_this_week"]
    for kind, by_status in doc["job_runs"].items():
        for outcome, count in by_status.items():
            assert _one(m, "mugshot_job_runs_total", kind=kind, status=outcome) == count
    sweep = dt.datetime.fromisoformat(doc["last_success"]["sweep"]["finished_at"])
    assert _one(m, "mugshot_job_last_success_timestamp_seconds", kind="sweep") == pytest.approx(
        sweep.timestamp()
    )
    assert 60 <= _one(m, "mugshot_job_last_success_age_seconds", kind="sweep") < 600
    assert ("kind", "audit-checkpoint") not in {
        label for labels in m["mugshot_job_last_success_age_seconds"] for label in labels
    }  # never ran: absent, so an alert on absent() fires
    assert _one(m, "mugshot_scheduler_lease_active", holder=doc["lease"]["holder"]) == 1
    assert _one(m, "mugshot_sweep_interval_seconds") == doc["sweep_interval_minutes"] * 60
    assert (
        _one(m, "mugshot_waiting_for_people", what="holds_pending")
        == doc["waiting_for_people"]["holds_pending"]
    )
    assert "SECRET-BOOKING" not in scrape.get_data(as_text=True)
