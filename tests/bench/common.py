"""What the benchmarks share: a fresh database, bulk-filled record sets, and batched INSERTs.

Imported by the bench scripts as ``common`` (a script's own folder is first on ``sys.path``).
Not collected by pytest.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, insert, text
from sqlalchemy.sql import Executable

from retention.db.models import DataKey, Image, Record
from retention.db.schema import upgrade
from retention.db.sessions import make_engine
from retention.keys import crypto
from retention.keys.keyring import Keyring
from retention.settings import Settings
from retention.storage.local import LocalBlobStore

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
CHUNK = 5000


def reset_database(url: str, data_dir: Path) -> None:
    """An empty PostgreSQL schema (SQLite goes with the data directory), no data directory."""
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    shutil.rmtree(data_dir, ignore_errors=True)


def insert_batched(
    conn: Connection, stmt: Executable, rows: Iterable[dict[str, Any]], size: int = 1000
) -> None:
    """Execute ``stmt`` for ``rows``, ``size`` rows a statement, each batch committed."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            with conn.begin():
                conn.execute(stmt, batch)
            batch = []
    if batch:
        with conn.begin():
            conn.execute(stmt, batch)


def fill(
    settings: Settings,
    records: int,
    due_year: Callable[[int], int | None],
    *,
    image_bytes: int,
    other_outcome_on: dt.date,
) -> tuple[list[str], float]:
    """Fill a fresh database (migrated, with a keyring) with ``records`` records by bulk INSERTs;
    returns the blob keys of the due ones and the seconds the filling took.

    Record ``n`` is due when ``due_year(n)`` names the year of its arrest: California, factually
    innocent (PC 851.8 says destroy, three years on), with its two sealed blobs on disk. The
    others are English convictions (outcome on ``other_outcome_on``) under review in 2031. Every
    record has a data key and two image rows of ``image_bytes`` bytes each.
    """
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
                year = due_year(n)
                is_due = year is not None
                recs.append(
                    {
                        "id": rid,
                        "agency": "BENCH",
                        "booking_bidx": f"{n:064x}",
                        "jurisdiction": "US-CA" if is_due else "GB-ENG",
                        "holder": "law_enforcement",
                        "data_kind": "booking_photo",
                        "arrest_date": dt.date(year or 2025, 5, 5),
                        "captured_on": dt.date(year or 2025, 5, 5),
                        "offence_class": "nonviolent",
                        "mopi_group": None if is_due else 3,
                        "age_at_capture": 30,
                        "outcome": "factually_innocent" if is_due else "convicted",
                        "outcome_on": dt.date(year, 6, 1) if year else other_outcome_on,
                        "legal_basis": "arrest" if is_due else "conviction",
                        "status": "active",
                        "next_action": "purge" if is_due else "review",
                        "next_action_due": dt.date(year + 3, 5, 5) if year else dt.date(2031, 5, 5),
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
                            "byte_size": image_bytes,
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
    if settings.database_url.startswith("postgresql"):
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return blob_keys, time.perf_counter() - started
