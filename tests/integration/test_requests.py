"""Removal requests: sealed claims, blind-index matching, deadlines, decisions, certificates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, text

from policies.vocabulary import Action, HoldKind, Jurisdiction, RequestKind, RestrictionGround
from retention.db.models import (
    AuditEntry,
    Certificate,
    LegalHold,
    Record,
    RemovalRequest,
    RequestMatch,
)
from retention.engine import changes, decisions
from retention.engine.authority import Person
from retention.engine.reasons import ReasonError
from retention.jobs import rotation
from retention.requests import approval, filing, workflow
from retention.requests.filing import RequestError
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import audit_reason, clock_at, decision_reasons, opened
from tests.integration.engine_helpers import file_request, ingest, review_due, state, stored

CLAIMED_NAME = "Marisol Quennell-Abara"
READ_WHY = "Checking the claims against the custody record"


def _file(
    services: Services,
    *,
    name: str = CLAIMED_NAME,
    dob: dt.date = dt.date(1990, 2, 3),
    booking: str | None = None,
    evidence: bytes | None = None,
    now: dt.datetime = FIXED_NOW,
    kind: RequestKind = RequestKind.ERASURE,
) -> tuple[str, str]:
    return file_request(
        services, name=name, dob=dob, booking=booking, evidence=evidence, now=now, kind=kind
    )


def _req(services: Services, request_id: str) -> RemovalRequest:
    return stored(services, RemovalRequest, request_id)


def test_a_filed_request_is_sealed_and_found_only_by_its_reference(services: Services) -> None:
    request_id, reference = _file(services, evidence=b"%PDF-1.7 court letter")
    assert len(reference) == 23
    req = _req(services, request_id)
    assert req.state == "received"
    # DPA 2018 s.54 one month from 20 Nov 2026: 20 Dec is a Sunday -> Monday 21 Dec.
    assert req.respond_by == dt.date(2026, 12, 21)
    with services.readers() as s:
        assert filing.by_reference(s, reference.lower().replace("-", " ")) is not None
        assert filing.by_reference(s, "AAAAA-BBBBB-CCCCC-DDDDD") is None
    with services.engine.connect() as conn:
        for table in ("removal_requests", "audit_entries"):
            for r in conn.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
                raw = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in r)
                assert CLAIMED_NAME.encode() not in raw
                assert reference.encode() not in raw
                assert b"court letter" not in raw
    stored = list(services.store.keys())
    assert len(stored) == 1
    assert b"court letter" not in services.store.get(stored[0])
    with services.sessions() as s, s.begin():
        claims = filing.open_claims(
            s, services.keyring, req, actor="clerk:ann", reason=READ_WHY, now=FIXED_NOW
        )
        media, data = filing.evidence(
            s,
            services.keyring,
            services.store,
            req,
            actor="clerk:ann",
            reason=READ_WHY,
            now=FIXED_NOW,
        )
    assert claims["name"] == CLAIMED_NAME
    assert (media, data) == ("application/pdf", b"%PDF-1.7 court letter")


@pytest.mark.parametrize("reason", ["", "x", "asdf", "aaaaaaaaaaaa", "aa aa aa aa aa"])
def test_claims_and_evidence_open_only_for_a_real_sentence(services: Services, reason: str) -> None:
    request_id, _ = _file(services, evidence=b"%PDF-1.7 court letter")
    with services.sessions() as s, s.begin():
        req = s.get(RemovalRequest, request_id)
        assert req is not None
        before = len(s.execute(select(AuditEntry)).all())
        with pytest.raises(ReasonError, match="reason: write a short sentence saying why"):
            filing.open_claims(s, services.keyring, req, actor="a", reason=reason, now=FIXED_NOW)
        with pytest.raises(ReasonError, match="reason: write a short sentence saying why"):
            filing.evidence(
                s, services.keyring, services.store, req, actor="a", reason=reason, now=FIXED_NOW
            )
        assert len(s.execute(select(AuditEntry)).all()) == before
        filing.open_claims(s, services.keyring, req, actor="a", reason=READ_WHY, now=FIXED_NOW)
        filing.evidence(
            s, services.keyring, services.store, req, actor="a", reason=READ_WHY, now=FIXED_NOW
        )
    with services.readers() as s:
        entries = s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
    # Each entry: the reason's length and keyed hash; the text sealed under the request's key.
    assert [(e.action, e.details["reason_chars"]) for e in entries[-2:]] == [
        ("request.claims_viewed", len(READ_WHY)),
        ("request.evidence_viewed", len(READ_WHY)),
    ]
    assert entries[-1].details["reason_hmac"] == entries[-2].details["reason_hmac"]
    assert READ_WHY not in str([e.details for e in entries])
    assert [audit_reason(services, e.seq) for e in entries[-2:]] == [READ_WHY, READ_WHY]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"evidence": b"GIF89a not allowed"}, "PDF, JPEG or PNG"),
        ({"evidence": b"%PDF" + b"x" * (6 * 1024 * 1024)}, "larger than 5 MiB"),
    ],
)
def test_bad_evidence_is_refused_and_nothing_is_stored(
    services: Services, kwargs: dict[str, bytes], message: str
) -> None:
    with pytest.raises(filing.RequestError, match=message):
        _file(services, **kwargs)
    with services.readers() as s:
        assert s.execute(select(RemovalRequest)).first() is None
    assert list(services.store.keys()) == []


def test_candidates_match_by_name_and_date_of_birth_or_booking_number(
    tmp_path: Path, services: Services
) -> None:
    ids = ingest(
        services,
        tmp_path,
        [
            review_due("GB-1") | {"name": CLAIMED_NAME, "date_of_birth": "1990-02-03"},
            review_due("GB-2") | {"name": "Someone Else"},
            review_due("GB-3") | {"name": "Another Person"},
        ],
    )
    by_name, _ = _file(services, name="marisol  QUENNELL abara")
    by_booking, _ = _file(services, name="Nobody", booking="gb 3")
    with services.readers() as s:
        assert [r.id for r in filing.candidates(s, _req(services, by_name))] == [ids["GB-1"]]
        assert [r.id for r in filing.candidates(s, _req(services, by_booking))] == [ids["GB-3"]]


def test_approving_purges_matched_records_with_certificates_naming_the_request(
    tmp_path: Path, services: Services
) -> None:
    ids = ingest(
        services,
        tmp_path,
        [review_due("GB-1") | {"name": CLAIMED_NAME}, review_due("GB-2") | {"name": CLAIMED_NAME}],
    )
    request_id, reference = _file(services, booking="GB-1")
    with services.sessions() as s, s.begin(), pytest.raises(filing.RequestError, match="match"):
        approval.approve(
            s, services.keyring, request_id, actor="clerk:ann", reasons="", now=FIXED_NOW
        )
    with services.sessions() as s, s.begin():
        workflow.match(
            s, services.keyring, request_id, ids["GB-1"], actor="clerk:ann", now=FIXED_NOW
        )
    assert _req(services, request_id).state == "under_review"
    with services.sessions() as s, s.begin():
        waiting = approval.approve(
            s, services.keyring, request_id, actor="clerk:ann", reasons="Deleted.", now=FIXED_NOW
        )
    # The record's rule says review, not purge: a supervisor confirms the approval.
    assert waiting.waiting is not None
    assert state(services, ids["GB-1"]).status == "active"
    with services.sessions() as s, s.begin():
        done = approval.confirm(
            s,
            services.keyring,
            request_id,
            supervisor=Person("supervisor:bo", "supervisor"),
            reason="Acquittal confirmed with the court record",
            now=FIXED_NOW,
        )
    assert [p.record_id for p in done.purged] == [ids["GB-1"]]
    assert state(services, ids["GB-1"]).status == "purged"
    assert state(services, ids["GB-2"]).status == "active"
    req = _req(services, request_id)
    assert (req.state, decision_reasons(services, req)) == ("completed", "Deleted.")
    with services.readers() as s:
        certs = workflow.certificates_for(s, req)
        assert [c.record_id for c in certs] == [ids["GB-1"]]
        assert certs[0].body["request_reference"] == request_id
        assert filing.by_reference(s, reference) is not None


def test_a_held_record_is_restricted_not_purged_when_its_request_is_approved(
    tmp_path: Path, services: Services
) -> None:
    ids = ingest(services, tmp_path, [review_due("GB-1") | {"name": CLAIMED_NAME}])
    with services.sessions() as s, s.begin():
        changes.place_hold(
            s,
            services.keyring,
            ids["GB-1"],
            kind=HoldKind.EVIDENCE,
            reason="trial",
            case_reference=None,
            actor="clerk:ann",
            now=FIXED_NOW,
        )
    request_id, _ = _file(services, booking="GB-1")
    with services.sessions() as s, s.begin():
        workflow.match(
            s, services.keyring, request_id, ids["GB-1"], actor="clerk:ann", now=FIXED_NOW
        )
        done = approval.approve(
            s, services.keyring, request_id, actor="clerk:ann", reasons="", now=FIXED_NOW
        )
    assert (done.purged, done.held) == ([], [ids["GB-1"]])
    assert state(services, ids["GB-1"]).status == "restricted"
    assert _req(services, request_id).state == "on_hold"
    with services.readers() as s:
        assert s.execute(select(Certificate)).first() is None
        assert approval.held_requests_ready(s) == []
        hold_id = s.execute(select(LegalHold.id)).scalar_one()
    with (
        services.sessions() as s,
        s.begin(),
        pytest.raises(RequestError, match="still under a legal hold"),
    ):
        approval.resume_held(s, services.keyring, request_id, actor="sweep", now=FIXED_NOW)
    for who in ("clerk:ann", "supervisor:bo"):
        with services.sessions() as s, s.begin():
            changes.release_hold(s, hold_id, actor=who, now=FIXED_NOW)
    with services.readers() as s:
        assert approval.held_requests_ready(s) == [request_id]
    # The hold has ended: the approval is decided again. Purging this acquitted person's record
    # goes beyond its rule (a review), so it now waits for a second person, as any approval.
    with services.sessions() as s, s.begin():
        resumed = approval.resume_held(
            s, services.keyring, request_id, actor="sweep", now=FIXED_NOW
        )
    assert resumed.waiting is not None
    assert _req(services, request_id).state == "confirming"


def test_asking_for_information_pauses_the_clock_until_the_answer(services: Services) -> None:
    request_id, reference = _file(services)
    later = FIXED_NOW + dt.timedelta(days=10)
    with services.sessions() as s, s.begin():
        workflow.ask_for_information(
            s, services.keyring, request_id, actor="clerk:ann", message="Which arrest?", now=later
        )
    asked = _req(services, request_id)
    assert (asked.state, decision_reasons(services, asked)) == ("needs_info", "Which arrest?")
    answered_at = FIXED_NOW + dt.timedelta(days=20)
    with services.sessions() as s, s.begin():
        workflow.answer(s, services.keyring, reference, text="The 2020 one.", now=answered_at)
    req = _req(services, request_id)
    assert req.state == "under_review"
    assert req.respond_by is not None
    assert req.respond_by > dt.date(2026, 12, 21)  # the month runs from the answer (s.54(2))
    with services.sessions() as s, s.begin(), pytest.raises(filing.RequestError):
        workflow.answer(s, services.keyring, reference, text="again", now=answered_at)


def test_a_gdpr_extension_needs_a_reason_moves_the_deadline_once_art_12_3(
    services: Services,
) -> None:
    """GDPR Art 12(3): one month from receipt, extendable once by two further months with the
    subject told the reasons within the first month."""
    request_id, _ = file_request(
        services, name=CLAIMED_NAME, dob=dt.date(1990, 2, 3), jurisdiction=Jurisdiction.EU
    )
    first = _req(services, request_id)
    # 20 Nov 2026 + 1 month = Sunday 20 Dec -> Monday 21 Dec (Reg. 1182/71 Art 3(4)).
    assert (first.respond_by, first.deadline_basis) == (dt.date(2026, 12, 21), "statutory")
    later = FIXED_NOW + dt.timedelta(days=5)
    with services.sessions() as s, s.begin(), pytest.raises(filing.RequestError, match="reason"):
        workflow.extend(s, services.keyring, request_id, actor="clerk:ann", reason="  ", now=later)
    with services.sessions() as s, s.begin():
        workflow.extend(
            s,
            services.keyring,
            request_id,
            actor="clerk:ann",
            reason="Three bookings to trace.",
            now=later,
        )
    req = _req(services, request_id)
    # Three months from receipt: Saturday 20 Feb 2027 -> Monday 22 Feb.
    assert req.respond_by == dt.date(2027, 2, 22)
    reason = opened(
        services,
        "request",
        req.id,
        "removal_requests:extension_reason",
        req.extension_reason_sealed,
    )
    assert (req.extension_notice_on, reason) == (
        later.date(),
        "Three bookings to trace.",
    )
    with (
        services.sessions() as s,
        s.begin(),
        pytest.raises(filing.RequestError, match="already extended"),
    ):
        workflow.extend(
            s, services.keyring, request_id, actor="clerk:ann", reason="Again.", now=later
        )
    assert _req(services, request_id).respond_by == dt.date(2027, 2, 22)
    with services.readers() as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.seq))]
    assert actions == ["request.received", "request.extended"]


def test_a_dpa_2018_s54_extension_is_refused_while_its_commencement_is_unverified(
    services: Services,
) -> None:
    """DPA 2018 s.54(3A)-(3B) was inserted by an amendment whose commencement RULES.md could not
    confirm (§10.5): the extension is refused with the reason, and nothing changes."""
    request_id, _ = _file(services)
    with (
        services.sessions() as s,
        s.begin(),
        pytest.raises(filing.RequestError, match="not confirmed"),
    ):
        workflow.extend(
            s,
            services.keyring,
            request_id,
            actor="clerk:ann",
            reason="Complex.",
            now=FIXED_NOW + dt.timedelta(5),
        )
    req = _req(services, request_id)
    assert (req.respond_by, req.extension_notice_on, req.extension_reason_sealed) == (
        dt.date(2026, 12, 21),
        None,
        None,
    )


def test_a_california_request_gets_a_service_target_that_is_not_extended(
    services: Services,
) -> None:
    """No California statute sets an agency's deadline to answer an erasure request: the pack's
    service target (30 days, no roll) is stored as such, and it is not extended."""
    request_id, _ = file_request(
        services, name=CLAIMED_NAME, dob=dt.date(1990, 2, 3), jurisdiction=Jurisdiction.US_CA
    )
    req = _req(services, request_id)
    assert (req.respond_by, req.deadline_basis) == (dt.date(2026, 12, 20), "service_target")
    with (
        services.sessions() as s,
        s.begin(),
        pytest.raises(filing.RequestError, match="service target"),
    ):
        workflow.extend(
            s, services.keyring, request_id, actor="clerk:ann", reason="Busy.", now=FIXED_NOW
        )
    assert _req(services, request_id).extension_notice_on is None


def test_a_denial_needs_reasons(services: Services) -> None:
    request_id, _ = _file(services)
    with services.sessions() as s, s.begin(), pytest.raises(filing.RequestError, match="reasons"):
        workflow.deny(
            s, services.keyring, request_id, actor="clerk:ann", reasons=" ", now=FIXED_NOW
        )
    with services.sessions() as s, s.begin():
        workflow.deny(
            s, services.keyring, request_id, actor="clerk:ann", reasons="Convicted.", now=FIXED_NOW
        )
    req = _req(services, request_id)
    assert (req.state, decision_reasons(services, req)) == ("denied", "Convicted.")
    with services.readers() as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.seq))]
    assert actions == ["request.received", "request.denied"]


def test_overdue_requests_are_counted_for_the_scheduler(services: Services) -> None:
    _file(services, now=FIXED_NOW - dt.timedelta(days=60))
    _file(services)
    with services.readers() as s:
        counts = workflow.overdue(s, FIXED_NOW.date())
    assert counts == {"requests_overdue": 1, "requests_due_this_week": 0}


def test_key_rotation_rewraps_request_keys_too(services: Services) -> None:
    request_id, _ = _file(services)
    old = services.keyring.active_version
    rotation.rotate(services, actor="t", clock=clock_at(FIXED_NOW))
    rotation.retire(services, old, actor="t", clock=clock_at(FIXED_NOW))
    with services.sessions() as s, s.begin():
        req = s.get(RemovalRequest, request_id)
        assert req is not None
        assert req.kek_version == old + 1
        opened = filing.open_claims(
            s, services.keyring, req, actor="a", reason=READ_WHY, now=FIXED_NOW
        )
        assert opened["name"]


def test_a_matched_restriction_request_and_its_ground_decide_the_record(
    services: Services, tmp_path: Path
) -> None:
    """DPA 2018 s.47 / GDPR Art 18(1)(c): once a restriction request is matched to a record it
    (with its ground) is a fact of that record, so every later evaluation — a sweep after the
    approval — keeps deciding by it and the record is restricted, not left to erasure rules;
    refused, it no longer counts."""
    record_id = ingest(services, tmp_path, [review_due("RG1")])["RG1"]
    claims = filing.Claims(name=CLAIMED_NAME, date_of_birth=dt.date(1990, 2, 3), contact="x@y.z")
    with services.sessions() as s, s.begin(), pytest.raises(filing.RequestError, match="only a"):
        filing.file_request(
            s,
            services.keyring,
            services.store,
            claims=claims,
            kind=RequestKind.ERASURE,
            jurisdiction=Jurisdiction.GB_ENG,
            grounds=["acquitted"],
            evidence=None,
            now=FIXED_NOW,
            restriction_ground=RestrictionGround.LEGAL_CLAIMS,
        )
    with services.sessions() as s, s.begin():
        req, _ = filing.file_request(
            s,
            services.keyring,
            services.store,
            claims=claims,
            kind=RequestKind.RESTRICTION,
            jurisdiction=Jurisdiction.GB_ENG,
            grounds=["acquitted"],
            evidence=None,
            now=FIXED_NOW,
            restriction_ground=RestrictionGround.LEGAL_CLAIMS,
        )
        request_id = req.id
        s.add(
            RequestMatch(
                request_id=request_id,
                record_id=record_id,
                matched_by="clerk:ann",
                matched_at=FIXED_NOW,
            )
        )
    with services.readers() as s:
        record = s.get_one(Record, record_id)
        facts = decisions.facts_for(s, record)
        assert (facts.restriction_requested_on, facts.restriction_ground) == (
            FIXED_NOW.date(),
            "legal_claims",
        )
        decision = decisions.evaluate_only(s, record, FIXED_NOW.date())
    assert (decision.action, decision.rule) == (
        Action.RESTRICT,
        "gb-eng-custody-images/s47-restriction-request",
    )
    with services.sessions() as s, s.begin():
        workflow.deny(
            s,
            services.keyring,
            request_id,
            actor="clerk:ann",
            reasons="Not the person.",
            now=FIXED_NOW,
        )
    with services.readers() as s:
        record = s.get_one(Record, record_id)
        assert decisions.facts_for(s, record).restriction_requested_on is None
        assert decisions.evaluate_only(s, record, FIXED_NOW.date()).action is not Action.RESTRICT
