"""The S3 object store stops mid-import and mid-sweep: nothing lost, nothing half-done.

A loopback S3 API server (``moto_s3_url``) sits behind a tiny TCP proxy the test can close and
reopen: closing it is, to the application, the object store going away (connections refused,
pooled connections reset) while the in-memory server keeps its objects for the "store is back"
half of each test.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from retention.audit import chain as audit
from retention.db.models import DataKey, Image, Record, RecordStatus
from retention.ingest.importer import import_manifest
from retention.jobs.janitor import run_janitor
from retention.jobs.sweep import run_sweep
from retention.services import Services, open_services
from retention.settings import Settings
from retention.storage.factory import open_blob_store
from retention.storage.interface import BlobStore, BlobStoreUnavailable
from retention.storage.s3 import S3BlobStore
from tests.conftest import FIXED_NOW, free_port
from tests.helpers import booking_numbers, clock_at, jpeg_bytes, row, write_manifest
from tests.integration.engine_helpers import (
    TODAY,
    check_invariants,
    ingest,
    purge_due,
    restrict_then_purge_later,
)


class TcpProxy:
    """A threaded loopback TCP proxy whose listener can be stopped and started again on the
    same port; stopping also cuts every open connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._running = threading.Event()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        self._running.set()
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running.clear()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            _close(conn)

    def _accept(self, listener: socket.socket) -> None:
        while self._running.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._conns.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                _close(s)
                with self._lock:
                    self._conns.discard(s)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()


@pytest.fixture
def proxy(moto_s3_url: str) -> Iterator[TcpProxy]:
    parts = urlsplit(moto_s3_url)
    assert parts.hostname is not None
    assert parts.port is not None
    p = TcpProxy((parts.hostname, parts.port))
    p.start()
    yield p
    p.stop()


@pytest.fixture
def s3_services(initialised: Settings, proxy: TcpProxy, moto_s3_url: str) -> Iterator[Services]:
    """Services whose blob store is a fresh bucket on the loopback server, via the proxy."""
    bucket = f"mugshot-faults-{uuid.uuid4().hex[:12]}"
    S3BlobStore(bucket, endpoint_url=moto_s3_url).ensure_bucket()
    settings = initialised.with_overrides(
        blob_store=f"s3://{bucket}/county", s3_endpoint_url=proxy.url, sweep_batch_size=3
    )
    store = open_blob_store(
        settings.blob_store, s3_endpoint_url=settings.s3_endpoint_url, region=settings.aws_region
    )
    svc = open_services(settings, store=store)
    yield svc
    svc.close()


class StopsAfterFirstBatch:
    """The S3 store, whose service goes away once the first batch's blobs are stored."""

    def __init__(self, inner: BlobStore, proxy: TcpProxy) -> None:
        self.inner = inner
        self.proxy = proxy
        self.batches = 0

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        self.inner.put_many(items)
        self.batches += 1
        if self.batches == 1:
            self.proxy.stop()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _image_ids(services: Services) -> set[str]:
    with services.readers() as s:
        return set(s.execute(select(Image.id).where(Image.destroyed_at.is_(None))).scalars())


def _manifest(folder: Path, n: int) -> Path:
    (folder / "img").mkdir()
    rows = []
    for i in range(n):
        (folder / "img" / f"{i}.jpg").write_bytes(jpeg_bytes(colour=(i * 19 % 256, 70, 150)))
        rows.append(row(booking_number=f"S3-{i:04d}", images=f"img/{i}.jpg"))
    return write_manifest(folder / "manifest.csv", rows)


def test_the_store_stops_during_an_import_rows_are_rejected_and_a_rerun_completes_it(
    tmp_path: Path, s3_services: Services, proxy: TcpProxy
) -> None:
    manifest = _manifest(tmp_path, 12)  # three batches of four
    clock = clock_at(FIXED_NOW)
    real_store = s3_services.store
    s3_services.store = StopsAfterFirstBatch(real_store, proxy)  # type: ignore[assignment]

    first = import_manifest(manifest, s3_services, actor="test:import", clock=clock)

    assert first.imported == 4
    assert len(first.rejected) == 8
    assert all(
        r.reason.startswith("blob store unavailable (BlobStoreUnavailable)")
        and "re-run the import" in r.reason
        for r in first.rejected
    )
    s3_services.store = real_store
    with pytest.raises(BlobStoreUnavailable):
        real_store.get(next(iter(_image_ids(s3_services))))  # still down

    proxy.start()  # the store is back, with everything it held
    stored = set(real_store.keys())
    assert _image_ids(s3_services) <= stored  # no row references a missing object
    assert stored == _image_ids(s3_services)  # and the failed batches left no object

    second = import_manifest(manifest, s3_services, actor="test:import", clock=clock)

    assert (second.imported, second.skipped, second.rejected) == (8, 4, [])
    bookings = list(booking_numbers(s3_services))
    assert sorted(bookings) == [f"S3-{i:04d}" for i in range(12)]  # no duplicate
    assert set(real_store.keys()) == _image_ids(s3_services)  # no orphan
    assert check_invariants(s3_services) == {"purged": 0, "live": 12}


def test_the_store_stops_during_a_sweep_shredded_stays_shredded_and_the_janitor_tidies(
    tmp_path: Path, s3_services: Services, proxy: TcpProxy
) -> None:
    rows = [purge_due(f"P-{i}") for i in range(6)] + [
        restrict_then_purge_later(f"R-{i}") for i in range(2)
    ]
    ids = ingest(s3_services, tmp_path, rows)
    due = {ids[f"P-{i}"] for i in range(6)}
    all_blobs = set(s3_services.store.keys())
    clock = clock_at(FIXED_NOW)

    def hook(stage: str, batch_no: int) -> None:
        if stage == "after_commit":
            proxy.stop()  # the store goes away between a batch's commit and its deletes

    first = run_sweep(
        s3_services,
        today=TODAY,
        clock=clock,
        actor="test:sweep",
        confirmed_by="test:supervisor",
        hook=hook,
    )
    # The sweep goes on destroying keys; the undeletable blobs are reported for the janitor.
    assert first.counts["purged"] == 6
    assert first.errors
    assert all("left for the janitor" in e for e in first.errors)

    with s3_services.readers() as s:
        purged = set(
            s.execute(select(Record.id).where(Record.status == RecordStatus.PURGED.value)).scalars()
        )
        keys_left = set(s.execute(select(DataKey.record_id)).scalars())
        assert audit.verify(s).ok
    assert purged == due
    assert not purged & keys_left  # shredded keys stay shredded
    assert set(ids.values()) - purged <= keys_left  # nothing else lost its key

    proxy.start()
    assert set(s3_services.store.keys()) == all_blobs  # the purged blobs remain, as noise
    check_invariants(s3_services)  # every purged record fully purged, every live one opens

    report = run_sweep(
        s3_services, today=TODAY, clock=clock, actor="test:sweep", confirmed_by="test:supervisor"
    )
    assert not report.errors, report.errors
    assert report.counts["purged"] == 0  # nothing left to do: re-running is a no-op
    janitor = run_janitor(s3_services, clock=clock, actor="test:janitor")

    assert janitor.shredded > 0
    assert not janitor.errors
    assert check_invariants(s3_services, janitor_ran=True) == {"purged": 6, "live": 2}
    assert set(s3_services.store.keys()) == _image_ids(s3_services)
    with s3_services.readers() as s:
        assert audit.verify(s).ok
