"""Storage faults during an import are named and cleaned up: a full blob store, a read-only
blob store, a full database and a missing bucket each give their own message; the summary and
the reject report are still written; the failed rows leave no temp file and no blob behind; and
a re-run, once the fault is gone, completes.

The faults are real where the machine allows: the blob store on a small tmpfs (ENOSPC), the
same tmpfs remounted read-only (EROFS), SQLite's own SQLITE_FULL (``max_page_count``), a bucket
that does not exist on the loopback S3 server. A full PostgreSQL is simulated by raising its
``DiskFull`` error (SQLSTATE 53100) from the driver boundary, and a store that fills up halfway
through a batch by a test double of the local store.
"""

from __future__ import annotations

import csv
import errno
import os
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, event, select

from retention.cli.main import cli
from retention.db.models import Image, Record
from retention.ingest.importer import import_manifest
from retention.services import open_services
from retention.settings import Settings
from retention.storage.factory import open_blob_store
from retention.storage.interface import BlobStoreFull
from retention.storage.local import LocalBlobStore
from tests.conftest import FIXED_NOW
from tests.helpers import backend_env, clock_at, jpeg_bytes, row, write_manifest

ROWS = 6


def _manifest(folder: Path, prefix: str = "F") -> Path:
    (folder / "img").mkdir(parents=True)
    rows = []
    for i in range(ROWS):
        (folder / "img" / f"{i}.jpg").write_bytes(jpeg_bytes(colour=(i * 37 % 256, 90, 160)))
        rows.append(row(booking_number=f"{prefix}-{i}", images=f"img/{i}.jpg"))
    return write_manifest(folder / "manifest.csv", rows)


def _import(env: dict[str, str], manifest: Path) -> Result:
    return CliRunner().invoke(cli, ["import", str(manifest)], env=env)


