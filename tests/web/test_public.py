"""Public pages: file, follow, answer, download — and reveal nothing about who is held."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

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
    """Submit the form; returns (status, page). The receipt is the POST's own response."""
    response = post_form(client, "/request", _form(**overrides), content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def test_the_landing_page_explains_the_service(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Ask for your booking photo to be removed" in page.get_data(as_text=True)


def test_filing_shows_an_unguessable_reference_once(
    client: FlaskClient, services: Services
) -> None:
    status, page = file(client)
    assert status == 200
    reference = REF.search(page).group(1)  # type: ignore[union-attr]
    assert client.get("/request/filed").status_code == 404  # no page to replay
    with services.readers() as db:
        req = filing.by_reference(db, reference)
        assert req is not None
        assert req.state == "received"
        assert req.respond_by is not None


def _normalise(page: str) -> str:
    page = re.sub(r"\b[A-Z0-9]{5}(-[A-Z0-9]{5}){3}\b", "REF", page)
    page = re.sub(r"\b\d{4}-\d{2}-\d{2}\b", "DATE", page)
    return re.sub(r'name="csrf_token" value="[^"]+"', "CSRF", page)


def _shape(response: TestResponse, client: FlaskClient) -> dict[str, object]:
    """Everything a response tells the browser except values that are random per visitor (the
    reference, CSRF tokens, the signed session cookie's bytes): status, every header (names,
    and values except Set-Cookie's), each cookie's name and attributes, and the body."""
    headers = sorted(
        (name.lower(), value)
        for name, value in response.headers.items()
        if name.lower() not in {"set-cookie", "content-length"}
    )
    # A cookie's attributes, with its expiry date cut to the day (the language cookie's
    # ``Expires`` is a year from the second it is set; two requests may straddle a second).
    cookies = sorted(
        (
            c.split("=", 1)[0],
            sorted(
                re.sub(r"\d{2}:\d{2}:\d{2}", "TIME", p.strip().lower()) for p in c.split(";")[1:]
            ),
        )
        for c in response.headers.getlist("Set-Cookie")
    )
    jar = sorted((c.key, c.path, c.domain, c.secure, c.http_only) for c in client._cookies.values())
    return {
        "status": response.status_code,
        "headers": headers,
        "cookies": cookies,
        "jar": jar,
        "body": _normalise(response.get_data(as_text=True)),
    }


@pytest.mark.parametrize(
    ("lang", "by"), [("en", "default"), ("es", "browser"), ("cy", "browser"), ("cy", "cookie")]
)
def test_the_response_is_the_same_whether_or_not_a_record_exists(
    tmp_path: Path, services: Services, app, lang: str, by: str
) -> None:  # type: ignore[no-untyped-def]
    """In each language, chosen by the browser or by the switch's cookie."""
    headers = {"Accept-Language": lang} if by == "browser" else {}
    ingest(
        services,
        tmp_path,
        [review_due("GB-1") | {"name": "Held Person", "date_of_birth": "1985-05-05"}],
    )
    held = app.test_client()
    absent = app.test_client()
    shapes: dict[str, list[dict[str, object]]] = {"held": [], "absent": []}
    references = {}
    for who, client, name, booking in (
        ("held", held, "Held Person", "GB-1"),
        ("absent", absent, "Nobody Here", "XX-9"),
    ):
        if by == "cookie":
            client.set_cookie("lang", lang)
        form = client.get("/request", headers=headers)
        assert f'<html lang="{lang}">' in form.get_data(as_text=True)
        shapes[who].append(_shape(form, client))
        filed = client.post(
            "/request",
            data={
                "csrf_token": csrf_token(form.data),
                **_form(name=name, date_of_birth="1985-05-05", booking_number=booking),
            },
            content_type="multipart/form-data",
            headers=headers,
        )
        assert f'<html lang="{lang}">' in filed.get_data(as_text=True)
        shapes[who].append(_shape(filed, client))
        reference = REF.search(filed.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        references[who] = reference
        token = csrf_token(filed.data)
        for url, data in (
            ("/status", {"reference": reference}),
            ("/request/receipt", {"reference": reference}),
            ("/request/receipt/page", {"reference": reference}),
            ("/status", {"reference": reference, "lang": "es"}),
        ):
            shown = client.post(url, data={"csrf_token": token, **data}, headers=headers)
            shapes[who].append(_shape(shown, client))
    for held_shape, absent_shape in zip(shapes["held"], shapes["absent"], strict=True):
        assert held_shape == absent_shape
    # The reference is in no cookie, before or after: the session cookie carries a CSRF
    # secret only.
    for who, client in (("held", held), ("absent", absent)):
        for cookie in client._cookies.values():
            assert references[who] not in cookie.value
            if cookie.key == "lang":
                assert cookie.value == "es"  # the last switch, nothing else
                continue
            session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
            assert set(session) <= {"csrf_token"}
            assert references[who] not in json.dumps(session)


def test_the_receipt_is_the_post_response_and_never_cached_or_kept(
    client: FlaskClient, services: Services
) -> None:
    status, page = file(client, kind="restriction", grounds=["acquitted", "under_18"])
    assert status == 200
    reference = REF.search(page).group(1)  # type: ignore[union-attr]
    assert "Stop it being used, but keep it" in page
    assert "I was under 18 when the photo was taken" in page
    assert 'id="respond-by">2' in page  # a real date, not "—"
    assert "Check my request now" in page
    assert "Download the receipt" in page
    with services.readers() as db:
        req = filing.by_reference(db, reference)
        assert req is not None
        assert req.respond_by is not None
        respond_by = req.respond_by.isoformat()
    token = csrf_token(page)
    download = client.post("/request/receipt", data={"csrf_token": token, "reference": reference})
    assert download.status_code == 200
    assert download.mimetype == "text/plain"
    assert download.headers["Cache-Control"] == "no-store"
    assert "attachment" in download.headers["Content-Disposition"]
    assert reference not in download.headers["Content-Disposition"]
    text = download.get_data(as_text=True)
    assert f"Your private reference: {reference}" in text
    assert f"We must answer by: {respond_by}" in text
    assert "Stop it being used" in text
    assert "/status" in text
    # "Check my request now" posts the reference: the status page, no retyping.
    shown = client.post("/status", data={"csrf_token": token, "reference": reference})
    assert shown.status_code == 200
    assert 'data-state="received"' in shown.get_data(as_text=True)
    unknown = client.post(
        "/request/receipt", data={"csrf_token": token, "reference": "AAAAA-BBBBB-CCCCC-DDDDD"}
    )
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "Enter your full name."),
        ({"date_of_birth": "2999-01-01"}, "Enter your real date of birth"),
        ({"date_of_birth": "31/02/1990"}, "Enter your date of birth as year-month-day"),
        ({"date_of_birth": ""}, "Enter your date of birth as year-month-day"),
        ({"grounds": ["other"], "details": "  "}, "You chose another reason: explain it here."),
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
        ("letter.pdf", b"%PDF-1.7 court letter", 200),
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
    assert len(stored) == (1 if status == 200 else 0)


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
