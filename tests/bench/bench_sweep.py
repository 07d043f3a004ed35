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
import uuid
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from policies import bundled_pack_paths
from retention.db.models import DataKey, Image, Record
from retention.db.schema import upgrade
from retention.db.sessions import make_engine
from retention.engine.enact import enact
from retention.jobs.sweep import run_sweep
from retention.keys import crypto
from retention.keys.keyring import Keyring
from retention.services import open_services
from retention.settings import Settings
from retention.storage.local import LocalBlobStore

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
TODAY = NOW.date()
CHUNK = 5000


def reset(url: str, data_dir: Path) -> None:
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)


def build(url: str, data_dir: Path, records: int, due: int) -> tuple[Settings, list[str]]:
    """Fill a fresh database; returns settings and the blob keys of the due records."""
    reset(url, data_dir)
    settings = Settings(data_dir=data_dir, database_url=url, sweep_batch_size=500)
    ring = Keyring.create(settings.keyring_file, NOW)
    engine = make_engine(settings)
    upgrade(engine)
    store = LocalBlobStore(Path(settings.blob_store))
    store.ensure_layout()
    dk = crypto.new_data_key()
    blob_keys: list[str] = []
    started = time.perf_counter()
    with engine.connect() as conn:
        for start in range(0, records, CHUNK):
            recs, keys, imgs = [], [], []
            for n in range(start, min(start + CHUNK, records)):
                rid = uuid.uuid4().hex
                is_due = n % (records // due) == 0 and len(blob_keys) < 2 * due
                recs.append(
                    {
                        "id": rid,
                        "agency": "BENCH",
                        "booking_number": f"B-{n:08d}",
                        "booking_bidx": f"{n:064x}",
                        "jurisdiction": "US-CA" if is_due else "GB-ENG",
                        "holder": "law_enforcement",
                        "data_kind": "booking_photo",
                        "arrest_date": dt.date(2020, 5, 5) if is_due else dt.date(2025, 5, 5),
                        "captured_on": dt.date(2020, 5, 5) if is_due else dt.date(2025, 5, 5),
                        "offence_class": "nonviolent",
                        "mopi_group": None if is_due else 3,
                        "age_at_capture": 30,
                        "outcome": "factually_innocent" if is_due else "convicted",
                        "outcome_on": dt.date(2020, 6, 1) if is_due else dt.date(2025, 9, 1),
                        "legal_basis": "arrest" if is_due else "conviction",
                        "status": "active",
                        "next_action": "purge" if is_due else "review",
                        "next_action_due": dt.date(2023, 5, 5) if is_due else dt.date(2031, 5, 5),
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
                for kind, ordinal in (("original", 0), ("thumbnail", 0)):
                    iid = uuid.uuid4().hex
                    imgs.append(
                        {
                            "id": iid,
                            "record_id": rid,
                            "kind": kind,
                            "ordinal": ordinal,
                            "media_type": "image/jpeg",
                            "byte_size": 65536,
                            "width": 480,
                            "height": 600,
                            "content_hmac": "0" * 64,
                            "sealed_sha256": "0" * 64,
                            "created_at": NOW,
                        }
                    )
                    if is_due:
                        store._write(
                            iid,
                            crypto.seal_blob(dk, b"j" * 2048, record_id=rid, image_id=iid),
                            sync=False,
                        )
                        blob_keys.append(iid)
            with conn.begin():
                conn.execute(insert(Record), recs)
                conn.execute(insert(DataKey), keys)
                conn.execute(insert(Image), imgs)
    if url.startswith("postgresql"):
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print(
        f"  built {records:,} records ({len(blob_keys) // 2:,} due) in "
        f"{time.perf_counter() - started:.0f}s"
    )
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
