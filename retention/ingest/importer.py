"""Bulk import of a CSV manifest (``mugshot import``).

Layer: ``retention.ingest``.

Streams the manifest (memory stays flat in its size): each row is parsed, its image files are
read and validated on a small thread pool, sealed under a fresh data key,
and the good rows are committed in batches. Every row is all-or-nothing: a bad row never reaches the
database and goes to the reject report with its line number and reason, while the good rows
land. Re-running a manifest skips rows already imported with the same data (a keyed fingerprint
of every field and image), refuses a row whose booking is stored with different data or was
purged, and — after a crash — imports what the crash lost, overwriting its half-written blobs.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from retention.audit import chain as audit
from retention.db.models import Record, RecordStatus
from retention.engine.decisions import PackResolver
from retention.errors import ImageRejectedError, ManifestError, RetentionError
from retention.ingest import bookings
from retention.ingest.manifest import Booking, check_header, image_paths, parse_booking
from retention.services import Services
from retention.settings import Settings
from retention.storage.images import CheckedImage

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class Rejected:
    """One rejected row: where, which booking, and why (no personal data)."""

    line: int
    booking_number: str
    reason: str


@dataclass
class ImportReport:
    """What an import did."""

    rows: int = 0
    imported: int = 0
    skipped: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    manifest_sha256: str = ""

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return not self.rejected


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    booking_number: str
    booking: Booking | None
    paths: list[Path]
    error: str | None


def scan_manifest(path: Path) -> tuple[str, int]:
    """SHA-256 and data-line count of a manifest, streaming (for provenance and progress)."""
    digest = hashlib.sha256()
    lines = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            lines += chunk.count(b"\n")
    return digest.hexdigest(), max(lines - 1, 0)


def _rows(path: Path, today: dt.date) -> Iterator[_Row]:
    base = path.parent
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, strict=True)
        check_header(reader.fieldnames)
        line = reader.line_num + 1
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield _Row(line, "", None, [], f"malformed CSV: {exc}")
                line = reader.line_num + 1
                continue
            except UnicodeDecodeError:
                raise ManifestError(f"line {line}: manifest is not UTF-8") from None
            booking_number = (raw.get("booking_number") or "").strip()[:64]
            if None in raw or any(v is None for v in raw.values()):
                yield _Row(line, booking_number, None, [], "wrong number of fields")
            else:
                try:
                    booking = parse_booking(raw, today=today)
                    paths = [(base / p) for p in image_paths(raw)]
                    yield _Row(line, booking_number, booking, paths, None)
                except ManifestError as exc:
                    yield _Row(line, booking_number, None, [], str(exc))
            line = reader.line_num + 1


def _read_and_check(paths: list[Path], settings: Settings) -> list[CheckedImage]:
    """Read and validate a row's images (runs on a worker thread; touches no database)."""
    checked: list[CheckedImage] = []
    for index, p in enumerate(paths, start=1):
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise ManifestError(f"column images: image {index} ({p.name}) not found") from None
        except IsADirectoryError:
            raise ManifestError(f"column images: image {index} ({p.name}) is a folder") from None
        except OSError as exc:
            raise ManifestError(
                f"column images: image {index} ({p.name}) unreadable ({exc.strerror})"
            ) from None
        try:
            checked.extend(bookings.check_images([data], settings))
        except ImageRejectedError as exc:
            raise ImageRejectedError(f"image {index} ({p.name}): {exc}") from None
    return checked


