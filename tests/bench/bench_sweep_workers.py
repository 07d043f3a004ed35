"""Benchmark: sweep throughput with 1, 2 and 4 parallel workers on one database.

Run:  python tests/bench/bench_sweep_workers.py [--records 1000000] [--due 10000]
                                                [--database-url URL]

One database of ``--records`` records holds three due sets of ``--due`` records each
(California factual innocence, arrested in 2018, 2019 and 2020: PC 851.8 destruction due in
2021, 2022 and 2023). Sweeping "as of" mid-2021 with 1 worker purges the first set, mid-2022
with 2 workers the second, mid-2023 with 4 workers the third — each worker a separate process
running ``mugshot sweep``, splitting the work by row locks (``FOR UPDATE SKIP LOCKED``).
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from retention.db.models import Record
from retention.db.sessions import make_engine
from retention.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from common import fill, reset_database

SETS = (
    (2018, dt.date(2021, 6, 1), 1),
    (2019, dt.date(2022, 6, 1), 2),
    (2020, dt.date(2023, 6, 1), 4),
)


def build(url: str, data_dir: Path, records: int, due: int) -> Settings:
    reset_database(url, data_dir)
    data_dir.mkdir(mode=0o700, parents=True)
    settings = Settings(data_dir=data_dir, database_url=url)
    every, made = records // (3 * due), 0

    def due_year(n: int) -> int | None:
        nonlocal made
        if n % every == 0 and made < 3 * due:
            made += 1
            return SETS[(n // every) % 3][0]
        return None

    _, took = fill(
        settings, records, due_year, image_bytes=2048, other_outcome_on=dt.date(2025, 6, 1)
    )
    print(f"  built {records:,} records, 3 x {due:,} due, in {took:.0f}s")
    return settings


def purged(settings: Settings) -> int:
    engine = make_engine(settings)
    with engine.connect() as conn:
        n = conn.execute(
            select(func.count()).select_from(Record).where(Record.status == "purged")
        ).scalar_one()
    engine.dispose()
    return int(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mugshot-bench-workers-"))
    data_dir = work / "data"
    url = args.database_url or f"sqlite:///{data_dir / 'mugshot.db'}"
    print(f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}: {args.records:,} records")
    settings = build(url, data_dir, args.records, args.due)
    env = {
        **os.environ,
        "MUGSHOT_DATA_DIR": str(data_dir),
        "MUGSHOT_DATABASE_URL": url,
        "MUGSHOT_SWEEP_MAX_PURGE_COUNT": str(10 * args.due),
        "MUGSHOT_SWEEP_BATCH_SIZE": "500",
    }
    base = None
    for _, on, workers in SETS:
        before = purged(settings)
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from web.cli import main; main()",
                    "--actor",
                    f"bench-{w}",
                    "sweep",
                    "--on",
                    on.isoformat(),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for w in range(workers)
        ]
        codes = [p.wait() for p in procs]
        took = time.perf_counter() - started
        done = purged(settings) - before
        rate = done / took
        base = base or rate
        print(
            f"  {workers} worker(s): purged {done:,} in {took:6.2f}s = {rate:7.0f}/s "
            f"(x{rate / base:.2f} of 1 worker)  exit codes {codes}"
        )
    reset_database(url, data_dir)
    data_dir.mkdir(mode=0o700, parents=True)


if __name__ == "__main__":
    main()
