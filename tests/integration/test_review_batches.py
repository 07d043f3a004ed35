"""Batch disposition review: one decision for many records, each evaluated and audited alone.

The queue's counts and filters (``retention.engine.review_queue``) and the batch operations
(``retention.engine.reviews``): keep, purge through the two-person rule and the safety belt,
the sign-off setting, refusals that leave the rest of the batch alone, assignment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from policies import Decision
from policies.vocabulary import Action, HoldKind
from retention.db.models import (
    AuditEntry,
    Certificate,
    Record,
    ReviewDecision,
    SecondApproval,
)
from retention.engine import review_queue, reviews
from retention.engine.authority import Limits, Person
from retention.engine.changes import place_hold
from retention.engine.reasons import ReasonError
from retention.errors import FactError
from retention.jobs.sweep import run_sweep
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import create_staff, review_reason, row
from tests.integration.engine_helpers import TODAY, check_invariants, ingest, review_due, state

WHY = "Batch review of the acquittals due this quarter"
CLERK = Person("clerk.ann", "clerk")
SUPERVISOR = Person("sup.bea", "supervisor")


def convicted_g3(booking: str) -> dict[str, str]:
    """England, convicted (MoPI group 3) long ago: a periodic review fell due years back."""
    return row(
        booking_number=booking,
        outcome="convicted",
        legal_basis="conviction",
        mopi_group="3",
        arrest_date="2014-02-02",
        captured_at="2014-02-02T10:00:00+00:00",
        outcome_date="2014-05-01",
    )


@pytest.fixture
def queued(services: Services, tmp_path: Path) -> dict[str, list[str]]:
    """Six acquittals and three old convictions, queued for review by the sweep."""
    ids = ingest(
        services,
        tmp_path,
        [review_due(f"AQ-{n}") for n in range(6)] + [convicted_g3(f"CV-{n}") for n in range(3)],
    )
    run_sweep(services, today=TODAY, clock=lambda: FIXED_NOW, actor="test", confirmed_by="s")
    for staff in (CLERK, SUPERVISOR, Person("clerk.cid", "clerk")):
        create_staff(
            services,
            staff.username,
            staff.role,
            password="correct horse battery staple",
            now=FIXED_NOW,
            actor="test",
        )
    return {
        "acquitted": sorted(v for k, v in ids.items() if k.startswith("AQ-")),
        "convicted": sorted(v for k, v in ids.items() if k.startswith("CV-")),
    }


def entries(services: Services, action: str) -> list[AuditEntry]:
    with services.readers() as db:
        return list(db.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_the_counts_and_filters_cut_the_queue_by_jurisdiction_rule_and_age(
    services: Services, queued: dict[str, list[str]]
) -> None:
    with services.readers() as db:
        counts = review_queue.counts(db, TODAY)
        records = {r.id: r for r in db.execute(select(Record)).scalars()}
    assert counts.total == 9
    assert counts.by_jurisdiction == {"GB-ENG": 9}
    rules = Counter(records[i].decision_rule for i in records)
    assert counts.by_rule == dict(rules)
    assert len(counts.by_rule) == 2
    # Each age bucket counts exactly the records whose review fell due that many days ago.
    for value, _, first, last in review_queue.AGES:
        expected = sum(
            1
            for r in records.values()
            if r.review_due_on is not None
            and (TODAY - r.review_due_on).days >= first
            and (last is None or (TODAY - r.review_due_on).days <= last)
        )
        assert counts.by_age[value] == expected, value
    acquittal_rule = records[queued["acquitted"][0]].decision_rule
    flt = review_queue.ReviewFilter(rule=acquittal_rule or "")
    with services.readers() as db:
        assert review_queue.count(db, flt, TODAY) == 6
        ids = review_queue.matching_ids(db, flt, TODAY, 100)
    assert sorted(ids) == queued["acquitted"]
    with services.readers() as db:
        assert review_queue.count(db, review_queue.ReviewFilter(jurisdiction="US-CA"), TODAY) == 0
        assert (
            review_queue.matching_ids(db, review_queue.ReviewFilter(), TODAY, 4)
            == sorted(records, key=lambda i: (records[i].review_due_on, i))[:5]
        )


def test_a_batch_keep_decides_each_record_alone_with_one_audit_entry_each(
    services: Services, queued: dict[str, list[str]]
) -> None:
    ids = queued["acquitted"]
    with services.sessions() as db, db.begin():
        result = reviews.decide_reviews(
            db,
            services.keyring,
            ids,
            outcome=reviews.ReviewOutcome.KEEP,
            reason=WHY,
            actor=CLERK.username,
            now=FIXED_NOW,
        )
    assert sorted(result.decided) == ids
    assert not result.waiting
    assert not result.refused
    assert not result.purged
    decided = entries(services, "review.decided")
    assert sorted(e.object_id for e in decided) == ids  # one entry per record, no more
    with services.readers() as db:
        rows = list(db.execute(select(ReviewDecision)).scalars())
        left = review_queue.count(db, review_queue.ReviewFilter(), TODAY)
    assert sorted(r.record_id for r in rows) == ids
    assert {review_reason(services, r) for r in rows} == {WHY}
    assert all(state(services, i).review_queued_at is None for i in ids)
    assert left == 3
    check_invariants(services)


def test_a_batch_purge_beyond_the_rule_waits_then_a_second_person_confirms_each(
    services: Services, queued: dict[str, list[str]]
) -> None:
    ids = queued["convicted"]
    with services.sessions() as db, db.begin():
        result = reviews.decide_reviews(
            db,
            services.keyring,
            ids,
            outcome=reviews.ReviewOutcome.PURGE,
            reason=WHY,
            actor=CLERK.username,
            now=FIXED_NOW,
        )
    assert sorted(result.waiting) == ids
    assert not result.purged
    assert all(state(services, i).status == "active" for i in ids)
    assert sorted(e.object_id for e in entries(services, "review.purge_requested")) == ids
    # The one who decided cannot confirm, even as a supervisor; a clerk cannot confirm at all.
    for who in (Person(CLERK.username, "supervisor"), Person("clerk.cid", "clerk")):
        with services.sessions() as db, db.begin():
            refused = reviews.confirm_reviews(
                db, services.keyring, ids, supervisor=who, reason=WHY, now=FIXED_NOW
            )
        assert sorted(refused.refused) == ids
        assert not refused.decided
    assert all(state(services, i).status == "active" for i in ids)
    with services.readers() as db:
        flt = review_queue.ReviewFilter(stage="sign_off")
        assert sorted(review_queue.matching_ids(db, flt, TODAY, 10)) == ids
        assert review_queue.counts(db, TODAY).sign_off == 3
    with services.sessions() as db, db.begin():
        done = reviews.confirm_reviews(
            db,
            services.keyring,
            ids,
            supervisor=SUPERVISOR,
            reason="Checked each against MoPI",
            now=FIXED_NOW,
        )
    assert sorted(done.decided) == ids
    assert len(done.purged) == 3
    for rid in ids:
        assert state(services, rid).status == "purged"
    with services.readers() as db:
        certs = list(db.execute(select(Certificate)).scalars())
        approvals = list(db.execute(select(SecondApproval)).scalars())
    assert sorted(c.record_id for c in certs) == ids
    assert {(c.body["reason"]["decided_by"], c.body["reason"]["confirmed_by"]) for c in certs} == {
        (CLERK.username, SUPERVISOR.username)
    }
    # The tombstone keeps no second approval (the certificates name both people).
    assert approvals == []
    check_invariants(services)


def test_purges_past_the_safety_belt_all_wait_even_where_the_rule_would_allow_one_person(
    services: Services, queued: dict[str, list[str]]
) -> None:
    ids = queued["acquitted"]
    with services.sessions() as db, db.begin():
        result = reviews.decide_reviews(
            db,
            services.keyring,
            ids,
            outcome=reviews.ReviewOutcome.PURGE,
            reason=WHY,
            actor=CLERK.username,
            now=FIXED_NOW,
            limits=Limits(max_share=0.0, max_count=2),
        )
    assert sorted(result.waiting) == ids
    with services.readers() as db:
        whys = {a.details["why"] for a in db.execute(select(SecondApproval)).scalars()}
    # Acquittals are reviewed, not purged, by their rule: beyond the rule comes first.
    assert whys == {"beyond_rule"}


@pytest.mark.parametrize(
    ("outcome", "action", "due", "sign_off", "over_belt", "why"),
    [
        pytest.param("purge", "purge", 0, (), False, None, id="purge-the-rule-says-today"),
        pytest.param("purge", "purge", 0, (), True, "safety_belt", id="purge-past-the-belt"),
        pytest.param("purge", "purge", 30, (), False, "beyond_rule", id="purge-due-later"),
        pytest.param("purge", "review", 0, (), False, "beyond_rule", id="purge-rule-reviews"),
        pytest.param("keep", "review", 0, (), False, None, id="keep"),
        pytest.param("keep", "review", 0, ("keep",), False, "sign_off", id="keep-signed-off"),
        pytest.param("restrict", "review", 0, (), True, None, id="restrict-no-belt"),
        pytest.param("keep_exceptional", "review", 0, (), False, "beyond_rule", id="exceptional"),
    ],
)
def test_which_decisions_wait_for_a_second_person_and_why(
    outcome: str, action: str, due: int, sign_off: tuple[str, ...], over_belt: bool, why: str | None
) -> None:
    current = Decision(
        action=Action(action),
        due_on=TODAY + dt.timedelta(days=due),
        rule="r",
        pack="p",
        pack_version="1",
        citation="c",
        explanation="e",
    )
    found = reviews._why_second_person(
        reviews.ReviewOutcome(outcome),
        current,
        TODAY,
        sign_off={reviews.ReviewOutcome(s) for s in sign_off},
        over_belt=over_belt,
    )
    assert found == why


def test_the_sign_off_setting_makes_restrictions_wait_for_a_supervisor(
    services: Services, queued: dict[str, list[str]]
) -> None:
    settings = dataclasses.replace(services.settings, review_sign_off=("restrict",))
    ids = queued["acquitted"][:2]
    with services.sessions() as db, db.begin():
        result = reviews.decide_reviews(
            db,
            services.keyring,
            ids,
            outcome=reviews.ReviewOutcome.RESTRICT,
            reason=WHY,
            actor=CLERK.username,
            now=FIXED_NOW,
            sign_off=reviews.sign_off_of(settings),
        )
    assert sorted(result.waiting) == ids
    assert all(state(services, i).status == "active" for i in ids)
    with services.sessions() as db, db.begin():
        reviews.confirm_reviews(
            db, services.keyring, ids, supervisor=SUPERVISOR, reason=WHY, now=FIXED_NOW
        )
    assert all(state(services, i).status == "restricted" for i in ids)
    assert sorted(e.object_id for e in entries(services, "review.decided")) == ids


def test_a_held_record_is_refused_by_name_and_the_rest_of_the_batch_goes_ahead(
    services: Services, queued: dict[str, list[str]]
) -> None:
    ids = queued["convicted"]
    with services.sessions() as db, db.begin():
        place_hold(
            db,
            services.keyring,
            ids[0],
            kind=HoldKind.LITIGATION,
            reason="Civil claim pending",
            case_reference="CLAIM-1",
            actor=CLERK.username,
            now=FIXED_NOW,
        )
    before = len(entries(services, "review.purge_requested"))
    with services.sessions() as db, db.begin():
        result = reviews.decide_reviews(
            db,
            services.keyring,
            ids,
            outcome=reviews.ReviewOutcome.PURGE,
            reason=WHY,
            actor=CLERK.username,
            now=FIXED_NOW,
        )
    assert list(result.refused) == [ids[0]]
    assert "legal hold" in result.refused[ids[0]]
    assert sorted(result.waiting) == sorted(ids[1:])
    requested = [e.object_id for e in entries(services, "review.purge_requested")]
    assert len(requested) - before == 2
    assert ids[0] not in requested
    with services.readers() as db:
        assert not db.execute(
            select(ReviewDecision).where(ReviewDecision.record_id == ids[0])
        ).first()
    check_invariants(services)


def test_a_batch_refuses_a_poor_reason_an_empty_or_oversized_selection_and_changes_nothing(
    services: Services, queued: dict[str, list[str]]
) -> None:
    ids = queued["acquitted"]
    cases = [
        (ids, "ok", ReasonError),
        ([], WHY, FactError),
        ([f"{n:032x}" for n in range(reviews.BATCH_LIMIT + 1)], WHY, FactError),
    ]
    for chosen, reason, error in cases:
        with pytest.raises(error), services.sessions() as db, db.begin():
            reviews.decide_reviews(
                db,
                services.keyring,
                chosen,
                outcome=reviews.ReviewOutcome.KEEP,
                reason=reason,
                actor=CLERK.username,
                now=FIXED_NOW,
            )
    assert entries(services, "review.decided") == []
    # An unknown record in a batch is refused by name; the known ones are decided.
    with services.sessions() as db, db.begin():
        result = reviews.decide_reviews(
            db,
            services.keyring,
            [ids[0], "f" * 32],
            outcome=reviews.ReviewOutcome.KEEP,
            reason=WHY,
            actor=CLERK.username,
            now=FIXED_NOW,
        )
    assert result.decided == [ids[0]]
    assert list(result.refused) == ["f" * 32]


def test_assignment_a_clerk_takes_and_gives_back_a_supervisor_assigns_anyone(
    services: Services, queued: dict[str, list[str]]
) -> None:
    ids = queued["acquitted"][:3]
    with services.sessions() as db, db.begin():
        mine = reviews.assign_reviews(db, ids, assignee=CLERK.username, actor=CLERK, now=FIXED_NOW)
        theirs = reviews.assign_reviews(db, ids, assignee="clerk.cid", actor=CLERK, now=FIXED_NOW)
    assert sorted(mine.decided) == ids
    assert sorted(theirs.refused) == ids  # a clerk does not hand work to someone else
    with services.readers() as db:
        flt = review_queue.ReviewFilter(assignee=CLERK.username)
        assert sorted(review_queue.matching_ids(db, flt, TODAY, 10)) == ids
        assert review_queue.count(db, review_queue.ReviewFilter(assignee="none"), TODAY) == 6
    with services.sessions() as db, db.begin():
        moved = reviews.assign_reviews(
            db, ids[:1], assignee="clerk.cid", actor=SUPERVISOR, now=FIXED_NOW
        )
    assert moved.decided == ids[:1]
    assert state(services, ids[0]).review_assignee == "clerk.cid"
    with pytest.raises(FactError, match="assignee"), services.sessions() as db, db.begin():
        reviews.assign_reviews(db, ids, assignee="nobody.here", actor=SUPERVISOR, now=FIXED_NOW)
    assigned = entries(services, "review.assigned")
    assert len(assigned) == 4
    assert assigned[-1].details == {"to": "clerk.cid", "from": CLERK.username}
