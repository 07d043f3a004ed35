"""No single person destroys what the rules and a second person have not approved.

DESIGN.md invariant 9, tried as an adversarial clerk would: match records that are not the
requester's, approve purges the rules do not ask for, decide a review purge alone. Each refusal
is checked on the database (nothing matched, nothing purged, the images still open) and each
two-person path on the certificate, which must name both people.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from policies.vocabulary import HoldKind, Outcome, Purpose
from retention.cli.main import cli
from retention.db.models import (
    AuditEntry,
    Certificate,
    LegalHold,
    Record,
    RecordStatus,
    RemovalRequest,
    RequestMatch,
    SecondApproval,
)
from retention.engine import changes, decisions, reviews
from retention.engine.authority import Limits, Person, purge_limit
from retention.engine.purge import purge_records
from retention.engine.reasons import ReasonError
from retention.errors import AuthorityError, FactError, HoldError
from retention.requests import approval, filing, workflow
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import backend_env, row
from tests.integration.engine_helpers import (
    blobs_open,
    file_request,
    ingest,
    purge_due,
    restrict_then_purge_later,
    review_due,
    state,
    stored,
)

NAME = "Alex Rivera"  # the name tests.helpers.row gives every record
DOB = dt.date(1990, 2, 3)
CLERK = "clerk1"
OTHER_CLERK = Person("clerk2", "clerk")
SUPERVISOR = Person("supervisor1", "supervisor")
OTHER_SUPERVISOR = Person("supervisor2", "supervisor")
WHY = "The requester's court letter names this booking"


def _file(services: Services, *, name: str = NAME, booking: str | None = None) -> str:
    request_id, _ = file_request(
        services, name=name, dob=DOB, booking=booking, grounds=("not_charged",)
    )
    return request_id


def _match(services: Services, request_id: str, record_id: str, **kw: object) -> RequestMatch:
    with services.sessions() as s, s.begin():
        return workflow.match(
            s, services.keyring, request_id, record_id, actor=CLERK, now=FIXED_NOW, **kw
        )  # type: ignore[arg-type]


def _matched_request(
    services: Services, tmp_path: Path, booking: dict[str, str]
) -> tuple[str, str]:
    """One record ingested from this manifest row, and a request filed and matched to it by the
    clerk; returns (record id, request id)."""
    [record_id] = ingest(services, tmp_path, [booking]).values()
    request_id = _file(services)
    _match(services, request_id, record_id)
    return record_id, request_id


def _approve(services: Services, request_id: str, **kw: Any) -> approval.Approval:
    """The clerk approves the request, in a transaction of its own."""
    with services.sessions() as s, s.begin():
        return approval.approve(
            s, services.keyring, request_id, actor=CLERK, reasons="", now=FIXED_NOW, **kw
        )


def _count(services: Services, model: type[object]) -> int:
    with services.readers() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _request(services: Services, request_id: str) -> RemovalRequest:
    return stored(services, RemovalRequest, request_id)


def _certificates(services: Services, record_id: str) -> list[Certificate]:
    with services.readers() as s:
        return list(
            s.execute(select(Certificate).where(Certificate.record_id == record_id)).scalars()
        )


# -- matching ---------------------------------------------------------------------------------


def test_a_clerk_cannot_match_a_record_that_is_not_a_candidate(
    tmp_path: Path, services: Services
) -> None:
    ids = ingest(
        services,
        tmp_path,
        [review_due("GB-1"), review_due("GB-2") | {"name": "Someone Else Entirely"}],
    )
    request_id = _file(services)
    audit_before = _count(services, AuditEntry)
    with pytest.raises(filing.RequestError, match="not a candidate"):
        _match(services, request_id, ids["GB-2"])
    assert _count(services, RequestMatch) == 0
    assert _count(services, AuditEntry) == audit_before
    assert _request(services, request_id).state == "received"


def test_a_record_found_by_an_audited_search_can_be_matched_but_the_search_keeps_no_values(
    tmp_path: Path, services: Services
) -> None:
    ids = ingest(services, tmp_path, [review_due("GB-7") | {"name": "Alex  RIVERA"}])
    request_id = _file(services, name="Alexandra Rivera")  # a different spelling: no candidate
    with services.readers() as s:
        assert filing.candidates(s, _request(services, request_id)) == []
    with services.sessions() as s, s.begin(), pytest.raises(ReasonError, match="sentence"):
        workflow.search(
            s, services.keyring, request_id, booking_number="gb 7", actor=CLERK,
            reason="x", now=FIXED_NOW,
        )  # fmt: skip
    with services.sessions() as s, s.begin():
        found = workflow.search(
            s, services.keyring, request_id, booking_number="gb 7", actor=CLERK,
            reason="Requester answered with this booking number", now=FIXED_NOW,
        )  # fmt: skip
        assert [r.id for r in found] == [ids["GB-7"]]
    row = _match(services, request_id, ids["GB-7"], reason=WHY)
    assert (row.source, row.same_identity, row.pending) == ("search", False, True)
    with services.readers() as s:
        entry = s.execute(
            select(AuditEntry).where(AuditEntry.action == "request.searched")
        ).scalar_one()
    assert entry.details["by"] == ["booking_number"]
    assert entry.details["hits"] == 1
    assert "GB-7" not in str(entry.details)
    assert "gb 7" not in str(entry.details)


def test_another_identity_needs_a_reason_and_a_supervisor_who_did_not_match_it(
    tmp_path: Path, services: Services
) -> None:
    ids = ingest(services, tmp_path, [review_due("GB-3") | {"name": "Morgan Other"}])
    request_id = _file(services, booking="GB-3")  # found by booking number, another name
    with pytest.raises(ReasonError, match="another person's identity"):
        _match(services, request_id, ids["GB-3"])
    assert _count(services, RequestMatch) == 0
    assert _match(services, request_id, ids["GB-3"], reason=WHY).pending
    with services.sessions() as s, s.begin(), pytest.raises(filing.RequestError, match="wait"):
        approval.approve(s, services.keyring, request_id, actor=CLERK, reasons="", now=FIXED_NOW)
    for who, message in [
        (OTHER_CLERK, "supervisor"),
        (Person(CLERK, "supervisor"), "second person"),
    ]:
        with services.sessions() as s, s.begin(), pytest.raises(AuthorityError, match=message):
            workflow.confirm_match(
                s,
                services.keyring,
                request_id,
                ids["GB-3"],
                supervisor=who,
                reason=WHY,
                now=FIXED_NOW,
            )
    with services.sessions() as s, s.begin():
        row = workflow.confirm_match(
            s,
            services.keyring,
            request_id,
            ids["GB-3"],
            supervisor=SUPERVISOR,
            reason=WHY,
            now=FIXED_NOW,
        )
        assert (row.pending, row.confirmed_by) == (False, "supervisor1")


def test_more_matches_than_the_limit_need_a_supervisor(tmp_path: Path, services: Services) -> None:
    ids = ingest(services, tmp_path, [review_due(f"GB-{n}") for n in range(4)])
    request_id = _file(services)
    limits = Limits(request_matches=3)
    rows = [
        _match(services, request_id, ids[f"GB-{n}"], reason=WHY, limits=limits) for n in range(4)
    ]
    assert [r.pending for r in rows] == [False, False, False, True]


# -- approving a request ----------------------------------------------------------------------


def test_a_clerk_alone_cannot_purge_a_record_whose_rule_says_review(
    tmp_path: Path, services: Services
) -> None:
    rid, request_id = _matched_request(services, tmp_path, review_due("GB-1"))
    with services.sessions() as s, s.begin():
        planned = approval.plan(s, _request(services, request_id), FIXED_NOW.date())
        assert [p.effect for p in planned.records] == [approval.Effect.PURGE_OUTSIDE_RULE]
        done = approval.approve(
            s, services.keyring, request_id, actor=CLERK, reasons="", now=FIXED_NOW
        )
    assert done.purged == []
    assert done.waiting is not None
    assert _request(services, request_id).state == "confirming"
    assert state(services, rid).status != RecordStatus.PURGED.value
    assert blobs_open(services, rid)
    assert _certificates(services, rid) == []
    # Neither the approver nor the matcher can be the second person, even as a supervisor.
    with services.sessions() as s, s.begin(), pytest.raises(AuthorityError, match="second"):
        approval.confirm(
            s, services.keyring, request_id, supervisor=Person(CLERK, "supervisor"),
            reason=WHY, now=FIXED_NOW,
        )  # fmt: skip
    with services.sessions() as s, s.begin(), pytest.raises(AuthorityError, match="supervisor"):
        approval.confirm(
            s, services.keyring, request_id, supervisor=OTHER_CLERK, reason=WHY, now=FIXED_NOW
        )
    assert blobs_open(services, rid)
    with services.sessions() as s, s.begin():
        confirmed = approval.confirm(
            s, services.keyring, request_id, supervisor=SUPERVISOR, reason=WHY, now=FIXED_NOW
        )
    assert [p.record_id for p in confirmed.purged] == [rid]
    assert state(services, rid).status == RecordStatus.PURGED.value
    assert not blobs_open(services, rid)
    [cert] = _certificates(services, rid)
    assert cert.body["reason"]["decided_by"] == CLERK
    assert cert.body["reason"]["confirmed_by"] == "supervisor1"
    assert cert.request_reference == request_id
    assert _request(services, request_id).state == "completed"


def test_a_refused_second_approval_destroys_nothing_and_reopens_the_request(
    tmp_path: Path, services: Services
) -> None:
    rid, request_id = _matched_request(services, tmp_path, review_due("GB-1"))
    _approve(services, request_id)
    with services.sessions() as s, s.begin():
        approval.refuse(
            s, services.keyring, request_id, supervisor=SUPERVISOR, reason=WHY, now=FIXED_NOW
        )
    assert _request(services, request_id).state == "under_review"
    assert blobs_open(services, rid)
    with services.readers() as s:
        assert s.execute(select(SecondApproval.state)).scalars().all() == ["refused"]


def test_a_purge_the_rule_already_requires_needs_one_person(
    tmp_path: Path, services: Services
) -> None:
    rid, request_id = _matched_request(services, tmp_path, purge_due("CA-1"))
    done = _approve(services, request_id)
    assert done.waiting is None
    assert [p.record_id for p in done.purged] == [rid]
    [cert] = _certificates(services, rid)
    assert "confirmed_by" not in cert.body["reason"]


def test_approval_past_the_safety_belt_waits_for_a_supervisor(
    tmp_path: Path, services: Services
) -> None:
    ids = ingest(services, tmp_path, [purge_due(f"CA-{n}") for n in range(3)])
    request_id = _file(services)
    for n in range(3):
        _match(services, request_id, ids[f"CA-{n}"])
    belt = Limits(max_share=0.0, max_count=2)
    done = _approve(services, request_id, limits=belt)
    assert done.waiting is not None
    assert done.waiting.details["over_belt"] is True
    assert all(blobs_open(services, ids[f"CA-{n}"]) for n in range(3))


def test_the_safety_belt_share_counts_live_records_only(tmp_path: Path, services: Services) -> None:
    ids = ingest(services, tmp_path, [purge_due(f"CA-{n}") for n in range(10)])
    limits = Limits(max_share=0.5, max_count=1)
    with services.readers() as s:
        assert purge_limit(s, limits) == (5, 10)
    with services.sessions() as s, s.begin():
        gone = [s.get(Record, ids[f"CA-{n}"]) for n in range(8)]
        purge_records(
            s, services.keyring, [(r, {}) for r in gone if r is not None],
            now=FIXED_NOW, actor="test",
        )  # fmt: skip
    with services.readers() as s:
        # Eight tombstones do not raise the limit: half of the two live records is one.
        assert purge_limit(s, limits) == (1, 2)


# -- reviews ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "outcome", [reviews.ReviewOutcome.PURGE, reviews.ReviewOutcome.KEEP_EXCEPTIONAL]
)
def test_a_review_purge_or_exceptional_keep_takes_two_people(
    tmp_path: Path, services: Services, outcome: reviews.ReviewOutcome
) -> None:
    ids = ingest(services, tmp_path, [review_due("GB-1")])
    rid = ids["GB-1"]
    with services.sessions() as s, s.begin():
        result = reviews.decide_review(
            s, services.keyring, rid, outcome=outcome, reason=WHY, actor="supervisor1",
            now=FIXED_NOW,
        )  # fmt: skip
    assert result.waiting is not None
    assert result.purged is None
    assert blobs_open(services, rid)
    assert not state(services, rid).exceptional_reason
    with services.sessions() as s, s.begin(), pytest.raises(AuthorityError, match="second"):
        reviews.confirm_review(
            s, services.keyring, rid, supervisor=SUPERVISOR, reason=WHY, now=FIXED_NOW
        )
    with services.sessions() as s, s.begin():
        done = reviews.confirm_review(
            s, services.keyring, rid, supervisor=OTHER_SUPERVISOR, reason=WHY, now=FIXED_NOW
        )
    if outcome is reviews.ReviewOutcome.PURGE:
        assert done.purged is not None
        assert not blobs_open(services, rid)
        [cert] = _certificates(services, rid)
        assert (cert.body["reason"]["decided_by"], cert.body["reason"]["confirmed_by"]) == (
            "supervisor1",
            "supervisor2",
        )
    else:
        assert state(services, rid).exceptional_reason
        assert blobs_open(services, rid)


# -- found by an adversarial review -----------------------------------------------------------


def _il_purge_in_2028(booking: str) -> dict[str, str]:
    """An Illinois (BIPA) face template kept under consent: its rule says purge on 2028-01-10."""
    return row(
        booking_number=booking, jurisdiction="US-IL", holder="private_entity",
        data_kind="face_template", legal_basis="consent", mopi_group="",
        arrest_date="2025-01-10", captured_at="2025-01-10T09:00:00+00:00",
        outcome="pending", outcome_date="",
    )  # fmt: skip


def _purge_due_in_2028(services: Services, tmp_path: Path) -> str:
    rid = ingest(services, tmp_path, [_il_purge_in_2028("IL-1")])["IL-1"]
    with services.sessions() as s, s.begin():
        changes.record_consent(
            s, rid, given_on=dt.date(2025, 1, 1), purposes=[Purpose.IDENTIFICATION],
            expires_on=None, evidence_ref=None, actor="test", now=FIXED_NOW,
        )  # fmt: skip
    with services.readers() as s:
        d = decisions.evaluate_only(s, state(services, rid), FIXED_NOW.date())
    assert (d.action.value, d.due_on) == ("purge", dt.date(2028, 1, 10))
    return rid


def test_a_purge_the_rule_sets_for_later_is_not_the_rules_today_and_needs_two_people(
    tmp_path: Path, services: Services
) -> None:
    """BIPA 740 ILCS 14/15(a): destroy by the retention date. Destroying two years early is no
    longer what the rule says; one clerk's approval waits for a supervisor."""
    rid = _purge_due_in_2028(services, tmp_path)
    request_id = _file(services)
    _match(services, request_id, rid)
    with services.sessions() as s, s.begin():
        done = approval.approve(
            s, services.keyring, request_id, actor=CLERK, reasons="", now=FIXED_NOW
        )
    assert done.waiting is not None
    assert done.purged == []
    assert blobs_open(services, rid)


