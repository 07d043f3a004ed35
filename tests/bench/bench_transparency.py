"""Transparency report (and status/metrics) latency on PostgreSQL at 1,000,000 records and 50,000
removal requests.

    python tests/bench/bench_transparency.py --database-url postgresql+psycopg://…/DB \
        [--records 1000000] [--requests 50000] [--runs 60]

Fills a fresh, migrated database server-side (``INSERT … SELECT … FROM generate_series``), three
years of history: every record has its ``record.ingested`` audit entry; 30 % are purged (by their
rule, a removal request or a review, each a ``record.purged`` entry), 10 % restricted, 5 % decided
by a review; requests arrive over three years and most are granted or refused (a
``request.approved``/``request.denied`` entry each); 5,000 holds. Then ``ANALYZE`` and, for
``--runs`` reports over the last 24 complete months (round robin), times the first report of
each month (which counts the month's events and keeps its frozen figures), then
``transparency.month_report`` alone and the whole ``GET /transparency`` page (Flask test
client, template rendered), printing p50, p95 and max. Also times one ``status()`` (what a metrics
scrape and the dashboard run). Not collected by pytest. Drops and recreates the ``public``
schema of the database it is given: point it at a scratch database.
"""

# The bulk load is SQL built from this script's own integers and constants (no outside input).
# ruff: noqa: S608

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common import NOW, reset_database

from retention.db.schema import upgrade
from retention.db.sessions import make_engine
from retention.engine import transparency
from retention.jobs.status import status
from retention.keys.keyring import Keyring
from retention.services import open_services
from retention.settings import Settings
from web.app import create_app

JURISDICTIONS = "ARRAY['GB-ENG','US-CA','US-IL','US-TX','EU']"
RULES = (
    "ARRAY['pc851-8-destroy','unconvicted-adult','bipa-15a-destroy','cubi-destroy','art17-erasure']"
)
DAYS = 3 * 365  # history


