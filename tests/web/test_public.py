"""Public pages: file, follow, answer, download — and reveal nothing about who is held."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from retention.db.models import AuditEntry, RemovalRequest
from retention.engine import certificates
from retention.engine.authority import Person
from retention.requests import approval, filing, workflow
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.integration.engine_helpers import ingest, review_due
from tests.web import csrf_token, post_form

REF = re.compile(r'id="reference">([A-Z0-9-]{23})<')


def _form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Alex Rivera",
        "date_of_birth": "1990-02-03",
        "booking_number": "",
        "jurisdiction": "GB-ENG",
        "kind": "erasure",
        "grounds": ["acquitted"],
        "details": "Found not guilty in 2020.",
        "contact": "alex@example.invalid",
    }
    data.update(overrides)
    return data


def file(client: FlaskClient, **overrides: object) -> tuple[int, str]:
    """Submit the form; returns (status of the submission, page after the redirect)."""
    response = post_form(client, "/request", _form(**overrides), content_type="multipart/form-data")
    if response.status_code != 303:
        return response.status_code, response.get_data(as_text=True)
    page = client.get(response.headers["Location"])
    return 303, page.get_data(as_text=True)


def test_the_landing_page_explains_the_service(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Ask for your booking photo to be removed" in page.get_data(as_text=True)


def test_filing_shows_an_unguessable_reference_once(
    client: FlaskClient, services: Services
) -> None:
    status, page = file(client)
    assert status == 303
    reference = REF.search(page).group(1)  # type: ignore[union-attr]
    assert client.get("/request/filed").status_code == 302  # shown once
    with services.readers() as db:
        req = filing.by_reference(db, reference)
        assert req is not None
        assert req.state == "received"
        assert req.respond_by is not None


def _normalise(page: str) -> str:
    page = REF.sub('id="reference">REF<', page)
    return re.sub(r'name="csrf_token" value="[^"]+"', "CSRF", page)


def test_the_response_is_the_same_whether_or_not_a_record_exists(
    tmp_path: Path, services: Services, app
) -> None:  # type: ignore[no-untyped-def]
    ingest(
        services,
        tmp_path,
        [review_due("GB-1") | {"name": "Held Person", "date_of_birth": "1985-05-05"}],
    )
    held = app.test_client()
    absent = app.test_client()
    s1, page1 = file(held, name="Held Person", date_of_birth="1985-05-05", booking_number="GB-1")
    s2, page2 = file(absent, name="Nobody Here", date_of_birth="1985-05-05", booking_number="XX-9")
    assert s1 == s2 == 303
    assert _normalise(page1) == _normalise(page2)
    ref1, ref2 = REF.search(page1).group(1), REF.search(page2).group(1)  # type: ignore[union-attr]
    st1 = post_form(held, "/status", {"reference": ref1}).get_data(as_text=True)
    st2 = post_form(absent, "/status", {"reference": ref2}).get_data(as_text=True)
    assert _normalise(st1) == _normalise(st2)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "This field is required"),
        ({"date_of_birth": "2999-01-01"}, "Enter your real date of birth"),
        ({"date_of_birth": "31/02/1990"}, "Not a valid date value"),
        ({"grounds": []}, "Choose at least one reason"),
        ({"jurisdiction": "XX"}, "Not a valid choice"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_nothing_is_stored(
    client: FlaskClient, services: Services, overrides: dict[str, object], message: str
) -> None:
    status, page = file(client, **overrides)
    assert status == 400
    assert message in page
    assert 'class="field-error"' in page
    with services.readers() as db:
        assert db.execute(select(RemovalRequest)).first() is None


@pytest.mark.parametrize(
    ("filename", "content", "status"),
    [
        ("letter.pdf", b"%PDF-1.7 court letter", 303),
        ("photo.gif", b"GIF89a....", 400),
        ("letter.pdf", b"MZ this is an exe renamed", 400),
    ],
)
def test_evidence_uploads_are_limited_to_pdf_jpeg_png(
    client: FlaskClient, services: Services, filename: str, content: bytes, status: int
) -> None:
    code, _ = file(client, evidence=(io.BytesIO(content), filename))
    assert code == status
    with services.readers() as db:
        stored = db.execute(select(RemovalRequest)).scalars().all()
    assert len(stored) == (1 if status == 303 else 0)


def test_an_oversized_upload_is_refused_with_413(client: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/request").data)
    body = b"--b\r\n" + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 10)  # refused unread
    response = client.post(
        "/request",
        data=body,
        content_type="multipart/form-data; boundary=b",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 413
    assert "larger than this service accepts" in response.get_data(as_text=True)


def test_a_forged_form_without_csrf_token_is_refused(
    client: FlaskClient, services: Services
) -> None:
    response = client.post("/request", data=_form(), content_type="multipart/form-data")
    assert response.status_code == 400
    with services.readers() as db:
        assert db.execute(select(RemovalRequest)).first() is None


def test_submissions_are_rate_limited_per_address(client: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    limit = int(app.config["MUGSHOT_RATE_LIMITS"]["public_submit"].split()[0])
    page = client.get("/request")
    token = csrf_token(page.data)
    codes = [
        client.post(
            "/request",
            data={"csrf_token": token, **_form(name="")},
            content_type="multipart/form-data",
        ).status_code
        for _ in range(limit + 1)
    ]
    assert codes[:limit] == [400] * limit
    assert codes[-1] == 429


def test_status_shows_the_decision_and_a_certificate_that_verifies(
    tmp_path: Path, client: FlaskClient, services: Services
) -> None:
    ids = ingest(services, tmp_path, [review_due("GB-7")])
    _, page = file(client, booking_number="GB-7")
    reference = REF.search(page).group(1)  # type: ignore[union-attr]
    with services.sessions() as db, db.begin():
        req = filing.by_reference(db, reference)
        assert req is not None
        workflow.match(db, services.keyring, req.id, ids["GB-7"], actor="clerk:ann", now=FIXED_NOW)
        approval.approve(
            db, services.keyring, req.id, actor="clerk:ann", reasons="Deleted.", now=FIXED_NOW
        )
        request_id = req.id
    waiting = post_form(client, "/status", {"reference": reference}).get_data(as_text=True)
    assert "waiting for a second approval" in waiting
    assert "Deleted." not in waiting  # not a decision until the second person confirms
    assert 'name="certificate"' not in waiting
    with services.sessions() as db, db.begin():
        approval.confirm(
            db,
            services.keyring,
            request_id,
            supervisor=Person("supervisor:bo", "supervisor"),
            reason="Acquittal checked against the court record",
            now=FIXED_NOW,
        )
    status = post_form(client, "/status", {"reference": reference.lower()})
    text = status.get_data(as_text=True)
    assert 'data-state="completed"' in text
    assert "Deleted." in text
    cert_id = re.search(r'name="certificate" value="(\w+)"', text).group(1)  # type: ignore[union-attr]
    download = client.post(
        "/status/certificate",
        data={"csrf_token": csrf_token(text), "reference": reference, "certificate": cert_id},
    )
    assert download.status_code == 200
    assert download.headers["Cache-Control"] == "no-store"
    doc = json.loads(download.data)
    pem = client.get("/public-key.pem").data
    assert certificates.verify(doc, pem) is None
    wrong = client.post(
        "/status/certificate",
        data={
            "csrf_token": csrf_token(text),
            "reference": "AAAAA-BBBBB-CCCCC-DDDDD",
            "certificate": cert_id,
        },
    )
    assert wrong.status_code == 404


def test_the_requester_answers_a_request_for_information(
    client: FlaskClient, services: Services
) -> None:
    _, page = file(client)
    reference = REF.search(page).group(1)  # type: ignore[union-attr]
    with services.sessions() as db, db.begin():
        req = filing.by_reference(db, reference)
        assert req is not None
        workflow.ask_for_information(
            db,
            services.keyring,
            req.id,
            actor="clerk:ann",
            message="Which arrest date?",
            now=FIXED_NOW,
        )
    shown = post_form(client, "/status", {"reference": reference}).get_data(as_text=True)
    assert "Which arrest date?" in shown
    answered = client.post(
        "/status/answer",
        data={"csrf_token": csrf_token(shown), "reference": reference, "text": "March 2020"},
    )
    assert answered.status_code == 200
    assert 'data-state="under_review"' in answered.get_data(as_text=True)
    with services.readers() as db:
        actions = [a for (a,) in db.execute(select(AuditEntry.action).order_by(AuditEntry.seq))]
    assert actions[-1] == "request.under_review"


def test_an_unknown_reference_says_so_without_a_hint(client: FlaskClient) -> None:
    response = post_form(client, "/status", {"reference": "AAAAA-BBBBB-CCCCC-DDDDD"})
    assert response.status_code == 404
    assert "No request has that reference" in response.get_data(as_text=True)


def test_public_pages_carry_strict_security_headers(client: FlaskClient) -> None:
    for url in ("/", "/request", "/status"):
        headers = client.get(url).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
