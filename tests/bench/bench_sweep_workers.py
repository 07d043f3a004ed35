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
import uuid
from pathlib import Path

from sqlalchemy import func, insert, select, text

from retention.db.models import DataKey, Image, Record
from retention.db.schema import upgrade
from retention.db.sessions import make_engine
from retention.keys import crypto
from retention.keys.keyring import Keyring
from retention.settings import Settings
from retention.storage.local import LocalBlobStore

sys.path.insert(0, str(Path(__file__).parent))
from bench_sweep import CHUNK, NOW, reset

SETS = (
    (2018, dt.date(2021, 6, 1), 1),
    (2019, dt.date(2022, 6, 1), 2),
    (2020, dt.date(2023, 6, 1), 4),
)


def build(url: str, data_dir: Path, records: int, due: int) -> Settings:
    reset(url, data_dir)
    settings = Settings(data_dir=data_dir, database_url=url)
    ring = Keyring.create(settings.keyring_file, NOW)
    engine = make_engine(settings)
    upgrade(engine)
    store = LocalBlobStore(Path(settings.blob_store))
    store.ensure_layout()
    dk = crypto.new_data_key()
    every = records // (3 * due)
    started = time.perf_counter()
    made = 0
    with engine.connect() as conn:
        for start in range(0, records, CHUNK):
            recs, keys, imgs = [], [], []
            for n in range(start, min(start + CHUNK, records)):
                rid = uuid.uuid4().hex
                which = (n // every) % 3 if n % every == 0 and made < 3 * due else None
                if which is not None:
                    made += 1
                year = SETS[which][0] if which is not None else 2025
                recs.append(
                    {
                        "id": rid,
                        "agency": "BENCH",
                        "booking_number": f"B-{n:08d}",
                        "booking_bidx": f"{n:064x}",
                        "jurisdiction": "US-CA" if which is not None else "GB-ENG",
                        "holder": "law_enforcement",
                        "data_kind": "booking_photo",
                        "arrest_date": dt.date(year, 5, 5),
                        "captured_on": dt.date(year, 5, 5),
                        "offence_class": "nonviolent",
                        "mopi_group": None if which is not None else 3,
                        "age_at_capture": 30,
                        "outcome": "factually_innocent" if which is not None else "convicted",
                        "outcome_on": dt.date(year, 6, 1),
                        "legal_basis": "arrest" if which is not None else "conviction",
                        "status": "active",
                        "next_action": "purge" if which is not None else "review",
                        "next_action_due": dt.date(year + 3, 5, 5)
                        if which is not None
                        else dt.date(2031, 5, 5),
                        "identity_sealed": b"x" * 80,
                        "created_at": NOW,
                        "updated_at": NOW,
                        "exceptional_reason": False,
                    }
                )
                kid = uuid.uuid4().hex
                version, wrapped = ring.wrap(dk, key_id=kid)
                keys.append(
                    {
                        "id": kid,
                        "record_id": rid,
                        "kek_version": version,
                        "wrapped": wrapped,
                        "created_at": NOW,
                    }
                )
                for kind in ("original", "thumbnail"):
                    iid = uuid.uuid4().hex
                    imgs.append(
                        {
                            "id": iid,
                            "record_id": rid,
                            "kind": kind,
                            "ordinal": 0,
                            "media_type": "image/jpeg",
                            "byte_size": 2048,
                            "width": 480,
                            "height": 600,
                            "content_hmac": "0" * 64,
                            "sealed_sha256": "0" * 64,
                            "created_at": NOW,
                        }
                    )
                    if which is not None:
                        store._write(
                            iid,
                            crypto.seal_blob(dk, b"j" * 2048, record_id=rid, image_id=iid),
                            sync=False,
                        )
            with conn.begin():
                conn.execute(insert(Record), recs)
                conn.execute(insert(DataKey), keys)
                conn.execute(insert(Image), imgs)
    if url.startswith("postgresql"):
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print(f"  built {records:,} records, 3 x {due:,} due, in {time.perf_counter() - started:.0f}s")
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
    reset(url, data_dir)


if __name__ == "__main__":
    main()
