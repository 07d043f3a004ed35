"""The janitor deletes only blobs that nothing references, or that a destroyed key made noise.

Invariant 12: every blob is referenced by exactly one kind of row that the janitor knows, and
nothing referenced is ever collected. One test per kind of blob, each asserting on what is left
in the blob store, not on the janitor's counts alone.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select, update

from policies.vocabulary import Jurisdiction, RequestKind
from retention.db import blobrefs
from retention.db.models import Image, JobRun, Record, RemovalRequest
from retention.engine.purge import purge_record
from retention.jobs.janitor import DEFAULT_GRACE, run_janitor
from retention.keys import crypto
from retention.requests import filing
from retention.services import Services
from tests.helpers import png_bytes
from tests.integration.engine_helpers import ingest, review_due

LATER = DEFAULT_GRACE * 3  # well past the grace period
ORPHAN = "0rphan" + "0" * 26


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _clock(offset: dt.timedelta = dt.timedelta(0)):  # type: ignore[no-untyped-def]
    # Blob ages come from the store's own timestamps (real time), so the janitor's clock is
    # real time moved forward, not the tests' fixed date.
    return lambda: _utcnow() + offset


def _blobs(services: Services) -> set[str]:
    return set(services.store.keys())


def _images_of(services: Services, record_id: str) -> set[str]:
    with services.readers() as s:
        return set(s.execute(select(Image.id).where(Image.record_id == record_id)).scalars())


def _file_with_evidence(services: Services, evidence: bytes) -> tuple[str, str]:
    """File a request with an evidence upload; returns (request id, evidence blob key)."""
    with services.sessions() as s, s.begin():
        req, _ = filing.file_request(
            s,
            services.keyring,
            services.store,
            claims=filing.Claims(
                name="Marisol Quennell-Abara",
                date_of_birth=dt.date(1990, 2, 3),
                contact="reply-by-post@example.invalid",
            ),
            kind=RequestKind.ERASURE,
            jurisdiction=Jurisdiction.GB_ENG,
            grounds=["acquitted"],
            evidence=evidence,
            now=_utcnow(),
        )
        assert req.evidence_blob is not None
        return req.id, req.evidence_blob


def _evidence_opens(services: Services, request_id: str) -> bytes:
    with services.readers() as s:
        req = s.get(RemovalRequest, request_id)
        assert req is not None
        assert req.evidence_blob is not None
        return crypto.open_blob(
            filing.request_key(services.keyring, req),
            services.store.get(req.evidence_blob),
            record_id=req.id,
            image_id=req.evidence_blob,
        )


def _live_record(services: Services, tmp_path: Path, booking: str = "J-LIVE") -> str:
    return ingest(services, tmp_path, [review_due(booking)])[booking]


def test_request_evidence_older_than_the_grace_period_survives_the_janitor(
    services: Services, tmp_path: Path
) -> None:
    record_id = _live_record(services, tmp_path)
    evidence = png_bytes()
    request_id, key = _file_with_evidence(services, evidence)
    before = _blobs(services)
    assert key in before
    assert _images_of(services, record_id) < before

    report = run_janitor(services, clock=_clock(LATER), actor="test:janitor")

    assert _blobs(services) == before
    assert _evidence_opens(services, request_id) == evidence
    assert (report.orphans, report.shredded) == (0, 0)


def test_a_true_orphan_older_than_the_grace_period_is_deleted(
    services: Services, tmp_path: Path
) -> None:
    _live_record(services, tmp_path)
    _file_with_evidence(services, png_bytes())
    kept = _blobs(services)
    services.store.put(ORPHAN, b"sealed bytes no row names")

    report = run_janitor(services, clock=_clock(LATER), actor="test:janitor")

    assert _blobs(services) == kept
    assert report.orphans == 1


def test_a_young_orphan_survives(services: Services, tmp_path: Path) -> None:
    _live_record(services, tmp_path)
    services.store.put(ORPHAN, b"an import in flight writes its blobs before its rows")
    before = _blobs(services)

    report = run_janitor(services, clock=_clock(), actor="test:janitor")

    assert _blobs(services) == before
    assert ORPHAN in before
    assert report.removed == 0


def test_the_images_of_a_purged_record_are_deleted_at_once(
    services: Services, tmp_path: Path
) -> None:
    ids = ingest(services, tmp_path, [review_due("J-GONE"), review_due("J-KEPT")])
    before = _blobs(services)
    gone = _images_of(services, ids["J-GONE"])
    assert gone
    assert gone < before
    with services.sessions() as s, s.begin():
        rec = s.get(Record, ids["J-GONE"])
        assert rec is not None
        # The purge's transaction commits; the process dies before it deletes the blobs.
        purge_record(s, services.keyring, rec, now=_utcnow(), actor="t", reason={"rule": "t"})

    report = run_janitor(services, clock=_clock(), actor="test:janitor")

    assert _blobs(services) == before - gone
    assert report.shredded == len(gone)


def test_evidence_of_a_request_whose_key_was_destroyed_is_deleted_at_once(
    services: Services, tmp_path: Path
) -> None:
    _live_record(services, tmp_path)
    request_id, key = _file_with_evidence(services, png_bytes())
    before = _blobs(services)
    with services.sessions() as s, s.begin():
        s.execute(
            update(RemovalRequest)
            .where(RemovalRequest.id == request_id)
            .values(wrapped_key=None, key_id=None, kek_version=None, claims_sealed=None)
        )

    report = run_janitor(services, clock=_clock(), actor="test:janitor")

    assert _blobs(services) == before - {key}
    assert report.shredded == 1


def test_every_blob_the_product_writes_is_named_by_a_kind_of_row_the_registry_knows(
    services: Services, tmp_path: Path
) -> None:
    ingest(services, tmp_path, [review_due("J-1"), review_due("J-2")])
    _, evidence_key = _file_with_evidence(services, png_bytes())
    blobs = _blobs(services)
    with services.readers() as s:
        refs = blobrefs.references(s, sorted(blobs))
    assert set(refs) == blobs
    assert all(ref.key_alive for ref in refs.values())
    assert refs[evidence_key].kind == "request_evidence"
    assert {ref.kind for ref in refs.values()} == {"image", "request_evidence"}


def test_the_janitor_reports_its_counts_in_its_run(services: Services, tmp_path: Path) -> None:
    _live_record(services, tmp_path)
    services.store.put(ORPHAN, b"old")
    run_janitor(services, clock=_clock(LATER), actor="test:janitor")
    with services.readers() as s:
        [run] = s.execute(select(JobRun).where(JobRun.kind == "janitor")).scalars()
    assert run.status == "ok"
    assert run.counts["orphans"] == 1
    assert run.counts["checked"] == len(_blobs(services)) + 1
