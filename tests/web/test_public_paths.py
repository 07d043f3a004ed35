"""No dead ends on the public side: answers with files, replies to refusals with the routes to
complain or appeal, a request kept under a legal hold, over-size uploads back on the form,
errors that link back, and certificates anyone can check on ``/verify``."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from policies.vocabulary import HoldKind
from retention.db.models import (
    AuditEntry,
    Certificate,
    RemovalRequest,
    RequestAttachment,
    RequestState,
    Role,
)
from retention.engine import certificates, changes
from retention.jobs.sweep import run_sweep
from retention.keys import crypto
from retention.requests import approval, filing, replies, workflow
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.integration.engine_helpers import ingest, purge_due
from tests.web import audit_rows, csrf_token, post_form
from tests.web.conftest import SignedIn
from tests.web.test_public import REF, _form, file

PDF = b"%PDF-1.7 letter from the court: case dismissed 2021-03-04 MARKER-PDF-7731"


def _multipart(fields: dict[str, object], upload: tuple[str, str, bytes]) -> tuple[bytes, str]:
    """A multipart body built by hand (the test client spools large files to a temporary file
    it never closes)."""
    boundary = "----mugshot-test-boundary"
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{item}\r\n".encode()
            )
    name, filename, data = upload
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _filed(client: FlaskClient, **overrides: object) -> str:
    status, page = file(client, **overrides)
    assert status == 200, page
    return REF.search(page).group(1)  # type: ignore[union-attr]


def _status(client: FlaskClient, reference: str) -> str:
    response = post_form(client, "/status", {"reference": reference})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _request(services: Services, reference: str) -> RemovalRequest:
    with services.readers() as db:
        req = filing.by_reference(db, reference)
        assert req is not None
        db.expunge(req)
        return req


def test_needs_information_shows_the_date_and_takes_an_answer_with_a_file(
    client: FlaskClient, services: Services
) -> None:
    reference = _filed(client)
    req = _request(services, reference)
    with services.sessions() as db, db.begin():
        workflow.ask_for_information(
            db,
            services.keyring,
            req.id,
            actor="clerk:ann",
            message="Send the court's letter.",
            now=FIXED_NOW,
        )
    answer_by = (FIXED_NOW.date() + workflow.ANSWER_WITHIN).isoformat()
    page = _status(client, reference)
    assert "Send the court&#39;s letter." in page
    assert f"Please answer by <strong>{answer_by}</strong>" in page
    assert 'enctype="multipart/form-data"' in page
    # An empty answer is a form error on the same page, not an error page.
    empty = client.post(
        "/status/answer",
        data={"csrf_token": csrf_token(page), "reference": reference, "text": "   "},
        content_type="multipart/form-data",
    )
    text = empty.get_data(as_text=True)
    assert empty.status_code == 400
    assert "<title>Error: Your request" in text
    assert 'href="#text">Write your answer.</a>' in text
    assert "may have expired" not in text
    answered = client.post(
        "/status/answer",
        data={
            "csrf_token": csrf_token(page),
            "reference": reference,
            "text": "Here is the letter.",
            "evidence": (io.BytesIO(PDF), "letter.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert answered.status_code == 200
    assert 'data-state="under_review"' in answered.get_data(as_text=True)
    with services.readers() as db:
        row = db.execute(select(RequestAttachment)).scalar_one()
        stored = db.get(RemovalRequest, req.id)
        assert stored is not None
        assert stored.answer_by is None
        assert stored.info_received_on == FIXED_NOW.date()
        assert row.request_id == req.id
        assert row.sent_with == "answer"
        assert row.media_type == "application/pdf"
        sealed = services.store.get(row.id)
        assert b"MARKER-PDF-7731" not in sealed  # sealed at rest
        media, data = replies.open_attachment(
            db,
            services.keyring,
            services.store,
            stored,
            row.id,
            actor="clerk:ann",
            reason="Reading the letter the requester sent",
            now=FIXED_NOW,
        )
        assert (media, data) == ("application/pdf", PDF)
        claims = filing.open_claims(
            db,
            services.keyring,
            stored,
            actor="clerk:ann",
            reason="Checking the answer was stored",
            now=FIXED_NOW,
        )
        assert claims["answers"][-1] == {
            "on": FIXED_NOW.date().isoformat(),
            "text": "Here is the letter.",
            "attachment": row.id,
        }


def test_an_oversize_file_comes_back_on_the_filled_form_with_the_error_at_the_field(
    client: FlaskClient, services: Services
) -> None:
    big = b"%PDF-1.7 " + b"0" * (26 * 1024 * 1024)
    token = csrf_token(client.get("/request").data)
    fields = {"csrf_token": token, **_form(name="Casey Example")}
    body, content_type = _multipart(fields, ("evidence", "big.pdf", big))
    response = client.post("/request", data=body, content_type=content_type)
    status, page = response.status_code, response.get_data(as_text=True)
    assert status == 400
    assert 'value="Casey Example"' in page  # nothing typed is lost
    assert 'value="alex@example.invalid"' in page
    assert 'id="evidence-error"' in page
    assert "larger than 5 MB" in page
    assert 'href="#evidence">' in page  # the summary links to the field
    with services.readers() as db:
        assert db.execute(select(RemovalRequest)).first() is None


def test_past_the_upload_ceiling_the_413_page_links_back(client: FlaskClient) -> None:
    from web.public import UPLOAD_CEILING

    token = csrf_token(client.get("/request").data)
    response = client.post(
        "/request",
        data=b"--b\r\n" + b"0" * (UPLOAD_CEILING + 10),
        content_type="multipart/form-data; boundary=b",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert 'href="/request">Back to the request form</a>' in text
    assert 'href="/">Go to the start page</a>' in text


@pytest.mark.parametrize("url", ["/no-such-page", "/status/answer", "/verify"])
def test_every_public_error_page_links_back(client: FlaskClient, url: str) -> None:
    response = client.get(url) if url == "/no-such-page" else client.post(url, data={})
    assert response.status_code in (400, 404, 405)
    text = response.get_data(as_text=True)
    assert 'href="/">Go to the start page</a>' in text or "There is a problem" in text


def test_form_errors_have_a_summary_with_links_and_error_in_the_title(
    client: FlaskClient,
) -> None:
    status, page = file(client, name="", grounds=[], date_of_birth="3/27/1990")
    assert status == 400
    assert "<title>Error: Make a removal request" in page
    summary = page[
        page.index('id="error-summary"') : page.index("</div>", page.index("error-summary"))
    ]
    assert 'href="#name">Enter your full name.</a>' in summary
    assert 'href="#date_of_birth">Enter your date of birth as year-month-day' in summary
    assert 'href="#grounds-0">Choose at least one reason.</a>' in summary
    assert 'tabindex="-1"' in page
    assert "/static/public.js" in page
    # The hint shows the one format the field takes.
    assert "for example 1990-03-27" in page
    assert (
        'type="text"'
        in page[page.index('id="date_of_birth"') - 200 : page.index('id="date_of_birth"') + 200]
    )
    # Who runs the site and how what is sent is used.
    assert "Who we are and how we use what you send" in page


def test_the_notice_names_the_operator_from_settings(services: Services) -> None:
    from web import create_app

    app = create_app(
        services.settings,
        services=services,
        config={"TESTING": True, "MUGSHOT_PUBLIC_OPERATOR": "Example County Sheriff's Office"},
    )
    page = app.test_client().get("/request").get_data(as_text=True)
    assert "This service is run by Example County Sheriff&#39;s Office" in page


@pytest.mark.parametrize(
    ("jurisdiction", "route"),
    [
        ("GB-ENG", "Information Commissioner&#39;s Office (ICO)"),
        ("EU", "Your data protection authority"),
        ("US-CA", "The superior court"),
        ("US-IL", "Ask us to look again"),
        ("US-TX", "Ask us to look again"),
    ],
)
def test_a_refusal_shows_the_complaint_routes_and_takes_a_reply(
    client: FlaskClient, services: Services, jurisdiction: str, route: str
) -> None:
    reference = _filed(client, jurisdiction=jurisdiction)
    req = _request(services, reference)
    with services.sessions() as db, db.begin():
        workflow.deny(
            db,
            services.keyring,
            req.id,
            actor="clerk:ann",
            reasons="No record found.",
            now=FIXED_NOW,
        )
    page = _status(client, reference)
    assert 'data-state="denied"' in page
    assert 'id="complaint-routes"' in page
    assert route in page
    assert "Reply to our decision" in page
    replied = client.post(
        "/status/reply",
        data={
            "csrf_token": csrf_token(page),
            "reference": reference,
            "text": "I was arrested under another name.",
            "evidence": (io.BytesIO(PDF), "letter.pdf"),
        },
        content_type="multipart/form-data",
    )
    text = replied.get_data(as_text=True)
    assert replied.status_code == 200
    assert "your reply was added" in text
    assert f"We received your reply of {FIXED_NOW.date().isoformat()}" in text
    with services.readers() as db:
        stored = db.get(RemovalRequest, req.id)
        assert stored is not None
        assert stored.state == RequestState.DENIED.value
        assert stored.replied_on == FIXED_NOW.date()
        assert db.execute(select(RequestAttachment.sent_with)).scalar_one() == "reply"
        last = db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
        assert last is not None
        assert last.action == "request.replied"
        assert "another name" not in json.dumps(last.details)


def test_a_reply_is_refused_unless_the_request_was_refused(
    client: FlaskClient, services: Services
) -> None:
    _, filed = file(client)
    reference = REF.search(filed).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/status/reply",
        data={"csrf_token": csrf_token(filed), "reference": reference, "text": "Hello"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 409
    with services.readers() as db:
        assert db.execute(select(RequestAttachment)).first() is None
        stored = filing.by_reference(db, reference)
        assert stored is not None
        assert stored.replied_on is None


def _approve(services: Services, request_id: str, record_id: str) -> approval.Approval:
    with services.sessions() as db, db.begin():
        workflow.match(
            db, services.keyring, request_id, record_id, actor="clerk:ann", now=FIXED_NOW
        )
        return approval.approve(
            db, services.keyring, request_id, actor="clerk:ann", reasons="Deleted.", now=FIXED_NOW
        )


def test_a_held_record_keeps_the_request_on_hold_until_the_hold_ends(
    tmp_path: Path, client: FlaskClient, services: Services
) -> None:
    ids = ingest(services, tmp_path, [purge_due("CA-1")])
    reference = _filed(client, jurisdiction="US-CA", booking_number="CA-1")
    req = _request(services, reference)
    with services.sessions() as db, db.begin():
        hold = changes.place_hold(
            db,
            services.keyring,
            ids["CA-1"],
            kind=HoldKind.LITIGATION,
            reason="civil claim",
            case_reference=None,
            actor="clerk:ann",
            now=FIXED_NOW,
        )
        hold_id = hold.id
    done = _approve(services, req.id, ids["CA-1"])
    assert done.held == [ids["CA-1"]]
    page = _status(client, reference)
    assert 'data-state="on_hold"' in page
    assert "kept under a legal hold; we will destroy it when the hold ends" in page
    with services.readers() as db:
        assert approval.held_requests_ready(db) == []
    later = FIXED_NOW + dt.timedelta(days=1)
    with services.sessions() as db, db.begin():
        changes.release_hold(db, hold_id, actor="clerk:ann", now=later)
    with services.sessions() as db, db.begin():
        changes.release_hold(db, hold_id, actor="supervisor:bo", now=later)
    report = run_sweep(services, today=later.date(), clock=lambda: later, actor="scheduler")
    assert not report.errors
    page = _status(client, reference)
    assert 'data-state="completed"' in page
    with services.readers() as db:
        certs = db.execute(select(Certificate)).scalars().all()
        assert len(certs) == 1
        actions = [a for (a,) in db.execute(select(AuditEntry.action).order_by(AuditEntry.seq))]
    assert "request.on_hold" in actions
    assert actions.index("request.completed") > actions.index("hold.released")


def _certificate(tmp_path: Path, client: FlaskClient, services: Services) -> tuple[str, str, bytes]:
    """A completed request: (reference, status page, downloaded certificate file)."""
    ids = ingest(services, tmp_path, [purge_due("CA-7")])
    reference = _filed(client, jurisdiction="US-CA", booking_number="CA-7")
    _approve(services, _request(services, reference).id, ids["CA-7"])
    page = _status(client, reference)
    cert_id = re.search(r'name="certificate" value="(\w+)"', page).group(1)  # type: ignore[union-attr]
    download = client.post(
        "/status/certificate",
        data={"csrf_token": csrf_token(page), "reference": reference, "certificate": cert_id},
    )
    assert download.status_code == 200
    return reference, page, download.data


def test_the_certificate_carries_the_sha256_of_the_reference_and_reads_in_words(
    tmp_path: Path, client: FlaskClient, services: Services
) -> None:
    reference, page, data = _certificate(tmp_path, client, services)
    doc = json.loads(data)
    plain = crypto.normalise_identifier(reference)
    assert (
        doc["certificate"]["requester_reference_sha256"]
        == hashlib.sha256(plain.encode()).hexdigest()
    )
    assert reference not in data.decode()
    cert_id = doc["certificate"]["certificate_id"]
    shown = client.post(
        "/status/certificate/page",
        data={"csrf_token": csrf_token(page), "reference": reference, "certificate": cert_id},
    )
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "This certificate was issued for your request." in text
    assert "1 photograph" in text
    assert "that key was deleted" in text
    assert "A removal request was approved" in text
    assert doc["certificate"]["destroyed_at"][:10] in text


def test_verify_says_valid_and_issued_for_your_request_and_a_flipped_byte_is_invalid(
    tmp_path: Path, client: FlaskClient, services: Services
) -> None:
    reference, _, data = _certificate(tmp_path, client, services)
    form = client.get("/verify")
    assert form.status_code == 200
    token = csrf_token(form.data)

    def check(**fields: object) -> tuple[int, str]:
        response = client.post(
            "/verify", data={"csrf_token": token, **fields}, content_type="multipart/form-data"
        )
        return response.status_code, response.get_data(as_text=True)

    code, text = check(upload=(io.BytesIO(data), "certificate.json"), reference=reference.lower())
    assert code == 200
    assert 'data-valid="true"' in text
    assert "It was issued for your request." in text
    assert "1 photograph, with the smaller copy made from it." in text
    assert reference not in text  # the typed reference is not written back
    assert reference.lower() not in text
    code, text = check(pasted=data.decode(), reference="AAAAA-BBBBB-CCCCC-DDDDD")
    assert 'data-valid="true"' in text
    assert "It was not issued for the reference you typed." in text
    # One changed byte in the signed body: not valid.
    doc = json.loads(data)
    flipped = copy.deepcopy(doc)
    flipped["certificate"]["destroyed_at"] = flipped["certificate"]["destroyed_at"].replace(
        "2", "3", 1
    )
    code, text = check(pasted=json.dumps(flipped))
    assert code == 200
    assert 'data-valid="false"' in text
    assert "This certificate is not valid" in text
    raw = bytearray(data)
    at = raw.index(b'"signature": "') + len(b'"signature": "')
    raw[at] = ord("0") if raw[at] != ord("0") else ord("1")
    code, text = check(upload=(io.BytesIO(bytes(raw)), "certificate.json"))
    assert 'data-valid="false"' in text
    # A certificate signed by another key (the one embedded in the file is ignored).
    assert doc["public_key"]


@pytest.mark.parametrize(
    "pasted",
    ["not json", "[" * 5000 + "]" * 5000, '{"a":' * 50 + "1" + "}" * 50, "x" * 70_000, ""],
)
def test_verify_refuses_hostile_or_empty_input_with_a_form_error(
    client: FlaskClient, pasted: str
) -> None:
    response = post_form(client, "/verify", {"pasted": pasted}, content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in text
    assert "<title>Error: " in text


def test_certificates_issued_without_a_request_say_so_plainly(services: Services) -> None:
    body = {"destroyed": {"images": [{"kind": "original"}, {"kind": "thumbnail"}]}}
    summary = certificates.summary(body)
    assert summary.originals == 1
    assert summary.images == 2
    assert summary.requester_reference_sha256 is None
    assert summary.destroyed_at is None


def test_the_clerk_downloads_a_file_sent_with_a_reply_for_a_stated_reason(
    client: FlaskClient, services: Services, signed_in: SignedIn
) -> None:
    reference = _filed(client)
    req = _request(services, reference)
    with services.sessions() as db, db.begin():
        workflow.deny(
            db,
            services.keyring,
            req.id,
            actor="clerk:ann",
            reasons="No record found.",
            now=FIXED_NOW,
        )
    with services.sessions() as db, db.begin():
        replies.reply(
            db,
            services.keyring,
            reference,
            text="Please look again.",
            now=FIXED_NOW,
            store=services.store,
            evidence=PDF,
        )
    with services.readers() as db:
        attachment_id = db.execute(select(RequestAttachment.id)).scalar_one()
    clerk = signed_in(Role.CLERK)
    url = f"/staff/requests/{req.id}"
    shown = post_form(
        clerk, url, {"reason": "Reading the requester's reply"}, action=f"{url}/claims"
    )
    text = shown.get_data(as_text=True)
    assert "Reply to the refusal of" in text
    assert f"{url}/evidence/{attachment_id}" in text
    before = len(audit_rows(services))
    download = post_form(
        clerk,
        url,
        {"reason": "Reading the letter sent with the reply"},
        action=f"{url}/evidence/{attachment_id}",
    )
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Cache-Control"] == "no-store"
    rows = audit_rows(services)
    assert [(e.action, e.details) for e in rows[before:]] == [
        (
            "request.attachment_viewed",
            {"attachment": attachment_id, "reason": "Reading the letter sent with the reply"},
        )
    ]
    wrong = post_form(
        clerk,
        url,
        {"reason": "Reading the letter sent with the reply"},
        action=f"{url}/evidence/{'0' * 32}",
    )
    assert wrong.status_code == 404


@pytest.mark.parametrize(
    ("jurisdiction", "label", "note"),
    [
        ("GB-ENG", "We must answer by", "The law sets this deadline."),
        ("EU", "We must answer by", "The law sets this deadline."),
        ("US-CA", "We aim to answer by", "this is our own target"),
        ("US-IL", "We aim to answer by", "this is our own target"),
        ("US-TX", "We aim to answer by", "this is our own target"),
    ],
)
def test_every_request_shows_a_date_and_says_whether_the_law_sets_it(
    client: FlaskClient, services: Services, jurisdiction: str, label: str, note: str
) -> None:
    status, page = file(client, jurisdiction=jurisdiction)
    assert status == 200
    reference = REF.search(page).group(1)  # type: ignore[union-attr]
    req = _request(services, reference)
    assert req.respond_by is not None
    shown = [page, _status(client, reference)]
    download = client.post(
        "/request/receipt", data={"csrf_token": csrf_token(page), "reference": reference}
    )
    shown.append(download.get_data(as_text=True))
    for text in shown:
        assert f"{label}" in text
        assert req.respond_by.isoformat() in text
        assert note in text
        if label == "We aim to answer by":
            assert "We must answer by" not in text
            assert "statutory" not in text.lower()


def test_an_extension_shows_its_reason_to_the_requester(
    client: FlaskClient, services: Services
) -> None:
    reference = _filed(client, jurisdiction="EU")
    req = _request(services, reference)
    first = req.respond_by
    with services.sessions() as db, db.begin():
        workflow.extend(
            db,
            services.keyring,
            req.id,
            actor="clerk:ann",
            reason="We are waiting for the court's records.",
            now=FIXED_NOW,
        )
    page = _status(client, reference)
    later = _request(services, reference).respond_by
    assert first is not None
    assert later is not None
    assert later > first
    assert f'<span id="respond-by">{later.isoformat()}</span>' in page
    assert "we extended the time to answer, because:" in page
    assert "We are waiting for the court&#39;s records." in page
