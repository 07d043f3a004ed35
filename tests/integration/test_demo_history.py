"""The demo starts like a working office: months of decided reviews and a morning's backlog."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from retention.audit import chain as audit
from retention.db.models import (
    AuditEntry,
    Certificate,
    Image,
    Record,
    ReviewDecision,
    SecondApproval,
)
from retention.ingest.demo import write_demo_set
from retention.ingest.demo_history import CLERKS, SUPERVISORS, write_history
from retention.ingest.importer import import_manifest
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import clock_at

TODAY = FIXED_NOW.date()


@pytest.fixture
def demo(services: Services, tmp_path: Path) -> Services:
    manifest = write_demo_set(tmp_path / "demo", 80, 1)
    report = import_manifest(manifest, services, actor="test:demo", clock=clock_at(FIXED_NOW))
    assert report.imported == 80
    return services


def due_reviews(services: Services) -> list[Record]:
    with services.readers() as db:
        return list(
            db.execute(
                select(Record).where(Record.next_action == "review", Record.review_due_on < TODAY)
            ).scalars()
        )


def test_all_but_the_backlog_is_decided_in_the_past_by_two_people_where_it_must_be(
    demo: Services,
) -> None:
    before = due_reviews(demo)
    assert len(before) > 10
    with demo.sessions() as db, db.begin():
        history = write_history(db, demo.keyring, today=TODAY, seed=1, backlog=6)
    demo.store.delete_many(history.blob_keys)
    after = due_reviews(demo)
    assert history.backlog == 6
    assert len(after) == 6 + history.refused
    # The backlog is what fell due most recently: the office works the oldest first.
    newest = sorted(before, key=lambda r: (r.review_due_on, r.id))[-6:]
    assert {r.id for r in newest} <= {r.id for r in after}
    with demo.readers() as db:
        decisions = list(db.execute(select(ReviewDecision)).scalars())
        certs = list(db.execute(select(Certificate)).scalars())
        approvals = list(db.execute(select(SecondApproval)).scalars())
        entries = list(db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())
        assert audit.verify(db).ok
    # A purged record's review decision and second approval go with its tombstone.
    assert (
        len(decisions)
        == sum(history.decided.values()) - history.decided.get("purge", 0) + history.waiting
    )
    assert len(decisions) + history.decided.get("purge", 0) == len(before) - len(after)
    assert Counter(d.decision for d in decisions) == Counter(
        {k: v for k, v in history.decided.items() if k != "purge"}
    )
    assert all(d.decided_at.date() < TODAY and d.decided_at.weekday() < 5 for d in decisions)
    assert {d.decided_by for d in decisions} <= set(CLERKS)
    # Each purge: a clerk's decision confirmed by a supervisor the next day, with a certificate.
    assert len(certs) == history.decided.get("purge", 0)
    for cert in certs:
        assert cert.body["reason"]["decided_by"] in CLERKS
        assert cert.body["reason"]["confirmed_by"] in SUPERVISORS
    assert Counter(a.state for a in approvals) == Counter({"pending": history.waiting}) - Counter()
    # History is written in date order after the import.
    history_entries = [e for e in entries if e.actor.startswith("demo-")]
    times = [e.occurred_at for e in history_entries]
    assert times == sorted(times)
    with demo.readers() as db:
        purged_images = set(
            db.execute(
                select(Image.id).where(Image.record_id.in_([c.record_id for c in certs]))
            ).scalars()
        )
    assert set(history.blob_keys) == purged_images


def test_the_same_seed_writes_the_same_history_and_another_seed_does_not(demo: Services) -> None:
    def written(seed: int) -> list[tuple[str, str, str, str]]:
        with demo.sessions() as db:
            tx = db.begin()
            write_history(db, demo.keyring, today=TODAY, seed=seed, backlog=3)
            rows = sorted(
                (r.record_id, r.decision, r.decided_by, r.decided_at.isoformat())
                for r in db.execute(select(ReviewDecision)).scalars()
            )
            tx.rollback()
        return rows

    first = written(7)
    assert first
    assert written(7) == first
    assert written(8) != first