class _Batcher:
    """Commits prepared bookings in batches; falls back to one row at a time on conflict.

    Batches are committed on a thread of their own, one at a time and in manifest order, so
    the next batch is read, decoded and sealed while the previous one's blobs are written and
    its rows committed: with a remote object store the uploads overlap Pillow's work instead
    of following it. At most two batches are in memory (one filling, one committing).
    """

    def __init__(
        self,
        services: Services,
        report: ImportReport,
        clock: Clock,
        actor: str,
        committer: ThreadPoolExecutor,
    ):
        self.services = services
        self.report = report
        self.clock = clock
        self.actor = actor
        self.pending: list[tuple[int, bookings.PreparedBooking]] = []
        self._committer = committer
        self._committing: Future[None] | None = None

    def add(self, line: int, prepared: bookings.PreparedBooking) -> None:
        self.pending.append((line, prepared))
        if len(self.pending) >= self.services.settings.import_batch_size:
            self.flush()

    def flush(self) -> None:
        """Hand the pending rows to the committer once the batch before them is committed."""
        batch, self.pending = self.pending, []
        self.wait()
        if batch:
            self._committing = self._committer.submit(self._commit_batch, batch)

    def wait(self) -> None:
        """Wait for the batch being committed; its exception, if any, is raised here."""
        committing, self._committing = self._committing, None
        if committing is not None:
            committing.result()

    def _commit_batch(self, batch: list[tuple[int, bookings.PreparedBooking]]) -> None:
        try:
            self._commit(batch)
        except DBIntegrityError:
            # Another importer took one of these bookings meanwhile: isolate row by row.
            for item in batch:
                try:
                    self._commit([item])
                except DBIntegrityError:
                    self._commit([item])  # the winner is now visible: skip or conflict

    def _commit(self, batch: list[tuple[int, bookings.PreparedBooking]]) -> None:
        outcomes: list[tuple[str, int, bookings.PreparedBooking, str]] = []
        try:
            with self.services.sessions() as session, session.begin():
                bidxs = {p.booking_bidx for _, p in batch}
                existing = {
                    (agency, bidx): (fingerprint, status)
                    for agency, bidx, fingerprint, status in session.execute(
                        select(
                            Record.agency,
                            Record.booking_bidx,
                            Record.import_fingerprint,
                            Record.status,
                        ).where(Record.booking_bidx.in_(bidxs))
                    )
                }
                now = self.clock()
                to_store: list[bookings.PreparedBooking] = []
                for line, p in batch:
                    key = (p.booking.agency, p.booking_bidx)
                    if key in existing:
                        fingerprint, status = existing[key]
                        refusal = bookings.refusal_against_stored(
                            p, fingerprint=fingerprint, status=status
                        )
                        if refusal is None:
                            outcomes.append(("skip", line, p, ""))
                        else:
                            outcomes.append(("reject", line, p, refusal))
                        continue
                    existing[key] = (p.fingerprint, RecordStatus.ACTIVE.value)
                    to_store.append(p)
                    outcomes.append(("import", line, p, ""))
                bookings.stage_many(session, to_store, now=now, actor=self.actor)
                bookings.write_blobs(self.services.store, to_store)
        except OSError as exc:
            for line, p in batch:
                self.report.rejected.append(
                    Rejected(
                        line,
                        p.booking.booking_number,
                        f"blob store unavailable ({type(exc).__name__}); row not imported, "
                        "re-run the import",
                    )
                )
            return
        for kind, line, p, reason in outcomes:
            if kind == "import":
                self.report.imported += 1
            elif kind == "skip":
                self.report.skipped += 1
            else:
                self.report.rejected.append(Rejected(line, p.booking.booking_number, reason))


def import_manifest(
    path: Path,
    services: Services,
    *,
    actor: str,
    clock: Clock,
    progress: Callable[[int], None] | None = None,
    workers: int = 2,
) -> ImportReport:
    """Import every row of ``path``; returns the report (rejected rows included)."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest {path} not found")
    digest, _ = scan_manifest(path)
    report = ImportReport(manifest_sha256=digest)
    today = clock().date()
    with services.readers() as session:
        resolver = PackResolver(session)
    committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-commit")
    batcher = _Batcher(services, report, clock, actor, committer)
    window = 8 * workers  # rows being decoded ahead of the batch being committed
    in_flight: deque[tuple[_Row, Future[list[CheckedImage]] | None]] = deque()

    def drain_one() -> None:
        row, future = in_flight.popleft()
        report.rows += 1
        if future is None:
            report.rejected.append(Rejected(row.line, row.booking_number, row.error or "invalid"))
        else:
            try:
                checked = future.result()
            except RetentionError as exc:
                report.rejected.append(Rejected(row.line, row.booking_number, str(exc)))
            else:
                assert row.booking is not None
                source = bookings.Source("manifest", path.name, digest, row.line)
                prepared = bookings.prepare(
                    row.booking,
                    checked,
                    keyring=services.keyring,
                    source=source,
                    pack_for=resolver.pack_for,
                    today=today,
                )
                batcher.add(row.line, prepared)
        if progress is not None:
            progress(1)

    # Pillow decodes and resizes with the GIL released, so threads keep both cores busy
    # (worker processes measured no faster and cost a spawn per import).
    with committer, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import") as pool:
        for row in _rows(path, today):
            if row.error is None:
                in_flight.append((row, pool.submit(_read_and_check, row.paths, services.settings)))
            else:
                in_flight.append((row, None))
            while len(in_flight) >= window:
                drain_one()
        while in_flight:
            drain_one()
        batcher.flush()
        batcher.wait()
    report.rejected.sort(key=lambda r: r.line)
    audit.record(
        services.sessions,
        now=clock(),
        actor=actor,
        action="import.completed",
        object_type="manifest",
        object_id=digest[:32],
        details={
            "rows": report.rows,
            "imported": report.imported,
            "skipped": report.skipped,
            "rejected": len(report.rejected),
        },
    )
    return report


def write_reject_report(report: ImportReport, path: Path) -> None:
    """CSV of rejected rows: line, booking_number, reason."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["line", "booking_number", "reason"])
        for r in report.rejected:
            writer.writerow([r.line, r.booking_number, r.reason])
