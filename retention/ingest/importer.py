"""Bulk import of a CSV manifest (``mugshot import``).

Layer: ``retention.ingest``.

Streams the manifest (memory stays flat in its size): each row is parsed, its image files are
read and validated on a small thread pool, sealed under a fresh data key,
and the good rows are committed in batches. Every row is all-or-nothing: a bad row never reaches the
database and goes to the reject report with its line number and reason, while the good rows
land. Re-running a manifest skips rows already imported with the same data (a keyed fingerprint
of every field and image), refuses a row whose booking is stored with different data or was
purged, and — after a crash — imports what the crash lost, overwriting its half-written blobs.

Image paths stay inside the manifest's folder. A path is resolved (symlinks followed) before
anything is opened, and the file actually opened is checked again, so ``../``, absolute paths
and symlinks that lead out are all one reject reason (``OUTSIDE``) that says nothing about
whether such a file exists: the import is not an oracle for files elsewhere on the machine.
Only paths inside the folder get the finer reasons (not found, a folder, not an image).

The reject report is written for people who open it in a spreadsheet: a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` so it is text,
never a formula (CSV injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import hashlib
import os
import stat
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from retention.audit import chain as audit
from retention.db import blobrefs
from retention.db.models import Record, RecordStatus
from retention.db.sessions import database_fault
from retention.engine.decisions import PackResolver
from retention.errors import ImageRejectedError, ManifestError, RetentionError
from retention.files import neutralise
from retention.ingest import bookings
from retention.ingest.manifest import Booking, check_header, image_paths, parse_booking
from retention.services import Services
from retention.settings import Settings
from retention.storage.images import CheckedImage
from retention.storage.interface import BlobStoreFull, BlobStoreReadOnly

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
    # What went wrong beyond single rows (a storage fault, a summary not audited), for the end
    # of the summary; ids and messages only.
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return not self.rejected


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    booking_number: str
    booking: Booking | None
    paths: list[str]
    error: str | None


OUTSIDE = "is not a file inside the manifest's folder (paths are relative to it; no symlinks out)"
# A reject-report cell starting with one of these would be a formula in a spreadsheet.


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
                    yield _Row(line, booking_number, booking, image_paths(raw), None)
                except ManifestError as exc:
                    yield _Row(line, booking_number, None, [], str(exc))
            line = reader.line_num + 1


def _inside(folder: Path, relative: str) -> Path | None:
    """``relative`` resolved against ``folder`` (already resolved), symlinks followed; None when
    the result is not inside ``folder``. Decided from the path and the links alone, so it says
    nothing about whether the target exists."""
    if os.path.isabs(relative):
        return None
    try:
        resolved = (folder / relative).resolve(strict=False)
    except (OSError, RuntimeError, ValueError):  # a symlink loop, an impossible name
        return None
    return resolved if resolved.is_relative_to(folder) else None


def _opened_inside(fd: int, folder: Path, expected: Path) -> bool:
    """True when the open file ``fd`` is the one checked inside ``folder``: a symlink swapped in
    between the check and the open is caught here."""
    proc = Path(f"/proc/self/fd/{fd}")
    try:
        actual = Path(os.readlink(proc))
    except OSError:  # no /proc: the file must be the one the resolved path names
        try:
            st, want = os.fstat(fd), os.stat(expected)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino)
    return actual.is_relative_to(folder)


def read_image_file(folder: Path, relative: str, index: int, max_bytes: int) -> bytes:
    """The bytes of image ``index`` at ``relative`` inside ``folder`` (the manifest's, resolved);
    raises ``ManifestError`` or ``ImageRejectedError`` with the row's reason."""
    where = f"column images: image {index}"
    path = _inside(folder, relative)
    if path is None:
        raise ManifestError(f"{where} {OUTSIDE}")
    name = f"{where} ({Path(relative).name})"
    try:
        # The resolved path has no symlink left in it: one swapped in since is ELOOP (outside).
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ManifestError(f"{name} not found") from None
    except IsADirectoryError:
        raise ManifestError(f"{name} is a folder") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ManifestError(f"{where} {OUTSIDE}") from None
        raise ManifestError(f"{name} unreadable ({exc.strerror})") from None
    try:
        if not _opened_inside(fd, folder, path):
            raise ManifestError(f"{where} {OUTSIDE}")
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ManifestError(f"{name} is a folder")
        if not stat.S_ISREG(st.st_mode):
            raise ManifestError(f"{name} is not a regular file")
        if st.st_size > max_bytes:
            raise ImageRejectedError(
                f"image {index} ({Path(relative).name}): file is {st.st_size} bytes; "
                f"the limit is {max_bytes}"
            )
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(max_bytes + 1)
    except OSError as exc:
        raise ManifestError(f"{name} unreadable ({exc.strerror})") from None
    finally:
        os.close(fd)


def _read_and_check(paths: list[str], folder: Path, settings: Settings) -> list[CheckedImage]:
    """Read and validate a row's images (runs on a worker thread; touches no database)."""
    checked: list[CheckedImage] = []
    for index, relative in enumerate(paths, start=1):
        data = read_image_file(folder, relative, index, settings.max_image_bytes)
        try:
            checked.extend(bookings.check_images([data], settings))
        except ImageRejectedError as exc:
            name = Path(relative).name
            raise ImageRejectedError(f"image {index} ({name}): {exc}") from None
    return checked


class _Fault(Exception):
    """A storage fault that stopped a batch: its message is the rejected rows' reason."""


def _store_fault(exc: Exception) -> _Fault | None:
    """The reason for rows the blob store could not take (full, read-only, unreachable,
    misconfigured), or None when ``exc`` is not a store fault."""
    then = "row not imported"
    if isinstance(exc, BlobStoreFull):
        return _Fault(f"{exc.strerror}; {then} — free space on the store, then re-run the import")
    if isinstance(exc, BlobStoreReadOnly):
        return _Fault(f"{exc.strerror}; {then} — make the store writable, then re-run the import")
    if isinstance(exc, OSError):  # BlobStoreUnavailable and any other failing disk or network
        return _Fault(f"blob store unavailable ({type(exc).__name__}); {then}, re-run the import")
    if isinstance(exc, RetentionError):  # a missing bucket, denied access (S3)
        return _Fault(
            f"{exc}; {then} — fix the blob store (MUGSHOT_BLOB_STORE; `mugshot init` creates a "
            "missing bucket), then re-run the import"
        )
    return None


def _database_fault(exc: BaseException) -> _Fault | None:
    reason = database_fault(exc)
    if reason is None:
        return None
    return _Fault(
        f"{reason}; row not imported — free space for the database, then re-run the import"
    )


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
        written: list[str] = []
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
                written = [image.id for p in to_store for image in p.images]
                try:
                    bookings.write_blobs(self.services.store, to_store)
                except (OSError, RetentionError) as exc:
                    fault = _store_fault(exc)
                    assert fault is not None
                    raise fault from exc
        except DBIntegrityError:
            self._remove_unreferenced(written)
            raise
        except Exception as exc:
            fault = exc if isinstance(exc, _Fault) else _database_fault(exc)
            if fault is None:
                self._remove_unreferenced(written)
                raise
            self._remove_unreferenced(written)
            self._reject_after_fault(batch, outcomes, str(fault))
            return
        for kind, line, p, reason in outcomes:
            if kind == "import":
                self.report.imported += 1
            elif kind == "skip":
                self.report.skipped += 1
            else:
                self.report.rejected.append(Rejected(line, p.booking.booking_number, reason))

    def _reject_after_fault(
        self,
        batch: list[tuple[int, bookings.PreparedBooking]],
        outcomes: list[tuple[str, int, bookings.PreparedBooking, str]],
        reason: str,
    ) -> None:
        """Count a batch whose transaction a storage fault rolled back: rows that were to be
        stored are rejected with the fault's reason; rows already decided (present, or refused
        on their own merits) keep that outcome."""
        if reason not in self.report.warnings:
            self.report.warnings.append(reason)
        decided = {line: (kind, why) for kind, line, _, why in outcomes}
        for line, p in batch:
            kind, why = decided.get(line, ("import", ""))
            if kind == "skip":
                self.report.skipped += 1
            elif kind == "reject":
                self.report.rejected.append(Rejected(line, p.booking.booking_number, why))
            else:
                self.report.rejected.append(Rejected(line, p.booking.booking_number, reason))

    def _remove_unreferenced(self, keys: list[str]) -> None:
        if not remove_unreferenced_blobs(self.services, keys):
            self.report.warnings.append(
                "blobs of the failed rows could not be removed now; `mugshot janitor` "
                "removes them once the store and database are back"
            )


def remove_unreferenced_blobs(services: Services, keys: list[str]) -> bool:
    """Delete at once the blobs a failed write left, except any a committed row names (a
    concurrent import of the same booking): no orphan waits for the janitor's grace period.
    False when the store or database cannot be asked now (the janitor removes them later)."""
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        try:
            with services.readers() as session:
                referenced = blobrefs.references(session, chunk)
            services.store.delete_many(k for k in chunk if k not in referenced)
        except Exception:  # cleanup must never hide the fault that made it necessary
            return False
    return True


def storage_fault(exc: BaseException) -> str | None:
    """What a storage fault is, in words (the database or blob store full, the store read-only,
    unreachable or misconfigured), or None when ``exc`` is not one. For the API's answer."""
    database = database_fault(exc)
    if database is not None:
        return database
    if isinstance(exc, BlobStoreFull | BlobStoreReadOnly):
        return str(exc.strerror)
    if isinstance(exc, OSError):
        return f"blob store unavailable ({type(exc).__name__})"
    if isinstance(exc, RetentionError):
        return str(exc)
    return None


def import_manifest(
    path: Path,
    services: Services,
    *,
    actor: str,
    clock: Clock,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import every row of ``path``; returns the report (rejected rows included).

    ``workers`` threads (default: the ``import_workers`` setting, the number of cores) read,
    decode, validate and thumbnail images; rows are prepared and committed in manifest order
    whatever order the workers finish in, and each row is stored whole or not at all.
    """
    if workers is None:
        workers = services.settings.import_workers
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
    folder = path.parent.resolve()
    with committer, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import") as pool:
        for row in _rows(path, today):
            if row.error is None:
                in_flight.append(
                    (row, pool.submit(_read_and_check, row.paths, folder, services.settings))
                )
            else:
                in_flight.append((row, None))
            while len(in_flight) >= window:
                drain_one()
        while in_flight:
            drain_one()
        batcher.flush()
        batcher.wait()
    report.rejected.sort(key=lambda r: r.line)
    try:
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
    except Exception as exc:
        # Every imported row has its own audit entry already; a summary entry the full
        # database cannot take must not hide the summary and reject report from the clerk.
        fault = database_fault(exc)
        if fault is None:
            raise
        report.warnings.append(f"the import.completed audit entry was not written: {fault}")
    return report


def write_reject_report(report: ImportReport, path: Path) -> None:
    """CSV of rejected rows: line, booking_number, reason (mode 0600: it names bookings).
    Every cell is neutralised against formula injection."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        writer = csv.writer(fh)
        writer.writerow(["line", "booking_number", "reason"])
        for r in report.rejected:
            writer.writerow([str(r.line), neutralise(r.booking_number), neutralise(r.reason)])
