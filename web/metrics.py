"""Prometheus metrics for the machines that watch the purge jobs: ``GET /metrics``.

Layer: ``web`` (a blueprint of its own). Never public: the endpoint answers 404 unless
``MUGSHOT_METRICS_TOKEN`` is set, and 401 to any request without ``Authorization: Bearer
<that token>`` (compared in constant time). Prometheus sends it with ``authorization:
credentials_file`` in its scrape config.

Every value is read from the database at scrape time through ``retention.jobs.status.status`` —
the report ``mugshot status --json`` prints — by a custom collector on a registry built per
scrape. Nothing is kept in process memory, so any number of gunicorn workers answer the same
figures (no multiprocess directory to share), and a scrape and ``mugshot status`` on the same
database cannot disagree. Counts and ids only: no personal data in any label.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator

from flask import Blueprint, Response, abort, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from retention.jobs.status import ACTING, JOB_KINDS, StatusReport, status
from web.services import get_services, now

bp = Blueprint("metrics", __name__)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _authorised(expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return False
    return hmac.compare_digest(_digest(presented.strip()), _digest(expected))


class StatusCollector(Collector):
    """The metric families of one ``StatusReport`` (built at scrape time)."""

    def __init__(self, report: StatusReport) -> None:
        self.report = report

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """Yield every family (see the README's Metrics table)."""
        r = self.report
        healthy = GaugeMetricFamily(
            "mugshot_healthy", "1 when mugshot status has no warning (it exits 0), else 0"
        )
        healthy.add_metric([], 1 if r.healthy else 0)
        yield healthy
        warnings = GaugeMetricFamily("mugshot_warnings", "Warnings mugshot status reports now")
        warnings.add_metric([], len(r.warnings))
        yield warnings

        runs = CounterMetricFamily(
            "mugshot_job_runs",
            "Job runs ever recorded, by job and outcome",
            labels=["kind", "status"],
        )
        for kind, by_status in r.job_runs.items():
            for outcome, count in sorted(by_status.items()):
                runs.add_metric([kind, outcome], count)
        yield runs
        stamp = GaugeMetricFamily(
            "mugshot_job_last_success_timestamp_seconds",
            "When the last successful (not dry) run of each job finished, Unix time",
            labels=["kind"],
        )
        age = GaugeMetricFamily(
            "mugshot_job_last_success_age_seconds",
            "Seconds since the last successful run of each job finished (absent: never)",
            labels=["kind"],
        )
        for kind in JOB_KINDS:
            run = r.last_success.get(kind)
            if run is not None:
                stamp.add_metric([kind], run.ended.timestamp())
                age.add_metric([kind], (r.now - run.ended).total_seconds())
        yield stamp
        yield age
        interval = GaugeMetricFamily(
            "mugshot_sweep_interval_seconds", "The configured sweep interval"
        )
        interval.add_metric([], r.sweep_interval.total_seconds())
        yield interval

        lease = GaugeMetricFamily(
            "mugshot_scheduler_lease_active",
            "1 while a scheduler process holds a live lease (holder: its host:pid:id)",
            labels=["holder"],
        )
        lease.add_metric([r.lease.holder or ""], 1 if r.lease.active else 0)
        yield lease

        records = GaugeMetricFamily(
            "mugshot_records",
            "Records by jurisdiction and status",
            labels=["jurisdiction", "status"],
        )
        purged = CounterMetricFamily(
            "mugshot_records_purged",
            "Records purged (tombstones), by jurisdiction",
            labels=["jurisdiction"],
        )
        restricted = GaugeMetricFamily(
            "mugshot_records_restricted",
            "Records restricted now, by jurisdiction",
            labels=["jurisdiction"],
        )
        reviewed = CounterMetricFamily(
            "mugshot_reviews_decided",
            "Disposition-review decisions taken, by jurisdiction",
            labels=["jurisdiction"],
        )
        queue = GaugeMetricFamily(
            "mugshot_review_queue",
            "Records waiting for a disposition review, by jurisdiction",
            labels=["jurisdiction"],
        )
        for jurisdiction, row in r.jurisdictions.items():
            for state in ("active", "restricted", "purged"):
                records.add_metric([jurisdiction, state], row[state])
            purged.add_metric([jurisdiction], row["purged"])
            restricted.add_metric([jurisdiction], row["restricted"])
            reviewed.add_metric([jurisdiction], row["reviewed"])
            queue.add_metric([jurisdiction], row["review_queue"])
        yield from (records, purged, restricted, reviewed, queue)
        queue_overdue = GaugeMetricFamily(
            "mugshot_review_queue_overdue", "Queued reviews due more than a day ago"
        )
        queue_overdue.add_metric([], r.review_queue_overdue)
        yield queue_overdue

        due = GaugeMetricFamily(
            "mugshot_work_due",
            "Purges, restrictions and reviews due today or earlier",
            labels=["action"],
        )
        overdue = GaugeMetricFamily(
            "mugshot_work_overdue",
            "Due actions the sweep has left for more than a day",
            labels=["action"],
        )
        for action in ACTING:
            due.add_metric([action], r.due_now.get(action, 0))
            overdue.add_metric([action], r.overdue.get(action, 0))
        yield due
        yield overdue

        requests = GaugeMetricFamily(
            "mugshot_requests", "Removal requests by state", labels=["state"]
        )
        late = GaugeMetricFamily(
            "mugshot_requests_overdue",
            "Removal requests past their response deadline while their clock runs, by state",
            labels=["state"],
        )
        for state, count in r.requests.get("all", {}).items():
            requests.add_metric([state], count)
            late.add_metric([state], r.requests.get("overdue", {}).get(state, 0))
        yield requests
        yield late
        soon = GaugeMetricFamily(
            "mugshot_requests_due_this_week", "Removal requests due within a week"
        )
        soon.add_metric([], r.requests_due_this_week)
        yield soon

        waiting = GaugeMetricFamily(
            "mugshot_waiting_for_people",
            "Holds waiting for approval and decisions waiting for a second person",
            labels=["what"],
        )
        for what in ("holds_pending", "second_person_reviews", "second_person_requests"):
            waiting.add_metric([what], r.waiting.get(what, 0))
        yield waiting


@bp.get("/metrics")
def scrape() -> Response:
    """The metrics in Prometheus text format, for a scraper presenting the bearer token."""
    services = get_services()
    expected = services.settings.metrics_token
    if not expected:
        abort(404)
    if not _authorised(expected):
        return Response(
            "a bearer token is required\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="mugshot-metrics"'},
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(status(services, now().astimezone(dt.UTC))))
    response = Response(generate_latest(registry), headers={"Cache-Control": "no-store"})
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response