def _rejects(manifest: Path) -> dict[str, str]:
    path = manifest.with_name(manifest.name + ".rejects.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        return {r["booking_number"]: r["reason"] for r in csv.DictReader(fh)}


def _state(settings: Settings) -> tuple[list[str], set[str], set[str]]:
    """Bookings stored, image ids the database names, and blob keys in the store."""
    services = open_services(settings)
    try:
        with services.readers() as s:
            bookings = sorted(s.execute(select(Record.booking_number)).scalars())
            images = set(s.execute(select(Image.id)).scalars())
        return bookings, images, set(services.store.keys())
    finally:
        services.close()


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


# -- a real small file system (root only) ---------------------------------------------------


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``path`` (mode 0700), unmounted afterwards; skips the test where
    this process may not mount (not root, or no CAP_SYS_ADMIN)."""
    path.mkdir(mode=0o700)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def _local_store_env(settings: Settings, store: Path) -> tuple[Settings, dict[str, str]]:
    local = settings.with_overrides(blob_store=str(store))
    return local, {**backend_env(local), "MUGSHOT_ACTOR": "test:import"}


def test_a_full_blob_store_rejects_the_rows_by_name_and_leaves_nothing_behind(
    tmp_path: Path, settings: Settings
) -> None:
    with small_tmpfs(tmp_path / "store", "48k") as store:
        local, env = _local_store_env(settings, store)
        assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
        manifest = _manifest(tmp_path / "in")

        first = _import(env, manifest)

        assert first.exit_code == 1
        assert f"{ROWS} rows: 0 imported, 0 already present, {ROWS} rejected" in first.output
        reason = (
            f"blob store local:{store} is full (no space left on device); row not imported — "
            "free space on the store, then re-run the import"
        )
        assert _rejects(manifest) == {f"F-{i}": reason for i in range(ROWS)}
        assert f"warning: {reason}" in first.output
        assert _temp_files(store) == []
        assert _state(local) == ([], set(), set())  # no row, and no orphan blob

        assert _mount("-o", "remount,size=8m", str(store)).returncode == 0  # space freed
        second = _import(env, manifest)

        assert second.exit_code == 0, second.output
        bookings, images, blobs = _state(local)
        assert bookings == [f"F-{i}" for i in range(ROWS)]
        assert blobs == images
        assert _temp_files(store) == []


def test_a_read_only_blob_store_rejects_the_rows_by_name_and_a_re_run_completes(
    tmp_path: Path, settings: Settings
) -> None:
    with small_tmpfs(tmp_path / "store", "8m") as store:
        local, env = _local_store_env(settings, store)
        assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
        manifest = _manifest(tmp_path / "in")
        assert _mount("-o", "remount,ro", str(store)).returncode == 0

        first = _import(env, manifest)

        assert first.exit_code == 1
        assert f"{ROWS} rows: 0 imported, 0 already present, {ROWS} rejected" in first.output
        reason = (
            f"blob store local:{store} is read-only (read-only file system); row not imported "
            "— make the store writable, then re-run the import"
        )
        assert set(_rejects(manifest).values()) == {reason}
        assert _state(local) == ([], set(), set())

        assert _mount("-o", "remount,rw", str(store)).returncode == 0
        second = _import(env, manifest)

        assert second.exit_code == 0, second.output
        bookings, images, blobs = _state(local)
        assert len(bookings) == ROWS
        assert blobs == images
        assert _temp_files(store) == []


# -- a full database ------------------------------------------------------------------------


@contextmanager
def database_full(is_postgres: bool) -> Iterator[None]:
    """Every engine made meanwhile finds its database full: SQLite's own SQLITE_FULL (its
    ``max_page_count`` pinned at the current size), or PostgreSQL's DiskFull error raised at
    the driver boundary for every INSERT, as the server does when it cannot extend a file."""
    if is_postgres:
        import psycopg

        def refuse(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith("INSERT"):
                raise psycopg.errors.DiskFull(
                    'could not extend file "base/16384/16500": No space left on device'
                )

        event.listen(Engine, "before_cursor_execute", refuse)
        try:
            yield
        finally:
            event.remove(Engine, "before_cursor_execute", refuse)
        return

    def pin(dbapi_connection: Any, _record: Any) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    event.listen(Engine, "connect", pin)
    try:
        yield
    finally:
        event.remove(Engine, "connect", pin)


def test_a_full_database_rejects_the_rows_by_name_and_a_re_run_completes(
    tmp_path: Path, settings: Settings, is_postgres: bool
) -> None:
    env = {**backend_env(settings), "MUGSHOT_ACTOR": "test:import"}
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    manifest = _manifest(tmp_path / "in")

    with database_full(is_postgres):
        first = _import(env, manifest)

    assert first.exit_code == 1, first.output
    assert f"{ROWS} rows: 0 imported, 0 already present, {ROWS} rejected" in first.output
    full = (
        "database is full (PostgreSQL: no space left on device)"
        if is_postgres
        else ("database is full (no space left on device)")
    )
    reason = f"{full}; row not imported — free space for the database, then re-run the import"
    assert _rejects(manifest) == {f"F-{i}": reason for i in range(ROWS)}
    if is_postgres:  # every INSERT fails there, the summary's audit entry too (SQLite had room)
        assert f"warning: the import.completed audit entry was not written: {full}" in first.output
    assert "Traceback" not in first.output
    assert _state(settings) == ([], set(), set())  # blobs written before the commit: removed
    if not settings.blob_store.startswith("s3://"):
        assert _temp_files(Path(settings.blob_store)) == []

    second = _import(env, manifest)

    assert second.exit_code == 0, second.output
    bookings, images, blobs = _state(settings)
    assert len(bookings) == ROWS
    assert blobs == images


# -- a missing bucket -----------------------------------------------------------------------


def test_a_missing_bucket_rejects_the_rows_by_name_and_a_re_run_completes(
    tmp_path: Path, initialised: Settings, moto_s3_url: str
) -> None:
    bucket = f"mugshot-missing-{uuid.uuid4().hex[:12]}"
    s3 = initialised.with_overrides(blob_store=f"s3://{bucket}/county", s3_endpoint_url=moto_s3_url)
    env = {**backend_env(s3), "MUGSHOT_ACTOR": "test:import"}
    manifest = _manifest(tmp_path / "in")

    first = _import(env, manifest)

    assert first.exit_code == 1, first.output
    assert f"{ROWS} rows: 0 imported, 0 already present, {ROWS} rejected" in first.output
    reason = (
        f"S3 bucket {bucket!r} does not exist (put); row not imported — fix the blob store "
        "(MUGSHOT_BLOB_STORE; `mugshot init` creates a missing bucket), then re-run the import"
    )
    assert _rejects(manifest) == {f"F-{i}": reason for i in range(ROWS)}

    store = open_blob_store(s3.blob_store, s3_endpoint_url=moto_s3_url)
    store.ensure_bucket()  # type: ignore[attr-defined]
    second = _import(env, manifest)

    assert second.exit_code == 0, second.output
    bookings, images, blobs = _state(s3)
    assert len(bookings) == ROWS
    assert blobs == images


# -- a store that fills up halfway through a batch ------------------------------------------


class FillsUpAfter(LocalBlobStore):
    """The local store on a disk that has room for ``room`` more blobs: the next write fails
    with ENOSPC, after the earlier blobs of the same batch were written."""

    def __init__(self, root: Path, room: int) -> None:
        super().__init__(root)
        self.room = room

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        def counted() -> Iterator[tuple[str, bytes]]:
            for key, data in items:
                if self.room == 0:
                    raise BlobStoreFull(
                        errno.ENOSPC,
                        f"blob store {self.describe()} is full (no space left on device)",
                    )
                self.room -= 1
                yield key, data

        super().put_many(counted())


def test_blobs_a_failed_batch_wrote_are_removed_at_once_not_left_for_the_janitor(
    tmp_path: Path, initialised: Settings
) -> None:
    root = tmp_path / "blobs-double"
    store = FillsUpAfter(root, room=4 * 2 + 3)  # batch 1 (4 rows, 2 blobs each) and 3 more
    store.ensure_layout()
    services = open_services(initialised, store=store)
    try:
        manifest = _manifest(tmp_path / "in")

        report = import_manifest(manifest, services, actor="test:import", clock=clock_at(FIXED_NOW))

        assert (report.imported, len(report.rejected)) == (4, ROWS - 4)
        assert {r.reason.split(";")[0] for r in report.rejected} == {
            f"blob store local:{root} is full (no space left on device)"
        }
        with services.readers() as s:
            images = set(s.execute(select(Image.id)).scalars())
        assert set(store.keys()) == images  # the 3 blobs of the failed batch are gone already
        assert len(images) == 4 * 2
        assert _temp_files(root) == []

        store.room = 1_000
        again = import_manifest(manifest, services, actor="test:import", clock=clock_at(FIXED_NOW))
        assert (again.imported, again.skipped, again.rejected) == (ROWS - 4, 4, [])
    finally:
        services.close()
