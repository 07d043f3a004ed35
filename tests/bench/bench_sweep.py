"""Benchmark: a sweep of 10,000 due records in databases of 1,000,000 and 100,000 records,
against a raw baseline measured in the same run; and `policy enact` over the whole database.

Run:  python tests/bench/bench_sweep.py [--records 1000000 100000] [--due 10000]
                                        [--database-url URL] [--skip-enact]

The database is filled directly with bulk INSERTs (importing a million photos would take hours
and is measured by bench_import.py): every record has a data key and two image rows; the due
ones (California, factually innocent, arrested 2020: PC 851.8 says destroy) also have their two
sealed blobs on disk. The baseline is what a purge cannot do less than: one SQL DELETE of the
same rows selected by an indexed date, plus unlinking their files. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

from common import NOW, fill, reset_database
from sqlalchemy import text

from policies import bundled_pack_paths
from retention.db.sessions import make_engine
from retention.engine.enact import enact
from retention.jobs.sweep import run_sweep
from retention.services import open_services
from retention.settings import Settings

TODAY = NOW.date()


def build(url: str, data_dir: Path, records: int, due: int) -> tuple[Settings, list[str]]:
    """Fill a fresh database; returns settings and the blob keys of the due records."""
    reset_database(url, data_dir)
    data_dir.mkdir(mode=0o700, parents=True)
    settings = Settings(data_dir=data_dir, database_url=url, sweep_batch_size=500)
    every, picked = records // due, 0

    def due_year(n: int) -> int | None:
        nonlocal picked
        if n % every == 0 and picked < due:
            picked += 1
            return 2020
        return None

    blob_keys, took = fill(
        settings, records, due_year, image_bytes=65536, other_outcome_on=dt.date(2025, 9, 1)
    )
    print(f"  built {records:,} records ({len(blob_keys) // 2:,} due) in {took:.0f}s")
    return settings, blob_keys


def baseline(settings: Settings, blob_keys: list[str], work: Path) -> float:
    """One DELETE of the same rows by an indexed date + unlinking their files (on copies)."""
    engine = make_engine(settings)
    files = work / "baseline-files"
    shutil.rmtree(files, ignore_errors=True)
    files.mkdir()
    for key in blob_keys:
        shutil.copyfile(Path(settings.blob_store) / key[:3] / key, files / key)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_base"))
        conn.execute(text("CREATE TABLE bench_base AS SELECT id, next_action_due FROM records"))
        conn.execute(text("CREATE INDEX ix_bench_base_due ON bench_base (next_action_due)"))
    started = time.perf_counter()
    with engine.begin() as conn:
        deleted = conn.execute(
            text("DELETE FROM bench_base WHERE next_action_due <= :today"), {"today": TODAY}
        ).rowcount
    for key in blob_keys:
        os.unlink(files / key)
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_base"))
    engine.dispose()
    shutil.rmtree(files)
    assert deleted == len(blob_keys) // 2, deleted
    return elapsed


def sweep(settings: Settings) -> tuple[float, dict[str, int]]:
    services = open_services(settings)
    try:
        started = time.perf_counter()
        report = run_sweep(
            services, today=TODAY, clock=lambda: NOW, actor="bench", confirmed_by="bench:supervisor"
        )
        return time.perf_counter() - started, report.counts
    finally:
        services.close()


def enact_all(settings: Settings, work: Path) -> float:
    source = bundled_pack_paths()["gb-eng-custody-images"].read_text()
    path = work / "gb-next.toml"
    path.write_text(source.replace('version = "2025.1"', 'version = "2026.1"', 1))
    services = open_services(settings)
    try:
        started = time.perf_counter()
        result = enact(
            services, path, actor="bench", approved_by="bench:supervisor", clock=lambda: NOW
        )
        elapsed = time.perf_counter() - started
        print(
            f"  policy enact: {result.records:,} records previewed and re-evaluated in "
            f"{elapsed:.1f}s ({result.records / elapsed:,.0f} records/s), "
            f"{result.changed:,} changed"
        )
        return elapsed
    finally:
        services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1_000_000, 100_000])
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--skip-enact", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mugshot-bench-sweep-"))
    label = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
    times: dict[int, float] = {}
    for records in args.records:
        data_dir = work / "data"
        url = args.database_url or f"sqlite:///{data_dir / 'mugshot.db'}"
        print(f"{label}, {records:,} records, {args.due:,} due:")
        settings, blob_keys = build(url, data_dir, records, args.due)
        base = baseline(settings, blob_keys, work)
        took, counts = sweep(settings)
        times[records] = took
        print(f"  baseline (DELETE by indexed date + unlink): {base:6.2f}s")
        print(
            f"  sweep: {took:6.2f}s  {counts}  ratio to baseline {took / base:.1f}x  "
            f"({counts['purged'] / took:,.0f} purges/s)"
        )
        if not args.skip_enact and records == max(args.records):
            enact_all(settings, work)
    if len(times) == 2:
        big, small = max(times), min(times)
        print(f"sweep time {big:,} vs {small:,} records: {times[big] / times[small]:.2f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
