"""The request queue's stored counts stay exact through filing, imports, searches and purges.

``removal_requests.candidates_found`` and ``same_identity_requests`` are what the queue sorts
and filters on (``retention.db.request_counts``); each change that alters what they count
recounts them in its own transaction. After every step the stored values must equal a count
computed from scratch.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from retention.db import request_counts
from retention.db.models import Record, RecordStatus, RemovalRequest, RequestSearchHit
from retention.engine.purge import purge_record
from retention.requests import workflow
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.integration.engine_helpers import file_request, ingest, review_due

NAME = "Marisol Quennell-Abara"
DOB = dt.date(1986, 3, 9)
WHY = "The requester named a second booking in her answer"


def stored(services: Services) -> dict[str, tuple[int, int]]:
    with services.readers() as db:
        return {
            r.id: (r.candidates_found, r.same_identity_requests)
            for r in db.execute(select(RemovalRequest)).scalars()
        }


def from_scratch(services: Services) -> dict[str, tuple[int, int]]:
    """The counts computed independently, request by request."""
    with services.readers() as db:
        found = {}
        requests = list(db.execute(select(RemovalRequest)).scalars())
        for req in requests:
            live = [
                r
                for r in db.execute(select(Record)).scalars()
                if r.status != RecordStatus.PURGED.value
            ]
            searched = set(
                db.execute(
                    select(RequestSearchHit.record_id).where(RequestSearchHit.request_id == req.id)
                ).scalars()
            )
            candidates = {
                r.id
                for r in live
                if (req.name_dob_bidx and r.name_dob_bidx == req.name_dob_bidx)
                or (req.booking_bidx and r.booking_bidx == req.booking_bidx)
                or r.id in searched
            }
            same = sum(
                1
                for o in requests
                if o.id != req.id and o.name_dob_bidx and o.name_dob_bidx == req.name_dob_bidx
            )
            found[req.id] = (len(candidates), same)
        return found


def test_the_counts_follow_every_change_that_alters_them(
    services: Services, tmp_path: Path
) -> None:
    first, _ = file_request(services, name=NAME, dob=DOB)
    stranger, _ = file_request(services, name="Nobody Known", dob=dt.date(1970, 1, 1))
    assert stored(services) == {first: (0, 0), stranger: (0, 0)}

    # Her booking is imported after she asked: her request now finds it.
    ids = ingest(
        services,
        tmp_path,
        [
            review_due("MPS-1") | {"name": NAME, "date_of_birth": DOB.isoformat()},
            review_due("MPS-2") | {"name": "Someone Else"},
        ],
    )
    assert stored(services)[first] == (1, 0)

    # She asks again, naming the other booking: both requests see each other.
    second, _ = file_request(services, name=NAME, dob=DOB, booking="MPS-2")
    assert stored(services)[first] == (1, 1)
    assert stored(services)[second] == (2, 1)

    # A search from the first request's page finds the other booking.
    with services.sessions() as db, db.begin():
        workflow.search(
            db,
            services.keyring,
            first,
            booking_number="MPS-2",
            actor="clerk.ann",
            reason=WHY,
            now=FIXED_NOW,
        )
    assert stored(services)[first] == (2, 1)
    assert stored(services) == from_scratch(services)

    # Her record is purged: a tombstone is no candidate of either request.
    with services.sessions() as db, db.begin():
        record = db.get(Record, ids["MPS-1"])
        assert record is not None
        purge_record(
            db, services.keyring, record, now=FIXED_NOW, actor="test", reason={"why": "test"}
        )
    assert stored(services)[first] == (1, 1)
    assert stored(services)[second] == (1, 1)
    assert stored(services)[stranger] == (0, 0)
    assert stored(services) == from_scratch(services)


def test_recounting_everything_repairs_counts_and_agrees_with_the_running_ones(
    services: Services, tmp_path: Path
) -> None:
    ingest(
        services, tmp_path, [review_due("MPS-1") | {"name": NAME, "date_of_birth": DOB.isoformat()}]
    )
    a, _ = file_request(services, name=NAME, dob=DOB)
    b, _ = file_request(services, name=NAME, dob=DOB)
    kept = stored(services)
    with services.sessions() as db, db.begin():
        db.execute(
            RemovalRequest.__table__.update().values(candidates_found=7, same_identity_requests=7)
        )
    with services.sessions() as db, db.begin():
        request_counts.recount_everything(db)
    assert stored(services) == kept == {a: (1, 1), b: (1, 1)}