def test_a_review_decision_needs_a_record_waiting_for_review(
    tmp_path: Path, services: Services
) -> None:
    rid = _purge_due_in_2028(services, tmp_path)
    with (
        services.sessions() as s,
        s.begin(),
        pytest.raises(FactError, match="not waiting for a review"),
    ):
        reviews.decide_review(
            s, services.keyring, rid, outcome=reviews.ReviewOutcome.PURGE, reason=WHY,
            actor=CLERK, now=FIXED_NOW,
        )  # fmt: skip
    assert blobs_open(services, rid)


def test_a_sweep_cannot_be_dated_in_the_future(tmp_path: Path, services: Services) -> None:
    rid = _purge_due_in_2028(services, tmp_path)
    env = backend_env(services.settings)
    out = CliRunner().invoke(cli, ["--actor", "anyone", "sweep", "--on", "2099-01-01"], env=env)
    assert out.exit_code != 0
    assert "in the future" in out.output
    assert blobs_open(services, rid)
    ahead = CliRunner().invoke(cli, ["sweep", "--dry-run", "--on", "2099-01-01"], env=env)
    assert ahead.exit_code == 0, ahead.output  # looking ahead is fine
    assert blobs_open(services, rid)


def test_the_supervisor_confirms_only_what_the_first_person_approved(
    tmp_path: Path, services: Services
) -> None:
    ids = ingest(services, tmp_path, [review_due("GB-1"), restrict_then_purge_later("CA-9")])
    request_id = _file(services)
    for rid in ids.values():
        _match(services, request_id, rid)
    with services.sessions() as s, s.begin():
        done = approval.approve(
            s, services.keyring, request_id, actor=CLERK, reasons="", now=FIXED_NOW
        )
    assert done.waiting is not None
    assert done.waiting.details["purge"] == [ids["GB-1"]]  # CA-9 was shown as "restrict"
    with services.sessions() as s, s.begin():  # the supervisor changes CA-9's facts first
        changes.set_outcome(
            s, ids["CA-9"], outcome=Outcome.CONVICTED, on=dt.date(2025, 6, 1),
            actor="supervisor1", now=FIXED_NOW,
        )  # fmt: skip
    with services.sessions() as s, s.begin(), pytest.raises(AuthorityError, match="since the"):
        approval.confirm(
            s, services.keyring, request_id, supervisor=SUPERVISOR, reason=WHY, now=FIXED_NOW
        )
    assert blobs_open(services, ids["GB-1"])
    assert blobs_open(services, ids["CA-9"])


def test_a_hold_cannot_be_placed_and_approved_by_one_person_under_two_spellings(
    tmp_path: Path, services: Services
) -> None:
    rid = ingest(services, tmp_path, [review_due("GB-1")])["GB-1"]
    with services.sessions() as s, s.begin():
        hold = changes.place_hold(
            s, services.keyring, rid, kind=HoldKind.EVIDENCE, reason="Exhibit in a pending trial",
            case_reference=None, actor="Clerk.Ann", now=FIXED_NOW,
        )  # fmt: skip
        hold_id = hold.id
    with services.sessions() as s, s.begin(), pytest.raises(HoldError, match="cannot approve"):
        changes.approve_hold(s, hold_id, actor=" clerk.ann ", now=FIXED_NOW)
    with services.readers() as s:
        stored = s.get(LegalHold, hold_id)
        assert stored is not None
        assert stored.state == "pending"