def _fill(url: str, records: int, requests: int) -> float:
    """Server-side bulk load; returns seconds."""
    engine = create_engine(url)
    start = time.perf_counter()
    day0 = (NOW.date() - dt.timedelta(days=DAYS)).isoformat()
    with engine.begin() as conn:
        conn.execute(
            text(
                f"""
        INSERT INTO records (id, agency, booking_number, booking_bidx, jurisdiction, holder,
            data_kind, arrest_date, outcome, legal_basis, status, next_action, next_action_due,
            decision_rule, review_due_on, review_queued_at, exceptional_reason, created_at,
            updated_at, purged_at)
        SELECT md5('r' || i), 'AG' || (i % 40), NULL, md5('b' || i) || md5('c' || i),
            ({JURISDICTIONS})[1 + i % 5], 'law_enforcement', 'booking_photo',
            DATE '{day0}' + (i % {DAYS}), 'dismissed', 'arrest',
            CASE WHEN i % 10 < 3 THEN 'purged' WHEN i % 10 = 3 THEN 'restricted' ELSE 'active' END,
            CASE WHEN i % 10 < 3 THEN NULL WHEN i % 100 = 50 THEN 'review' ELSE 'purge' END,
            CASE WHEN i % 10 < 3 THEN NULL ELSE DATE '{day0}' + (i % {DAYS}) + 1200 END,
            ({RULES})[1 + i % 5],
            CASE WHEN i % 100 = 50 THEN DATE '{day0}' + (i % {DAYS}) END,
            CASE WHEN i % 100 = 50 THEN TIMESTAMPTZ '{day0}' + (i % {DAYS}) * INTERVAL '1 day' END,
            false, TIMESTAMPTZ '{day0}', TIMESTAMPTZ '{day0}',
            CASE WHEN i % 10 < 3 THEN TIMESTAMPTZ '{day0}' + (i % {DAYS}) * INTERVAL '1 day'
                + (i % 86400) * INTERVAL '1 second' END
        FROM generate_series(1, {records}) AS i
        """
            )
        )
        conn.execute(
            text(
                f"""
        INSERT INTO removal_requests (id, reference_sha256, kind, jurisdiction, grounds, state,
            received_on, respond_by, decided_at, info_requested_on, created_at, updated_at)
        SELECT md5('q' || i), md5('ref' || i) || md5('x' || i), 'erasure',
            ({JURISDICTIONS})[1 + i % 5], '["dismissed"]',
            (ARRAY['completed','completed','denied','received','under_review','needs_info',
                   'approved','completed','denied','completed'])[1 + i % 10],
            DATE '{day0}' + (i % {DAYS}), DATE '{day0}' + (i % {DAYS}) + 30,
            CASE WHEN i % 10 IN (0, 1, 2, 6, 7, 8, 9)
                THEN TIMESTAMPTZ '{day0}' + ((i % {DAYS}) + i % 45) * INTERVAL '1 day' END,
            CASE WHEN i % 10 = 5 THEN DATE '{day0}' + (i % {DAYS}) + 10 END,
            TIMESTAMPTZ '{day0}', TIMESTAMPTZ '{day0}'
        FROM generate_series(1, {requests}) AS i
        """
            )
        )
        # The audit log: one ingest per record, one entry per purge / restriction / review /
        # request decision (the chain's hashes are stand-ins: the report never reads them).
        conn.execute(
            text(
                f"""
        CREATE TEMP TABLE ev AS
        SELECT TIMESTAMPTZ '{day0}' AS at, 'record.ingested' AS action, 'record' AS otype,
               md5('r' || i) AS oid, NULL AS rule, '{{}}' AS details
          FROM generate_series(1, {records}) AS i
        UNION ALL
        SELECT r.purged_at, 'record.purged', 'record', r.id,
               CASE WHEN i % 7 = 0 THEN NULL ELSE r.decision_rule END,
               CASE WHEN i % 7 = 1 THEN '{{"request_reference": "q"}}'
                    ELSE '{{"request_reference": null}}' END
          FROM generate_series(1, {records}) AS i JOIN records r ON r.id = md5('r' || i)
         WHERE r.status = 'purged'
        UNION ALL
        SELECT TIMESTAMPTZ '{day0}' + (i % {DAYS}) * INTERVAL '1 day', 'record.restricted',
               'record', md5('r' || i), ({RULES})[1 + i % 5], '{{"purposes": []}}'
          FROM generate_series(1, {records}) AS i WHERE i % 10 = 3
        UNION ALL
        SELECT TIMESTAMPTZ '{day0}' + (i % {DAYS}) * INTERVAL '1 day', 'review.decided',
               'record', md5('r' || i), ({RULES})[1 + i % 5],
               CASE WHEN i % 2 = 0 THEN '{{"decision": "restrict"}}'
                    ELSE '{{"decision": "keep"}}' END
          FROM generate_series(1, {records}) AS i WHERE i % 20 = 4
        UNION ALL
        SELECT q.decided_at,
               CASE WHEN q.state = 'denied' THEN 'request.denied' ELSE 'request.approved' END,
               'request', q.id, NULL, '{{"from": "under_review"}}'
          FROM removal_requests q WHERE q.decided_at IS NOT NULL
        """
            )
        )
        conn.execute(
            text(
                """
        INSERT INTO audit_entries (seq, occurred_at, actor, action, object_type, object_id, rule,
            details, prev_hash, hash)
        SELECT row_number() OVER (ORDER BY at), at, 'bench', action, otype, oid, rule,
               details::json, md5('p' || oid || action) || md5(action),
               md5('h' || oid || action || at::text) || md5(oid || action)
          FROM ev
        """
            )
        )
        conn.execute(
            text(
                f"""
        INSERT INTO legal_holds (id, record_id, kind, state, reason, placed_by, placed_at)
        SELECT md5('h' || i), md5('r' || (1 + (i * 97) % {records})), 'litigation', 'active',
               'bench hold', 'clerk', TIMESTAMPTZ '{day0}' + (i % {DAYS}) * INTERVAL '1 day'
          FROM generate_series(1, 5000) AS i
        """
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - start


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms  "
        f"max {ordered[-1] * 1000:6.1f} ms  (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the data a previous run loaded (no fill)"
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL URL")
    work = Path(tempfile.mkdtemp(prefix="mugshot-bench-transparency-"))
    settings = Settings(data_dir=work / "data", database_url=args.database_url)
    if not args.reuse:
        reset_database(args.database_url, settings.data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    Keyring.create(settings.keyring_file, NOW)
    upgrade(make_engine(settings))
    if args.reuse:
        with make_engine(settings).begin() as conn:
            conn.execute(text("DELETE FROM transparency_months"))
    took = 0.0 if args.reuse else _fill(args.database_url, args.records, args.requests)
    print(
        f"PostgreSQL, {args.records:,} records, {args.requests:,} requests: filled in {took:.0f}s"
    )
    services = open_services(settings)
    try:
        with services.readers() as db:
            counts = db.execute(
                text(
                    "SELECT (SELECT count(*) FROM records),"
                    " (SELECT count(*) FROM removal_requests),"
                    " (SELECT count(*) FROM audit_entries), (SELECT count(*) FROM legal_holds)"
                )
            ).one()
        print(
            f"  rows: records {counts[0]:,}, requests {counts[1]:,}, audit entries {counts[2]:,}, "
            f"holds {counts[3]:,}"
        )
        months = transparency.recent_months(NOW.date(), 24)
        first_times: list[float] = []
        for month in months:
            started = time.perf_counter()
            with services.sessions() as db, db.begin():
                transparency.month_report(db, month, now=NOW)
            first_times.append(time.perf_counter() - started)
        print(
            f"  first report of a month (counts and keeps its frozen figures): "
            f"{_percentiles(first_times)}"
        )
        with services.readers() as db:
            sample = transparency.month_report(db, months[0], now=NOW)
        print(
            f"  {sample.label}: {len(sample.requests)} jurisdiction rows, "
            f"{len(sample.disposals)} disposal rows; e.g. {sample.lines()[1]}"
        )
        engine_times: list[float] = []
        for n in range(args.runs):
            started = time.perf_counter()
            with services.sessions() as db, db.begin():
                transparency.month_report(db, months[n % len(months)], now=NOW)
            engine_times.append(time.perf_counter() - started)
        print(f"  month_report (queries):         {_percentiles(engine_times)}")
        app = create_app(services=services, clock=lambda: NOW, config={"TESTING": True})
        client = app.test_client()
        page_times: list[float] = []
        for n in range(args.runs):
            started = time.perf_counter()
            response = client.get(f"/transparency?month={months[n % len(months)]:%Y-%m}")
            page_times.append(time.perf_counter() - started)
            assert response.status_code == 200
        print(f"  GET /transparency (page):       {_percentiles(page_times)}")
        csv_times: list[float] = []
        for n in range(min(args.runs, 20)):
            started = time.perf_counter()
            assert client.get(f"/transparency.csv?month={months[n]:%Y-%m}").status_code == 200
            csv_times.append(time.perf_counter() - started)
        print(f"  GET /transparency.csv:          {_percentiles(csv_times)}")
        status_times = []
        for _ in range(5):
            started = time.perf_counter()
            status(services, NOW)
            status_times.append(time.perf_counter() - started)
        print(f"  status() (dashboard, metrics):  {_percentiles(status_times)}")
    finally:
        services.close()


if __name__ == "__main__":
    main()
