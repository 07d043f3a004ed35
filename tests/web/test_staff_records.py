"""Staff record pages: search, detail ("why"), the photo, the disposition-review queue."""

from __future__ import annotations

import base64
import io
import json
import re
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image as PILImage
from sqlalchemy import select

from policies.vocabulary import HoldKind
from retention.db.models import AuditEntry, Certificate, Image, Record, ReviewDecision, Role
from retention.engine import certificates, changes
from retention.jobs.sweep import run_sweep
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import audit_reason
from tests.integration.engine_helpers import (
    TODAY,
    ingest,
    purge_due,
    restrict_then_purge_later,
    review_due,
    state,
)
from tests.web import audit_rows, csrf_token, html, post_form, walk_pages
from tests.web.conftest import SignedIn

ROLES = (Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
STAFF = {Role.CLERK, Role.SUPERVISOR}
READERS = {Role.CLERK, Role.SUPERVISOR, Role.AUDITOR}
NAME = "Petronella Vasquez-Orme"
DOB = "1979-04-12"
JPEG_MAGIC = b"\xff\xd8\xff"
WHY = "Checking the booking photo against the custody record"
INLINE_PHOTO = re.compile(r'<img src="data:image/jpeg;base64,([^"]+)"')
ROW_ID = re.compile(r'data-record-id="([0-9a-f]{32})"')


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Two rows a page, so that a handful of records spans several pages."""
    return {"MUGSHOT_STAFF_PAGE_SIZE": 2}


@pytest.fixture
def recs(services: Services, tmp_path: Path) -> dict[str, str]:
    """Two reviews queued by a sweep (one held), a purged record and a restricted one."""
    ids = ingest(
        services,
        tmp_path,
        [
            review_due("GB-1") | {"name": NAME, "date_of_birth": DOB},
            review_due("GB-2") | {"name": "Someone Else", "outcome_date": "2020-10-01"},
            purge_due("CA-1"),
            restrict_then_purge_later("CA-2"),
        ],
    )
    with services.sessions() as db, db.begin():
        changes.place_hold(
            db,
            services.keyring,
            ids["GB-2"],
            kind=HoldKind.EVIDENCE,
            reason="exhibit in a pending appeal",
            case_reference="T20207788",
            actor="clerk:hal",
            now=FIXED_NOW,
        )
    report = run_sweep(
        services, today=TODAY, clock=lambda: FIXED_NOW, actor="test:sweep", confirmed_by="sup"
    )
    assert report.counts["purged"] == 1
    return ids


def token(client: FlaskClient, signed_in: bool = True) -> str:
    return csrf_token(client.get("/staff/home" if signed_in else "/staff/login").data)


def clients(app: Flask, signed_in: SignedIn) -> dict[Role | None, FlaskClient]:
    found: dict[Role | None, FlaskClient] = {role: signed_in(role) for role in ROLES}
    found[None] = app.test_client()
    return found


def show_photo(client: FlaskClient, record_id: str, reason: str = WHY) -> Any:
    """Post the record page's "Show photo" form."""
    return post_form(
        client,
        f"/staff/records/{record_id}",
        {"reason": reason},
        action=f"/staff/records/{record_id}/photo",
    )


def check_get(
    everyone: dict[Role | None, FlaskClient], url: str, allowed: set[Role], ok: int = 200
) -> None:
    for role, client in everyone.items():
        response = client.get(url)
        if role is None:
            assert response.status_code == 302, url
            assert response.headers["Location"].endswith("/staff/login")
        elif role in allowed:
            assert response.status_code == ok, (url, role)
        else:
            assert response.status_code == 403, (url, role)


# -- roles ------------------------------------------------------------------------------------


def test_every_record_route_admits_exactly_its_roles(
    app: Flask, signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    everyone = clients(app, signed_in)
    rid = recs["GB-1"]
    check_get(everyone, "/staff/records/", READERS)
    check_get(everyone, "/staff/records/?booking=GB-1", READERS)
    check_get(everyone, "/staff/reviews/", STAFF)
    check_get(everyone, "/staff/records/reviews", STAFF, ok=301)
    check_get(everyone, f"/staff/records/{rid}", READERS)
    check_get(everyone, f"/staff/records/{recs['CA-1']}/certificate", READERS)
    for role, client in everyone.items():
        response = client.post(
            f"/staff/records/{rid}/photo",
            data={"csrf_token": token(client, role is not None), "reason": WHY},
        )
        expected = 302 if role is None else 200 if role in STAFF else 403
        assert response.status_code == expected, role
    viewers = {e.actor for e in audit_rows(services) if e.action == "image.viewed"}
    assert viewers == {"clerk1", "supervisor2"}
    for role, client in everyone.items():
        response = client.post(
            f"/staff/records/{rid}/review",
            data={
                "csrf_token": token(client, role is not None),
                "outcome": "keep",
                "reason": "still needed for the appeal",
            },
        )
        expected = 302 if role is None else 303 if role in STAFF else 403
        assert response.status_code == expected, role
    with services.readers() as db:
        decisions = db.execute(select(ReviewDecision.decided_by)).scalars().all()
    assert sorted(decisions) == ["clerk1", "supervisor2"]


def test_a_post_without_the_csrf_token_is_refused(
    signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    response = clerk.post(
        f"/staff/records/{recs['GB-1']}/review", data={"outcome": "keep", "reason": "fine"}
    )
    assert response.status_code == 400
    with services.readers() as db:
        assert db.execute(select(ReviewDecision)).first() is None


# -- search -----------------------------------------------------------------------------------


walk = partial(walk_pages, row_id=ROW_ID)


def test_search_pages_walk_every_record_exactly_once_in_due_order(
    signed_in: SignedIn, services: Services, tmp_path: Path
) -> None:
    rows = [review_due(f"GB-{n}") | {"outcome_date": f"2020-09-{1 + n % 3:02d}"} for n in range(7)]
    ids = ingest(services, tmp_path, rows)
    clerk = signed_in(Role.CLERK)
    shown = walk(clerk, "/staff/records/")
    assert len(shown) == len(set(shown)) == 7
    with services.readers() as db:
        expected = [
            r.id
            for r in db.execute(
                select(Record).order_by(Record.next_action_due, Record.id)
            ).scalars()
        ]
    assert shown == expected
    assert set(shown) == set(ids.values())
    # A filtered walk keeps its filter on every page.
    due = walk(clerk, "/staff/records/?due_from=2020-09-02&due_to=2020-09-02")
    assert due == [rid for rid in expected if state(services, rid).next_action_due.day == 2]  # type: ignore[union-attr]
    assert clerk.get("/staff/records/?after=garbage").status_code == 400


def test_search_finds_a_record_by_booking_number_or_name_and_date_of_birth(
    signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    assert ROW_ID.findall(html(clerk.get("/staff/records/?booking=gb 1"))) == [recs["GB-1"]]
    short = state(services, recs["GB-1"]).booking_ref
    listed = html(clerk.get(f"/staff/records/?booking={short.upper()}"))
    assert ROW_ID.findall(listed) == [recs["GB-1"]]
    assert short in listed
    assert "GB-1" not in listed
    by_name = clerk.get(f"/staff/records/?name=petronella vasquez orme&dob={DOB}")
    assert ROW_ID.findall(html(by_name)) == [recs["GB-1"]]
    assert ROW_ID.findall(html(clerk.get("/staff/records/?status=purged"))) == [recs["CA-1"]]
    nobody = html(clerk.get(f"/staff/records/?name=Nobody&dob={DOB}"))
    assert ROW_ID.findall(nobody) == []
    assert 'id="no-results"' in nobody
    # A name alone is not a search: the error stands next to the missing field.
    alone = clerk.get("/staff/records/?name=Petronella")
    assert alone.status_code == 400
    assert re.search(r'id="dob-error">.*Enter the date of birth too', html(alone))
    assert ROW_ID.findall(html(alone)) == []


def test_auditors_search_metadata_but_never_by_identity(
    signed_in: SignedIn, recs: dict[str, str]
) -> None:
    auditor = signed_in(Role.AUDITOR)
    page = html(auditor.get("/staff/records/?booking=GB-1"))
    assert ROW_ID.findall(page) == [recs["GB-1"]]
    assert 'name="name"' not in page
    assert auditor.get(f"/staff/records/?name=x&dob={DOB}").status_code == 403


# -- detail and thumbnails --------------------------------------------------------------------


def test_the_record_page_explains_the_decision_and_shows_history_and_holds(
    signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    held = recs["GB-2"]
    page = html(clerk.get(f"/staff/records/{held}"))
    rec = state(services, held)
    trace = rec.decision_trace
    assert trace is not None
    for value in (trace["rule"], trace["pack"], trace["pack_version"], trace["citation"]):
        assert str(value) in page
    assert 'id="decision-trace"' in page
    assert "exhibit in a pending appeal" in page  # the hold
    assert "T20207788" in page
    # The history reads as sentences; ids and hashes wait behind a "Details" toggle.
    assert re.search(r"<strong>Imported</strong> from ", page)
    timeline = page[page.index('id="provenance"') :]
    for sha in re.findall(r"\b[0-9a-f]{64}\b", timeline):
        before = timeline[: timeline.index(sha)]
        assert before.rfind("<details") > before.rfind("</details>"), sha
    # Facts in plain words: no pack-language names in the main table.
    facts = page[page.index('id="decision-trace"') : page.index('id="facts-every"')]
    assert "Outcome of the case" in facts
    for internal in ("request.kind", "retrial_possible", "age_at_capture"):
        assert internal not in facts
    assert 'id="legal-basis">arrest<' in page
    assert 'id="review-form"' in page
    assert NAME not in html(clerk.get(f"/staff/records/{recs['GB-1']}"))  # never identity
    assert clerk.get("/staff/records/" + "0" * 32).status_code == 404


def test_the_photo_needs_a_stated_reason_and_each_view_is_one_audit_entry(
    signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    rid = recs["GB-1"]
    page = html(clerk.get(f"/staff/records/{rid}"))
    assert "<img" not in page  # the page itself decrypts nothing
    assert f'action="/staff/records/{rid}/photo"' in page
    assert 'name="reason"' in page
    before = len(audit_rows(services))
    for junk in ("", "+++", "x", "check", "x" * 151, "Checking the photo " * 9):
        refused = show_photo(clerk, rid, junk)
        assert refused.status_code == 400, junk
        assert 'id="photo-reason-error"' in html(refused)
        assert "<img" not in html(refused)
    assert len(audit_rows(services)) == before  # nothing decrypted, nothing written
    response = show_photo(clerk, rid)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    shown = INLINE_PHOTO.findall(html(response))
    assert len(shown) == 1
    assert base64.b64decode(shown[0]).startswith(JPEG_MAGIC)
    assert f"“{WHY}”" in html(response)
    after = audit_rows(services)
    assert len(after) == before + 1
    entry = after[-1]
    assert entry.action == "image.viewed"
    assert entry.actor == "clerk1"
    assert audit_reason(services, entry.seq) == WHY
    assert WHY not in str(entry.details)
    with services.readers() as db:
        image = db.get(Image, entry.object_id)
        assert image is not None
        assert (image.record_id, image.kind) == (rid, "thumbnail")
    # The photo is not kept anywhere: the page, asked for again, shows the form only.
    assert INLINE_PHOTO.search(html(clerk.get(f"/staff/records/{rid}"))) is None
    assert len(audit_rows(services)) == before + 1


def test_a_purged_or_restricted_record_shows_no_photo(
    signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    before = len(audit_rows(services))
    purged = recs["CA-1"]
    assert 'id="photo-form"' not in html(clerk.get(f"/staff/records/{purged}"))
    assert show_photo(clerk, purged).status_code == 404
    # Sealed (restricted): identification is no longer a permitted purpose.
    restricted = recs["CA-2"]
    assert state(services, restricted).status == "restricted"
    assert 'id="photo-form"' not in html(clerk.get(f"/staff/records/{restricted}"))
    assert show_photo(clerk, restricted).status_code == 403
    assert len(audit_rows(services)) == before


def test_auditors_see_metadata_but_never_images_or_identity(
    signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    auditor = signed_in(Role.AUDITOR)
    rid = recs["GB-1"]
    before = len(audit_rows(services))
    page = html(auditor.get(f"/staff/records/{rid}?reason=curious+about+this+one"))
    # The booking's short form, never the number (sealed with the identity).
    assert state(services, rid).booking_ref in page
    assert "GB-1" not in page
    assert 'id="decision-trace"' in page
    assert "<img" not in page
    assert 'name="reason"' not in page
    assert 'id="review-form"' not in page
    assert NAME not in page
    assert DOB not in page
    assert show_photo(auditor, rid).status_code == 403
    # Nothing was read: the only new entry is the refused page itself.
    added = audit_rows(services)[before:]
    assert [(e.action, e.object_id) for e in added] == [("access.refused", "staff_records.photo")]


def test_a_purged_record_links_its_verifiable_certificate(
    signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    auditor = signed_in(Role.AUDITOR)
    rid = recs["CA-1"]
    page = html(auditor.get(f"/staff/records/{rid}"))
    assert 'id="record-status" data-status="purged"' in page
    assert f'href="/staff/records/{rid}/certificate"' in page
    doc = json.loads(auditor.get(f"/staff/records/{rid}/certificate").data)
    assert certificates.verify(doc, services.keyring.signing_public_key_pem()) is None
    assert auditor.get(f"/staff/records/{recs['GB-1']}/certificate").status_code == 404


# -- disposition reviews -----------------------------------------------------------------------


def test_the_review_queue_lists_queued_reviews_oldest_first_across_pages(
    signed_in: SignedIn, services: Services, tmp_path: Path
) -> None:
    rows = [review_due(f"GB-{n}") | {"outcome_date": f"2020-{6 + n % 3:02d}-15"} for n in range(5)]
    ids = ingest(services, tmp_path, [*rows, purge_due("CA-9")])
    run_sweep(services, today=TODAY, clock=lambda: FIXED_NOW, actor="test", confirmed_by="s")
    clerk = signed_in(Role.CLERK)
    shown = walk(clerk, "/staff/reviews/")
    with services.readers() as db:
        expected = [
            r.id
            for r in db.execute(
                select(Record)
                .where(Record.review_queued_at.is_not(None))
                .order_by(Record.review_due_on, Record.id)
            ).scalars()
        ]
    assert len(expected) == 5
    assert shown == expected
    assert ids["CA-9"] not in shown


def test_a_review_purge_waits_for_a_second_supervisor_then_destroys_and_leaves_the_queue(
    signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    rid = recs["GB-1"]
    assert rid in ROW_ID.findall(html(clerk.get("/staff/reviews/")))
    with services.readers() as db:
        blobs = list(db.execute(select(Image.id).where(Image.record_id == rid)).scalars())
    assert blobs
    assert all(services.store.exists(b) for b in blobs)
    page = clerk.get(f"/staff/records/{rid}")
    response = clerk.post(
        f"/staff/records/{rid}/review",
        data={"csrf_token": csrf_token(page.data), "outcome": "purge", "reason": "no need"},
    )
    assert response.status_code == 303
    # The rule says review, not purge: nothing is destroyed until a second person confirms.
    assert state(services, rid).status == "active"
    assert all(services.store.exists(b) for b in blobs)
    waiting = html(clerk.get(f"/staff/records/{rid}"))
    assert "waits for a supervisor" in waiting
    assert 'id="confirm-review-form"' not in waiting
    assert 'id="review-form"' not in waiting  # no second decision while one waits
    supervisor = signed_in(Role.SUPERVISOR)
    page = supervisor.get(f"/staff/records/{rid}")
    assert 'id="confirm-review-form"' in html(page)
    junk = supervisor.post(
        f"/staff/records/{rid}/review/confirm",
        data={"csrf_token": csrf_token(page.data), "reason": "ok"},
    )
    assert junk.status_code == 400
    assert "write a short sentence" in html(junk)
    assert state(services, rid).status == "active"
    confirmed = supervisor.post(
        f"/staff/records/{rid}/review/confirm",
        data={"csrf_token": csrf_token(page.data), "reason": "No conviction and no other use"},
    )
    assert confirmed.status_code == 303
    rec = state(services, rid)
    assert rec.status == "purged"
    assert rec.identity_sealed is None
    with services.readers() as db:
        cert = db.execute(select(Certificate).where(Certificate.record_id == rid)).scalar_one()
        assert cert.body["reason"]["decided_by"] == "clerk1"
        assert cert.body["reason"]["confirmed_by"].startswith("supervisor")
        assert cert.body["reason"]["decision"] == "review"
        # The tombstone keeps the decision that purged it, not the review's history or reasons.
        assert db.execute(select(ReviewDecision)).first() is None
        assert state(services, rid).decision_rule == "review"
    assert not any(services.store.exists(b) for b in blobs)
    assert rid not in ROW_ID.findall(html(clerk.get("/staff/reviews/")))
    assert "certificate" in html(clerk.get(f"/staff/records/{rid}"))


def test_a_held_record_cannot_be_purged_by_a_review_and_the_refusal_is_shown(
    signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    rid = recs["GB-2"]
    page = clerk.get(f"/staff/records/{rid}")
    response = clerk.post(
        f"/staff/records/{rid}/review",
        data={"csrf_token": csrf_token(page.data), "outcome": "purge", "reason": "no need"},
    )
    assert response.status_code == 400
    assert re.search(r'id="review-form-error">.*legal hold', html(response))
    assert state(services, rid).status == "active"
    with services.readers() as db:
        assert db.execute(select(ReviewDecision)).first() is None
        assert db.execute(select(Certificate).where(Certificate.record_id == rid)).first() is None


def test_a_review_decision_needs_reasons_shown_next_to_the_field(
    signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    rid = recs["GB-1"]
    page = clerk.get(f"/staff/records/{rid}")
    response = clerk.post(
        f"/staff/records/{rid}/review",
        data={"csrf_token": csrf_token(page.data), "outcome": "keep", "reason": "  "},
    )
    assert response.status_code == 400
    assert re.search(r'id="review-reason-error">.*needs its reasons', html(response))
    response = clerk.post(
        f"/staff/records/{rid}/review",
        data={"csrf_token": csrf_token(page.data), "reason": "why not"},
    )
    assert response.status_code == 400
    assert 'id="outcome-error"' in html(response)
    rec = state(services, rid)
    assert rec.review_queued_at is not None
    response = clerk.post(
        f"/staff/records/{rid}/review",
        data={"csrf_token": csrf_token(page.data), "outcome": "restrict", "reason": "appeal"},
    )
    assert response.status_code == 303
    rec = state(services, rid)
    assert rec.status == "restricted"
    assert rec.review_queued_at is None


def test_the_photo_can_be_shown_full_size_for_a_reason(
    signed_in: SignedIn, services: Services, recs: dict[str, str]
) -> None:
    clerk = signed_in(Role.CLERK)
    rid = recs["GB-1"]
    page = html(clerk.get(f"/staff/records/{rid}"))
    assert 'id="photo-size-full"' in page
    response = post_form(
        clerk,
        f"/staff/records/{rid}",
        {"reason": WHY, "size": "full"},
        action=f"/staff/records/{rid}/photo",
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    shown = html(response)
    assert 'class="photo-full"' in shown
    data = base64.b64decode(re.findall(r'src="data:image/jpeg;base64,([^"]+)"', shown)[0])
    with services.readers() as db:
        original = db.execute(
            select(Image).where(Image.record_id == rid, Image.kind == "original")
        ).scalar_one()
        assert PILImage.open(io.BytesIO(data)).size == (original.width, original.height)
        viewed = (
            db.execute(
                select(AuditEntry).where(
                    AuditEntry.action == "image.viewed", AuditEntry.object_id == original.id
                )
            )
            .scalars()
            .all()
        )
    assert len(viewed) == 1
