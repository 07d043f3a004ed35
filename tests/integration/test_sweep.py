"""The sweep purges (crypto-shred), restricts or queues exactly what is due — provably."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from policies.vocabulary import HoldKind, Outcome
from retention.db.models import AuditEntry, Certificate, DataKey, Image, JobRun, Record
from retention.engine import certificates, changes, reviews
from retention.engine.purge import purge_record
from retention.errors import HoldError
from retention.jobs.janitor import run_janitor
from retention.jobs.sweep import run_sweep
from retention.services import Services, open_services
from tests.conftest import FIXED_NOW
from tests.helpers import clock_at
from tests.integration.engine_helpers import (
    TODAY,
    check_invariants,
    ingest,
    purge_due,
    restrict_then_purge_later,
    review_due,
    state,
)

CLOCK = clock_at(FIXED_NOW)


def sweep(services: Services, **kw: object):  # type: ignore[no-untyped-def]
    return run_sweep(services, today=TODAY, clock=CLOCK, actor="test:sweep", **kw)  # type: ignore[arg-type]


@pytest.fixture
def mixed(tmp_path: Path, services: Services) -> dict[str, str]:
    return ingest(
        services,
        tmp_path,
        [
            purge_due("CA-P1"),
            purge_due("CA-P2"),
            restrict_then_purge_later("CA-R1"),
            review_due("GB-V1"),
        ],
    )


def test_ingest_stores_each_records_next_action_and_its_explanation(
    services: Services, mixed: dict[str, str]
) -> None:
    p1 = state(services, mixed["CA-P1"])
    assert (p1.next_action, str(p1.next_action_due)) == ("purge", "2023-05-05")
    assert p1.decision_rule == "us-ca/pc851-8-destroy"
    assert p1.decision_trace is not None
    assert p1.decision_trace["citation"].startswith("us-ca-pc851.8")
    r1 = state(services, mixed["CA-R1"])
    assert (r1.next_action, str(r1.next_action_due)) == ("restrict", "2025-03-01")
    v1 = state(services, mixed["GB-V1"])
    assert (v1.next_action, v1.policy_pack) == ("review", "gb-eng-custody-images")


def test_a_due_purge_shreds_the_record_and_leaves_tombstone_audit_and_certificate(
    services: Services, mixed: dict[str, str]
) -> None:
    with services.readers() as s:
        p1_images = [
            i.id
            for i in s.execute(select(Image).where(Image.record_id == mixed["CA-P1"])).scalars()
        ]
    report = sweep(services)

    assert (report.counts["purged"], report.counts["restricted"]) == (2, 1)
    assert report.counts["review_queued"] == 1
    p1 = state(services, mixed["CA-P1"])
    assert p1.status == "purged"
    assert (p1.identity_sealed, p1.name_dob_bidx, p1.offence_sealed) == (None, None, None)
    assert p1.booking_bidx  # the tombstone still refuses a re-import
    assert not any(services.store.exists(i) for i in p1_images)
    with services.readers() as s:
        assert s.execute(select(DataKey).where(DataKey.record_id == p1.id)).first() is None
        cert = s.execute(select(Certificate).where(Certificate.record_id == p1.id)).scalar_one()
        entry = s.get(AuditEntry, cert.audit_seq)
    assert entry is not None
    assert (entry.action, entry.object_id, entry.rule) == (
        "record.purged",
        p1.id,
        "us-ca/pc851-8-destroy",
    )
    assert cert.body["audit"] == {"seq": entry.seq, "hash": entry.hash}
    assert sorted(i["id"] for i in cert.body["destroyed"]["images"]) == sorted(p1_images)
    assert "Alex" not in json.dumps(cert.body)
    pem = services.keyring.signing_public_key_pem()
    assert certificates.verify(certificates.document(cert, pem), pem) is None

    r1 = state(services, mixed["CA-R1"])
    assert (r1.status, r1.next_action, str(r1.next_action_due)) == (
        "restricted",
        "purge",
        "2028-01-10",
    )
    assert r1.permitted_purposes == ["evidence", "legal_claims"]
    v1 = state(services, mixed["GB-V1"])
    assert v1.review_queued_at is not None
    assert v1.next_action_due is None
    assert check_invariants(services, janitor_ran=True) == {"purged": 2, "live": 2}


def _snapshot(services: Services) -> object:
    with services.readers() as s:
        recs = [
            (r.id, r.status, r.next_action, r.next_action_due, r.review_queued_at)
            for r in s.execute(select(Record).order_by(Record.id)).scalars()
        ]
        audits = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        certs = s.execute(select(func.count()).select_from(Certificate)).scalar_one()
    return recs, audits, certs, sorted(services.store.keys())


def test_a_second_sweep_at_the_same_time_changes_nothing(
    services: Services, mixed: dict[str, str]
) -> None:
    sweep(services)
    sweep(services)  # the restricted record's purge is not due until 2028
    before = _snapshot(services)
    again = sweep(services)
    assert again.actions == []
    assert _snapshot(services) == before


def test_a_dry_run_shows_exactly_what_the_real_run_does_and_changes_nothing(
    services: Services, mixed: dict[str, str]
) -> None:
    before = _snapshot(services)
    planned = sweep(services, dry_run=True)
    assert _snapshot(services) == before
    done = sweep(services)
    assert [dataclasses.astuple(a) for a in planned.actions] == [
        dataclasses.astuple(a) for a in done.actions
    ]
    with services.readers() as s:
        runs = [(j.dry_run, j.status) for j in s.execute(select(JobRun)).scalars()]
    assert sorted(runs) == [(False, "ok"), (True, "ok")]


def test_the_safety_belt_stops_a_mass_purge_until_a_supervisor_confirms(
    tmp_path: Path, initialised
) -> None:  # type: ignore[no-untyped-def]
    strict = dataclasses.replace(initialised, sweep_max_purge_share=0.01, sweep_max_purge_count=1)
    services = open_services(strict)
    try:
        ids = ingest(services, tmp_path, [purge_due("A"), purge_due("B"), review_due("C")])
        blocked = sweep(services)
        assert blocked.blocked
        assert (blocked.due_purges, blocked.purge_limit) == (2, 1)
        assert "supervisor must confirm" in blocked.errors[0]
        assert {state(services, i).status for i in ids.values()} == {"active"}
        with services.readers() as s:
            assert s.execute(select(JobRun.status)).scalar_one() == "blocked"
        confirmed = sweep(services, confirmed_by="supervisor:sam")
        assert confirmed.counts["purged"] == 2
        with services.readers() as s:
            entry = s.execute(
                select(AuditEntry).where(AuditEntry.action == "sweep.completed")
            ).scalar_one()
        assert entry.details["confirmed_by"] == "supervisor:sam"
    finally:
        services.close()


def _hold_op(services: Services, fn, *args, **kw):  # type: ignore[no-untyped-def]
    with services.sessions() as s, s.begin():
        return fn(s, *args, now=FIXED_NOW, **kw)


def test_a_hold_turns_a_due_purge_into_restrict_and_release_purges_if_still_due(
    services: Services, mixed: dict[str, str]
) -> None:
    rid = mixed["CA-P1"]
    hold = _hold_op(
        services,
        changes.place_hold,
        services.keyring,
        rid,
        kind=HoldKind.LITIGATION,
        reason="civil claim",
        case_reference="CV-9",
        actor="clerk:ann",
    )
    # Pending, not yet approved: it already blocks the purge.
    sweep(services)
    rec = state(services, rid)
    assert rec.status != "purged"
    assert rec.decision_trace is not None
    with pytest.raises(HoldError, match="cannot approve"):
        _hold_op(services, changes.approve_hold, hold.id, actor="clerk:ann")
    _hold_op(services, changes.approve_hold, hold.id, actor="sup:bob")
    sweep(services)
    assert state(services, rid).status != "purged"
    _hold_op(services, changes.release_hold, hold.id, actor="clerk:ann")  # asks
    sweep(services)
    assert state(services, rid).status != "purged"
    with pytest.raises(HoldError, match="cannot also confirm"):
        _hold_op(services, changes.release_hold, hold.id, actor="clerk:ann")
    _, decision = _hold_op(services, changes.release_hold, hold.id, actor="sup:bob")
    assert decision is not None
    assert decision.action.value == "purge"
    sweep(services)
    assert state(services, rid).status == "purged"
    check_invariants(services, janitor_ran=True)


def test_no_path_purges_a_held_record(services: Services, mixed: dict[str, str]) -> None:
    rid = mixed["CA-P2"]
    _hold_op(
        services,
        changes.place_hold,
        services.keyring,
        rid,
        kind=HoldKind.EVIDENCE,
        reason="exhibit",
        case_reference=None,
        actor="clerk:ann",
    )
    with services.sessions() as s, s.begin():
        rec = s.get(Record, rid)
        assert rec is not None
        with pytest.raises(HoldError, match="legal hold"):
            purge_record(s, services.keyring, rec, now=FIXED_NOW, actor="x", reason={})
    with services.sessions() as s, s.begin(), pytest.raises(HoldError, match="legal hold"):
        reviews.decide_review(
            s,
            services.keyring,
            rid,
            outcome=reviews.ReviewOutcome.PURGE,
            reason="done",
            actor="clerk:cy",
            now=FIXED_NOW,
        )
    assert state(services, rid).status != "purged"


def test_an_outcome_change_reschedules_the_record(
    services: Services, mixed: dict[str, str]
) -> None:
    rid = mixed["CA-P2"]
    with services.sessions() as s, s.begin():
        decision = changes.set_outcome(
            s, rid, outcome=Outcome.CONVICTED, on=TODAY, actor="clerk:ann", now=FIXED_NOW
        )
    assert decision.action.value != "purge"
    rec = state(services, rid)
    assert rec.outcome == "convicted"
    assert rec.next_action != "purge"
    report = sweep(services)
    assert rid not in {a.record_id for a in report.actions if a.action == "purge"}


def test_the_janitor_removes_blobs_left_by_a_purge_that_died_before_deleting_them(
    services: Services, mixed: dict[str, str]
) -> None:
    rid = mixed["CA-P1"]
    with services.sessions() as s, s.begin():
        rec = s.get(Record, rid)
        assert rec is not None
        purged = purge_record(
            s, services.keyring, rec, now=FIXED_NOW, actor="x", reason={"rule": "test"}
        )
    assert all(services.store.exists(k) for k in purged.blob_keys)  # the crash window
    check_invariants(services)
    services.store.put("0" * 32, b"orphan written just now")  # an import in flight
    report = run_janitor(services, clock=CLOCK, actor="test:janitor")
    assert report.shredded == len(purged.blob_keys)
    assert not any(services.store.exists(k) for k in purged.blob_keys)
    assert services.store.exists("0" * 32)  # younger than the grace period: kept
    check_invariants(services, janitor_ran=True)
