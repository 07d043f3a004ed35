"""Staff request pages: the queue, a request's claims and candidates, and the decisions."""

from __future__ import annotations

import base64
import datetime as dt
import re
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from policies.vocabulary import Jurisdiction, RequestKind
from retention.db.models import Certificate, Image, RemovalRequest, Role
from retention.requests import filing, workflow
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.integration.engine_helpers import TODAY, ingest, review_due, state
from tests.web import NEXT, audit_rows, csrf_token, html, post_form, walk_pages
from tests.web.conftest import SignedIn

ROLES = (Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
STAFF = {Role.CLERK, Role.SUPERVISOR}
NAME = "Ondine Abernathy-Kessler"
DOB = dt.date(1988, 7, 14)
ROW_ID = re.compile(r'data-request-id="([0-9a-f]{32})"')
EVIDENCE = b"%PDF-1.7 acquittal letter from the Crown Court"
WHY = "Checking the claims against the custody record"
INLINE_PHOTO = re.compile(r'<img src="data:image/jpeg;base64,([^"]+)"')


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Two rows a page, so that a handful of requests spans several pages."""
    return {"MUGSHOT_STAFF_PAGE_SIZE": 2}


def file(
    services: Services,
    *,
    name: str = NAME,
    dob: dt.date = DOB,
    booking: str | None = None,
    evidence: bytes | None = None,
    now: dt.datetime = FIXED_NOW,
) -> tuple[str, str]:
    """File a request as the public page does; returns (request id, reference)."""
    with services.sessions() as db, db.begin():
        req, reference = filing.file_request(
            db,
            services.keyring,
            services.store,
            claims=filing.Claims(
                name=name,
                date_of_birth=dob,
                contact="ondine@example.invalid",
                booking_number=booking,
                details="Acquitted at trial in 2020.",
            ),
            kind=RequestKind.ERASURE,
            jurisdiction=Jurisdiction.GB_ENG,
            grounds=["acquitted"],
            evidence=evidence,
            now=now,
        )
        return req.id, reference


@pytest.fixture
def case(services: Services, tmp_path: Path) -> dict[str, str]:
    """A record of the requester (by name and date of birth), another person's, a request."""
    ids = ingest(
        services,
        tmp_path,
        [
            review_due("GB-7") | {"name": NAME, "date_of_birth": DOB.isoformat()},
            review_due("GB-8") | {"name": "Someone Else"},
        ],
    )
    request_id, reference = file(services, evidence=EVIDENCE)
    return {"record": ids["GB-7"], "other": ids["GB-8"], "request": request_id, "ref": reference}


def the_request(services: Services, request_id: str) -> RemovalRequest:
    with services.readers() as db:
        found = db.get(RemovalRequest, request_id)
        assert found is not None
        return found


def read(client: FlaskClient, case: dict[str, str], what: str, reason: str = WHY) -> Any:
    """Post one of the detail page's "why" forms (claims, photos, evidence)."""
    return act(client, case, what, reason=reason)


def act(client: FlaskClient, case: dict[str, str], action: str, **data: str) -> Any:
    """Post one of the detail page's forms with the page's CSRF token."""
    url = f"/staff/requests/{case['request']}"
    return post_form(client, url, data, action=f"{url}/{action}")


# -- roles ------------------------------------------------------------------------------------


def test_every_request_route_admits_only_clerks_and_supervisors(
    app: Flask, signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    everyone: dict[Role | None, FlaskClient] = {role: signed_in(role) for role in ROLES}
    everyone[None] = app.test_client()
    rid = case["request"]
    for url in (
        "/staff/requests/",
        "/staff/requests/?state=all&sort=received",
        f"/staff/requests/{rid}",
    ):
        for role, client in everyone.items():
            response = client.get(url)
            if role is None:
                assert response.status_code == 302
                assert response.headers["Location"].endswith("/staff/login")
            else:
                assert response.status_code == (200 if role in STAFF else 403), (url, role)
    # Pages were only shown: nothing was decrypted.
    assert not [e for e in audit_rows(services) if e.action.endswith("_viewed")]
    for action in ("match", "approve", "deny", "ask", "extend", "claims", "photos", "evidence"):
        for role, client in everyone.items():
            if role in STAFF:
                continue
            page = client.get("/staff/home" if role else "/staff/login")
            response = client.post(
                f"/staff/requests/{rid}/{action}",
                data={"csrf_token": csrf_token(page.data), "reasons": "x", "reason": WHY},
            )
            assert response.status_code == (302 if role is None else 403), (action, role)
    assert the_request(services, rid).state == "received"
    for role in STAFF:
        assert read(everyone[role], case, "claims").status_code == 200
        assert read(everyone[role], case, "evidence").status_code == 200
    # Reads by the auditor and the admin decrypted nothing.
    viewers = {e.actor for e in audit_rows(services) if e.action == "request.claims_viewed"}
    assert viewers == {"clerk1", "supervisor2"}
    assert [e.action for e in audit_rows(services) if e.action.startswith("image.")] == []


def test_a_decision_without_the_csrf_token_is_refused(
    signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    response = clerk.post(f"/staff/requests/{case['request']}/deny", data={"reasons": "no"})
    assert response.status_code == 400
    assert the_request(services, case["request"]).state == "received"


# -- the queue --------------------------------------------------------------------------------


walk = partial(walk_pages, row_id=ROW_ID)


def test_the_queue_pages_walk_every_request_exactly_once_in_either_order(
    signed_in: SignedIn, services: Services
) -> None:
    filed = [file(services, now=FIXED_NOW - dt.timedelta(days=n % 4))[0] for n in range(7)]
    closed, _ = file(services, now=FIXED_NOW - dt.timedelta(days=9))
    with services.sessions() as db, db.begin():
        workflow.deny(db, closed, actor="clerk:x", reasons="no record", now=FIXED_NOW)
    clerk = signed_in(Role.CLERK)
    with services.readers() as db:
        every = list(db.execute(select(RemovalRequest)).scalars())
    open_ = [r for r in every if r.id in filed]

    by_deadline = walk(clerk, "/staff/requests/")
    assert by_deadline == [r.id for r in sorted(open_, key=lambda r: (r.respond_by, r.id))]
    by_received = walk(clerk, "/staff/requests/?sort=received")
    assert by_received == [r.id for r in sorted(open_, key=lambda r: (r.received_on, r.id))]
    assert walk(clerk, "/staff/requests/?state=denied") == [closed]
    everything = walk(clerk, "/staff/requests/?state=all&sort=received")
    assert sorted(everything) == sorted(r.id for r in every)
    assert len(everything) == len(set(everything)) == 8
    assert clerk.get("/staff/requests/?state=bogus").status_code == 400
    assert clerk.get("/staff/requests/?after=2026-01-01|nothex").status_code == 400


def test_the_queue_flags_overdue_and_due_this_week(signed_in: SignedIn, services: Services) -> None:
    late, _ = file(services, now=FIXED_NOW - dt.timedelta(days=60))
    soon, _ = file(services, now=FIXED_NOW - dt.timedelta(days=27))
    fresh, _ = file(services, now=FIXED_NOW)
    due = {rid: the_request(services, rid).respond_by for rid in (late, soon, fresh)}
    assert due[late] is not None
    assert due[late] < TODAY
    assert due[soon] is not None
    assert TODAY <= due[soon] <= TODAY + dt.timedelta(days=7)
    supervisor = signed_in(Role.SUPERVISOR)
    page, url = "", "/staff/requests/?state=open&sort=received"
    while url:  # every page of the queue
        text = html(supervisor.get(url))
        page += text
        found = NEXT.search(text)
        url = found.group(1).replace("&amp;", "&") if found else ""
    # Rows are one per request; cut the pages into them.
    rows = {rid: page.split(f'data-request-id="{rid}"')[1].split("</tr>")[0] for rid in due}
    assert "Overdue" in rows[late]
    assert "Due this week" not in rows[late]
    assert "Due this week" in rows[soon]
    assert "Overdue" not in rows[soon]
    assert "badge" not in rows[fresh]
    assert f">{late[:8]}<" in rows[late]
    assert "acquitted" in rows[late]
    assert "GB-ENG" in rows[late]
    assert "erasure" in rows[late]


# -- the detail page --------------------------------------------------------------------------


def test_the_claims_are_decrypted_for_a_stated_reason_and_each_view_is_one_audit_entry(
    signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    before = len(audit_rows(services))
    page = clerk.get(f"/staff/requests/{case['request']}")
    assert page.status_code == 200
    assert NAME not in html(page)  # the page alone decrypts nothing
    assert 'id="claims-form"' in html(page)
    assert len(audit_rows(services)) == before
    refused = read(clerk, case, "claims", "x")
    assert refused.status_code == 400
    assert re.search(r'id="claims-reason-error">.*Write a short sentence', html(refused))
    assert NAME not in html(refused)
    assert len(audit_rows(services)) == before
    response = read(clerk, case, "claims")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page_text = html(response)
    assert NAME in page_text
    assert DOB.isoformat() in page_text
    assert "ondine@example.invalid" in page_text
    after = audit_rows(services)
    assert len(after) == before + 1
    assert (after[-1].action, after[-1].actor, after[-1].object_id) == (
        "request.claims_viewed",
        "clerk1",
        case["request"],
    )
    assert after[-1].details == {"reason": WHY}
    assert NAME not in str(after[-1].details)
    read(clerk, case, "claims")
    assert len(audit_rows(services)) == before + 2


def test_candidates_show_their_decision_and_photos_only_for_a_stated_reason(
    signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    url = f"/staff/requests/{case['request']}"
    page = html(clerk.get(url + "?reason=compare+with+the+requester"))
    assert f'data-record-id="{case["record"]}"' in page
    assert case["other"] not in page  # another person's record is no candidate
    rec = state(services, case["record"])
    assert rec.decision_trace is not None
    assert 'data-action="review"' in page
    assert rec.decision_trace["citation"] in page
    assert rec.decision_trace["rule"] in page
    assert "GB-7" in page
    assert "<img" not in page
    assert 'id="photos-form"' in page
    before = len(audit_rows(services))
    response = read(clerk, case, "photos", "compare with the requester")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = html(response)
    shown = INLINE_PHOTO.findall(page)
    assert len(shown) == 1
    assert base64.b64decode(shown[0]).startswith(b"\xff\xd8\xff")
    assert "/thumbnail" not in page
    assert NAME not in page  # the photos, not the claims
    rows = audit_rows(services)
    assert len(rows) == before + 1
    assert rows[-1].action == "image.viewed"
    assert rows[-1].details["reason"] == (f"compare with the requester (request {case['request']})")
    with services.readers() as db:
        viewed = db.get(Image, rows[-1].object_id)
        assert viewed is not None
        assert (viewed.kind, viewed.record_id) == ("thumbnail", case["record"])
    # A request id that does not exist is refused, and nothing is decrypted.
    missing = post_form(clerk, url, {"reason": WHY}, action=f"/staff/requests/{'0' * 32}/photos")
    assert missing.status_code == 404
    assert len(audit_rows(services)) == before + 1


def test_the_evidence_download_is_decrypted_for_a_stated_reason_and_audited(
    signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    assert "Download evidence" in html(clerk.get(f"/staff/requests/{case['request']}"))
    before = len(audit_rows(services))
    refused = read(clerk, case, "evidence", "asdf")
    assert refused.status_code == 400
    assert re.search(r'id="evidence-reason-error">.*Write a short sentence', html(refused))
    assert len(audit_rows(services)) == before
    response = read(clerk, case, "evidence")
    assert response.status_code == 200
    assert response.data == EVIDENCE
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = audit_rows(services)
    assert [(e.action, e.details) for e in rows[before:]] == [
        ("request.evidence_viewed", {"reason": WHY})
    ]
    no_evidence, _ = file(services, name="Other Person")
    assert "Download evidence" not in html(clerk.get(f"/staff/requests/{no_evidence}"))
    before = len(audit_rows(services))
    missing = read(clerk, {"request": no_evidence}, "evidence")
    assert missing.status_code == 404
    assert len(audit_rows(services)) == before


# -- decisions --------------------------------------------------------------------------------


def test_match_approve_and_a_supervisors_confirmation_purge_and_the_requester_sees_completed(
    app: Flask, signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    rid = case["record"]
    with services.readers() as db:
        blobs = list(db.execute(select(Image.id).where(Image.record_id == rid)).scalars())
    assert blobs
    assert all(services.store.exists(b) for b in blobs)

    matched = act(clerk, case, "match", record_id=rid)
    assert matched.status_code == 303
    assert the_request(services, case["request"]).state == "under_review"
    page = html(clerk.get(matched.headers["Location"]))
    assert "Matched" in page
    assert "Record " + rid[:8] + " matched" in page  # the flash message

    approved = act(clerk, case, "approve", reasons="Acquitted: no reason to keep the photo.")
    assert approved.status_code == 303
    # The record's rule says review, not purge: the clerk's approval waits for a supervisor.
    assert the_request(services, case["request"]).state == "confirming"
    assert state(services, rid).status == "active"
    assert all(services.store.exists(b) for b in blobs)
    page = html(clerk.get(approved.headers["Location"]))
    assert "Waiting for a supervisor" in page
    assert 'id="confirm-form"' not in page  # a clerk cannot confirm
    supervisor = signed_in(Role.SUPERVISOR)
    approved = act(supervisor, case, "confirm", reason="Acquittal checked against the court record")
    assert approved.status_code == 303
    req = the_request(services, case["request"])
    assert req.state == "completed"
    assert req.decided_by == "clerk1"
    rec = state(services, rid)
    assert rec.status == "purged"
    assert rec.identity_sealed is None
    with services.readers() as db:
        cert = db.execute(select(Certificate).where(Certificate.record_id == rid)).scalar_one()
        assert cert.request_reference == case["request"]
        assert cert.body["reason"]["decided_by"] == "clerk1"
        assert cert.body["reason"]["confirmed_by"].startswith("supervisor")
    assert not any(services.store.exists(b) for b in blobs)
    assert state(services, case["other"]).status == "active"
    page = html(supervisor.get(approved.headers["Location"]))
    assert "1 record(s) purged" in page
    assert f'href="/staff/records/{rid}/certificate"' in page
    assert 'id="approve-form"' not in page  # nothing left to decide

    public = app.test_client()
    status = post_form(public, "/status", {"reference": case["ref"]})
    assert status.status_code == 200
    text = html(status)
    assert 'data-state="completed"' in text
    assert "Acquitted: no reason to keep the photo." in text
    assert "Download certificate" in text


def test_approving_with_nothing_matched_is_refused_next_to_the_form(
    signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    response = act(clerk, case, "approve", reasons="")
    assert response.status_code == 400
    assert re.search(r'id="error-summary".*match at least one record', html(response), re.S)
    assert the_request(services, case["request"]).state == "received"
    assert state(services, case["record"]).status == "active"


def test_a_refusal_needs_reasons_and_the_requester_then_sees_them(
    app: Flask, signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    refused = act(clerk, case, "deny", reasons="   ")
    assert refused.status_code == 400
    page = html(refused)
    assert re.search(r'id="deny-reasons-error">.*a refusal must give its reasons', page)
    assert 'aria-invalid="true"' in page
    assert the_request(services, case["request"]).state == "received"

    done = act(clerk, case, "deny", reasons="The record is kept under a court order.")
    assert done.status_code == 303
    req = the_request(services, case["request"])
    assert (req.state, req.decision_reasons) == (
        "denied",
        "The record is kept under a court order.",
    )
    status = post_form(app.test_client(), "/status", {"reference": case["ref"]})
    assert 'data-state="denied"' in html(status)
    assert "The record is kept under a court order." in html(status)
    again = act(clerk, case, "deny", reasons="twice")
    assert again.status_code == 400
    assert re.search(r'id="deny-form-error">.*cannot become denied', html(again))


def test_asking_for_information_and_giving_extension_notice(
    signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    supervisor = signed_in(Role.SUPERVISOR)
    first_deadline = the_request(services, case["request"]).respond_by
    blank = act(supervisor, case, "ask", message="")
    assert blank.status_code == 400
    assert re.search(r'id="ask-message-error">.*say what information is needed', html(blank))

    # DPA 2018 s.54(3A): commencement unconfirmed (RULES.md §10.5), so the extension is refused
    # next to its form with the reason, and the deadline stays (the GDPR case is in
    # tests/integration/test_requests.py).
    no_reason = act(supervisor, case, "extend", reason="")
    assert no_reason.status_code == 400
    assert re.search(
        r'id="extend-reason-error">.*say why the deadline is extended', html(no_reason)
    )
    refused = act(supervisor, case, "extend", reason="Three bookings to trace.")
    assert refused.status_code == 400
    assert re.search(r'id="extend-form-error">.*is not\s+confirmed', html(refused))
    req = the_request(services, case["request"])
    assert req.extension_notice_on is None
    assert req.respond_by == first_deadline

    asked = act(supervisor, case, "ask", message="Please send the court's certificate.")
    assert asked.status_code == 303
    req = the_request(services, case["request"])
    assert req.state == "needs_info"
    assert req.info_requested_on == TODAY
    page = html(supervisor.get(asked.headers["Location"]))
    assert "Please send the court&#39;s certificate." in page
    assert 'id="ask-form"' not in page
    actions = [e.action for e in audit_rows(services)]
    assert "request.extended" not in actions
    assert "request.needs_info" in actions


def test_an_unknown_request_is_not_found(signed_in: SignedIn, case: dict[str, str]) -> None:
    clerk = signed_in(Role.CLERK)
    unknown = "0" * 32
    assert clerk.get(f"/staff/requests/{unknown}").status_code == 404
    for what in ("claims", "photos", "evidence"):
        response = post_form(
            clerk,
            f"/staff/requests/{case['request']}",
            {"reason": WHY},
            action=f"/staff/requests/{unknown}/{what}",
        )
        assert response.status_code == 404, what


# -- matching and approval take the requester's records and, beyond the rules, two people ------


def test_a_forged_match_of_another_persons_record_is_refused_and_changes_nothing(
    signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    response = act(clerk, case, "match", record_id=case["other"])  # not a candidate
    assert response.status_code == 400
    assert "not a candidate" in html(response)
    assert the_request(services, case["request"]).state == "received"
    assert not [r for r in audit_rows(services) if r.action == "request.matched"]


def test_a_search_from_the_request_page_finds_another_booking_to_match_with_a_supervisor(
    signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    junk = act(clerk, case, "search", booking_number="GB-8", reason="x")
    assert junk.status_code == 400
    assert "write a short sentence" in html(junk)
    found = act(
        clerk, case, "search", booking_number="gb 8", reason="The requester's answer names it"
    )
    assert found.status_code == 200
    page = html(found)
    assert "The search found 1 record(s)" in page
    assert f'data-record-id="{case["other"]}"' in page
    assert "Found by a search" in page
    searched = [r for r in audit_rows(services) if r.action == "request.searched"]
    assert len(searched) == 1
    assert "GB" not in str(searched[0].details)
    assert "gb 8" not in str(searched[0].details)
    # Another person's name: the match needs a reason and waits for a supervisor.
    refused = act(clerk, case, "match", record_id=case["other"])
    assert refused.status_code == 400
    assert "another person&#39;s identity" in html(refused)
    act(clerk, case, "match", record_id=case["other"], reason="The court letter names GB-8")
    page = html(clerk.get(f"/staff/requests/{case['request']}"))
    assert "Match waits for a supervisor" in page
    plan = html(clerk.get(f"/staff/requests/{case['request']}/approve"))
    assert "wait for a supervisor's confirmation" in plan
    assert 'id="approve-form"' not in plan
    supervisor = signed_in(Role.SUPERVISOR)
    confirmed = post_form(
        supervisor,
        f"/staff/requests/{case['request']}",
        {"reason": "Checked the court letter myself"},
        action=f"/staff/requests/{case['request']}/match/{case['other']}/confirm",
    )
    assert confirmed.status_code == 303
    plan = html(clerk.get(f"/staff/requests/{case['request']}/approve"))
    assert 'id="approve-form"' in plan
    assert "GB-8" in plan
    assert "outside its rule" in plan  # review-due: a purge needs a second person
    assert state(services, case["other"]).status == "active"


def test_the_approver_cannot_confirm_their_own_approval_even_as_a_supervisor(
    signed_in: SignedIn, services: Services, case: dict[str, str]
) -> None:
    supervisor = signed_in(Role.SUPERVISOR)
    act(supervisor, case, "match", record_id=case["record"])
    act(supervisor, case, "approve", reasons="")
    assert the_request(services, case["request"]).state == "confirming"
    page = html(supervisor.get(f"/staff/requests/{case['request']}"))
    assert 'id="confirm-form"' not in page
    assert "another supervisor must confirm" in page
    forged = act(supervisor, case, "confirm", reason="I am sure about this one myself")
    assert forged.status_code == 400
    assert "second person" in html(forged)
    assert state(services, case["record"]).status == "active"
    other = signed_in(Role.SUPERVISOR)
    refused = act(other, case, "refuse-approval", reason="Trial notes say a retrial is possible")
    assert refused.status_code == 303
    assert the_request(services, case["request"]).state == "under_review"
    assert state(services, case["record"]).status == "active"
