"""A killed import leaves nothing half-done; the re-run finishes with no orphan, no duplicate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from retention.audit import chain as audit
from retention.db.models import Image, Record
from retention.engine import records
from retention.keys import crypto
from retention.services import Services
from retention.storage.local import LocalBlobStore
from tests.helpers import backend_env, jpeg_bytes, row, write_manifest

ROWS = 120


def _manifest(folder: Path) -> Path:
    (folder / "img").mkdir()
    rows = []
    for n in range(ROWS):
        (folder / "img" / f"{n}.jpg").write_bytes(jpeg_bytes(colour=(n % 256, 80, 160)))
        rows.append(row(booking_number=f"K-{n:04d}", images=f"img/{n}.jpg"))
    return write_manifest(folder / "manifest.csv", rows)


def _env(services: Services) -> dict[str, str]:
    return {
        **os.environ,
        **backend_env(services.settings),
        "MUGSHOT_IMPORT_BATCH_SIZE": "3",
        "MUGSHOT_ACTOR": "test:import",
    }


def _records(services: Services) -> int:
    with services.readers() as s:
        return int(s.execute(select(func.count()).select_from(Record)).scalar_one())


def _assert_consistent(services: Services, expected_records: int | None = None) -> None:
    """Every image row has a blob that opens; every blob has an image row; chain verifies."""
    store = services.store
    with services.sessions() as s:
        recs = list(s.execute(select(Record)).scalars())
        if expected_records is not None:
            assert len(recs) == expected_records
        bookings = [(r.agency, r.booking_bidx) for r in recs]
        assert len(bookings) == len(set(bookings))
        image_ids = set()
        for rec in recs:
            key = records.data_key(s, services.keyring, rec)
            imgs = list(s.execute(select(Image).where(Image.record_id == rec.id)).scalars())
            assert len(imgs) == 2
            for img in imgs:
                image_ids.add(img.id)
                crypto.open_blob(key, store.get(img.id), record_id=rec.id, image_id=img.id)
        assert audit.verify(s).ok
    return_ids = set(store.keys())
    if expected_records is not None:
        assert return_ids == image_ids, "orphan or missing blobs"
        if isinstance(store, LocalBlobStore):
            assert list(store.stray_temp_files()) == []
    else:
        assert image_ids <= return_ids


def _import(
    manifest: Path, env: dict[str, str], *, capture: bool = True
) -> subprocess.Popen[bytes]:
    pipe = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from retention.cli.main import main; main()",
            "import",
            str(manifest),
        ],
        env=env,
        stdout=pipe,
        stderr=pipe,
    )


def _rerun(manifest: Path, env: dict[str, str]) -> str:
    """Import the manifest again, to the end; it must succeed. Returns what it printed."""
    rerun = _import(manifest, env)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    return out.decode()


@pytest.mark.slow
def test_sigkill_during_import_then_rerun_leaves_no_orphan_and_no_duplicate(
    tmp_path: Path, services: Services
) -> None:
    manifest = _manifest(tmp_path)
    env = _env(services)
    proc = _import(manifest, env, capture=False)
    deadline = time.monotonic() + 60
    while _records(services) < 3:
        assert proc.poll() is None, "import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    landed = _records(services)
    assert 3 <= landed < ROWS
    _assert_consistent(services)

    out = _rerun(manifest, env)
    assert f"{ROWS - landed} imported, {landed} already present, 0 rejected" in out
    _assert_consistent(services, expected_records=ROWS)


CRASH_AFTER_BLOBS = """
import datetime as dt, os, signal, sys
from pathlib import Path
from retention.settings import Settings
from retention.services import open_services
from retention.ingest.importer import import_manifest

class DiesAfterPuts:
    '''Whatever store the settings select, killed after its Nth object is written.'''
    puts = 0
    def __init__(self, inner):
        self.inner = inner
    def __getattr__(self, name):
        return getattr(self.inner, name)
    def put_many(self, items):
        for key, data in items:
            self.inner.put(key, data)
            DiesAfterPuts.puts += 1
            if DiesAfterPuts.puts == int(sys.argv[2]):
                os.kill(os.getpid(), signal.SIGKILL)

settings = Settings.from_env()
svc = open_services(settings)
svc.store = DiesAfterPuts(svc.store)
import_manifest(Path(sys.argv[1]), svc, actor="t", clock=lambda: dt.datetime.now(dt.UTC))
"""


@pytest.mark.slow
def test_a_crash_after_blobs_are_written_but_before_commit_is_repaired_by_the_rerun(
    tmp_path: Path, services: Services
) -> None:
    manifest = _manifest(tmp_path)
    env = _env(services)
    # Batch 1 (3 rows = 6 blobs) commits; the crash comes 4 blobs into batch 2.
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_BLOBS, str(manifest), "10"], env=env, check=False
    )
    assert proc.returncode == -signal.SIGKILL
    assert _records(services) == 3
    assert len(list(services.store.keys())) == 10  # 4 blobs nobody references yet

    _rerun(manifest, env)
    _assert_consistent(services, expected_records=ROWS)
