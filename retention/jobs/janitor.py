"""The janitor: removes blobs that no key can open any more, and leftovers of crashed writes.

Layer: ``retention.jobs``. A purge deletes its blobs after its transaction commits; if the process
dies in between, or the store is unreachable then, the blobs stay — sealed under a data key that
no longer exists, so they are noise, but they must still go. Which rows name blobs is the
registry's business (``retention.db.blobrefs``: images, removal-request evidence, …). The janitor
deletes every blob whose referencing row has lost its key (a purged record's images, the
evidence of a request whose key was destroyed), every blob no row references once it is older
than a grace period (an import or a request in flight writes its blobs just before its rows
commit), and stale temp files of interrupted writes. A blob some row references with a live key
is never deleted, however old.

It works a chunk of keys at a time, sends a heartbeat (its counts so far) after each, and stops
between chunks when its ``stop`` event is set (a scheduler shutting down): ``interrupted``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from retention.audit import chain as audit
from retention.db import blobrefs
from retention.db.models import JobRunStatus
from retention.jobs import runs
from retention.services import Services
from retention.storage.local import LocalBlobStore

Clock = Callable[[], dt.datetime]
DEFAULT_GRACE = dt.timedelta(hours=1)
CHUNK = 500


@dataclass
class JanitorReport:
    """What the janitor removed."""

    checked: int = 0
    shredded: int = 0
    orphans: int = 0
    temp_files: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def removed(self) -> int:
        """Blobs and temp files deleted."""
        return self.shredded + self.orphans + self.temp_files


def _chunks(keys: Iterator[str]) -> Iterator[list[str]]:
    while chunk := list(islice(keys, CHUNK)):
        yield chunk


def _counts(report: JanitorReport) -> dict[str, int]:
    return {
        "checked": report.checked,
        "shredded": report.shredded,
        "orphans": report.orphans,
        "temp_files": report.temp_files,
    }


def run_janitor(
    services: Services,
    *,
    clock: Clock,
    actor: str,
    grace: dt.timedelta = DEFAULT_GRACE,
    stop: threading.Event | None = None,
) -> JanitorReport:
    """One pass over the whole blob store (``stop`` ends it between two chunks)."""
    now = clock()
    job_id = runs.start(services, "janitor", actor=actor, now=now)
    report = JanitorReport()
    status = JobRunStatus.OK
    store = services.store
    interrupted = False
    try:
        for chunk in _chunks(store.keys()):
            if stop is not None and stop.is_set():
                interrupted = True
                break
            report.checked += len(chunk)
            with services.readers() as session:
                refs = blobrefs.references(session, chunk)
            for blob in chunk:
                ref = refs.get(blob)
                if ref is not None:
                    if not ref.key_alive:  # its row's key is gone: crypto-shredded noise
                        store.delete(blob)
                        report.shredded += 1
                    continue
                written = store.modified_at(blob)
                if written is not None and now - written > grace:
                    store.delete(blob)
                    report.orphans += 1
            runs.heartbeat(services, job_id, now=clock(), counts=_counts(report))
        if isinstance(store, LocalBlobStore) and not interrupted:
            for tmp in store.stray_temp_files():
                age = now - dt.datetime.fromtimestamp(tmp.stat().st_mtime, dt.UTC)
                if age > grace:
                    tmp.unlink(missing_ok=True)
                    report.temp_files += 1
        if report.removed:
            audit.record(
                services.sessions,
                now=clock(),
                actor=actor,
                action="janitor.interrupted" if interrupted else "janitor.completed",
                object_type="job",
                object_id=job_id,
                details=_counts(report),
            )
        if interrupted:
            status = JobRunStatus.INTERRUPTED
    except BaseException as exc:
        status = JobRunStatus.FAILED
        report.errors.append(f"{type(exc).__name__}: {exc}"[:500])
        raise
    finally:
        runs.finish(
            services,
            job_id,
            status=status,
            now=clock(),
            counts=_counts(report),
            errors=report.errors,
        )
    return report
