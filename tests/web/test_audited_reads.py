"""Audited reads happen only on a POST with a stated reason; a GET never writes an audit entry
(DESIGN invariant 11).

A link on another site can make a signed-in clerk's browser GET any staff page with any query
string (``?reason=...``), or submit a form without the page's CSRF token. Neither may decrypt a
photo, the requester's claims or evidence, or a record's identity, nor write a "disclosure" with
a reason the attacker chose.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import Rule

from policies import bundled_pack_paths
from policies.vocabulary import HoldKind, Jurisdiction, RequestKind
from retention.db.models import AuditEntry, Image, ProvenanceEvent, Role
from retention.engine import changes
from retention.jobs.sweep import run_sweep
from retention.requests import filing
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
from tests.web import audit_rows, csrf_token, html
from tests.web.conftest import Login, SignedIn
from web.security import CONTENT_SECURITY_POLICY, INLINE_IMAGES_CONTENT_SECURITY_POLICY

# Values that cannot occur on a page unless something was decrypted onto it.
RECORD_NAME = "Quillon Marbury-Vexley"
RECORD_DOB = "1967-03-21"
CLAIM_NAME = "Zephyrine Oakhollow-Tarrant"
CLAIM_DOB = dt.date(1983, 11, 5)
CLAIM_CONTACT = "claims-marker-5c1e@example.invalid"
CLAIM_DETAILS = "CLAIMS-DETAILS-MARKER-8f2d"
EVIDENCE = b"%PDF-1.7 EVIDENCE-MARKER-31b7 court letter"
MARKERS = (
    RECORD_NAME,
    RECORD_DOB,
    CLAIM_NAME,
    CLAIM_DOB.isoformat(),
    CLAIM_CONTACT,
    CLAIM_DETAILS,
    "EVIDENCE-MARKER-31b7",
    "data:image",
    "<img",
)
GOOD_REASON = "Comparing the photo with the requester's evidence"
HOSTILE_REASON = "attacker chosen reason"
TOO_LONG = "Comparing the photo with the evidence sent " * 4  # a sentence, but 176 characters
JUNK_REASONS = ["", "   ", "x", "asdf", "aaaaaaaaaaaa", "aa aa aa aa aa", TOO_LONG]
WANTED = "Write a short sentence saying why"
READERS = (Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)


@dataclass(frozen=True)
class Seeded:
    """Ids of a data set with one of everything a staff page can show."""

    record: str  # active, with a thumbnail, the requester's (by name and date of birth)
    purged: str  # with a deletion certificate
    restricted: str  # sealed: identification is no longer permitted
    request: str  # with claims and evidence; the record above is its candidate
    pack_sha: str  # a rule-pack version waiting for a supervisor

    def path_values(self, name: str) -> list[str]:
        """Every value worth putting into a route's ``<name>``."""
        values = {
            "record_id": [self.record, self.purged, self.restricted],
            "request_id": [self.request],
            "sha": [self.pack_sha],
        }
        assert name in values, f"no seeded value for the route parameter <{name}>: add one"
        return values[name]


def _upload_pack(client: FlaskClient) -> str:
    source = bundled_pack_paths()["us-ca"].read_text()
    changed = source.replace('version = "2025.1"', 'version = "2026.9"', 1)
    token = csrf_token(client.get("/staff/policy/").data)
    uploaded = client.post(
        "/staff/policy/enact",
        data={"csrf_token": token, "pack": (io.BytesIO(changed.encode()), "us-ca.toml")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    return str(uploaded.headers["Location"]).rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture
def seeded(services: Services, tmp_path: Path, signed_in: SignedIn) -> Seeded:
    ids = ingest(
        services,
        tmp_path,
        [
            review_due("GB-71") | {"name": CLAIM_NAME, "date_of_birth": CLAIM_DOB.isoformat()},
            review_due("GB-72") | {"name": RECORD_NAME, "date_of_birth": RECORD_DOB},
            purge_due("CA-71"),
            restrict_then_purge_later("CA-72"),
        ],
    )
    with services.sessions() as db, db.begin():
        changes.place_hold(
            db,
            services.keyring,
            ids["GB-72"],
            kind=HoldKind.EVIDENCE,
            reason="exhibit in a pending appeal",
            case_reference="T20201234",
            actor="clerk:hal",
            now=FIXED_NOW,
        )
        req, _ = filing.file_request(
            db,
            services.keyring,
            services.store,
            claims=filing.Claims(
                name=CLAIM_NAME,
                date_of_birth=CLAIM_DOB,
                contact=CLAIM_CONTACT,
                booking_number=None,
                details=CLAIM_DETAILS,
            ),
            kind=RequestKind.ERASURE,
            jurisdiction=Jurisdiction.GB_ENG,
            grounds=["acquitted"],
            evidence=EVIDENCE,
            now=FIXED_NOW,
        )
        request_id = req.id
    run_sweep(services, today=TODAY, clock=lambda: FIXED_NOW, actor="test:sweep", confirmed_by="s")
    assert state(services, ids["CA-71"]).status == "purged"
    assert state(services, ids["CA-72"]).status == "restricted"
    return Seeded(
        record=ids["GB-71"],
        purged=ids["CA-71"],
        restricted=ids["CA-72"],
        request=request_id,
        pack_sha=_upload_pack(signed_in(Role.CLERK)),
    )


def snapshot(services: Services) -> tuple[int, int | None, str | None, int]:
    """The audit chain's length, its last entry (seq and hash), and the provenance count —
    leaving out ``access.refused`` entries, which a refused page adds by design (they record
    the refusal, not a read)."""
    reads = AuditEntry.action != "access.refused"
    with services.readers() as db:
        count = db.execute(select(func.count()).select_from(AuditEntry).where(reads)).scalar_one()
        last = db.execute(
            select(AuditEntry.seq, AuditEntry.hash)
            .where(reads)
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).first()
        events = db.execute(select(func.count()).select_from(ProvenanceEvent)).scalar_one()
    return count, last[0] if last else None, last[1] if last else None, events


def staff_get_urls(app: Flask, seeded: Seeded) -> list[str]:
    """Every GET route under /staff/, with each seeded id in its path parameters."""
    urls: list[str] = []
    rules: list[Rule] = [
        r
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or ()) and r.rule.startswith("/staff")
    ]
    assert len(rules) >= 12  # the walk must not silently shrink
    for rule in rules:
        combos: list[dict[str, str]] = [{}]
        for name in sorted(rule.arguments):
            combos = [c | {name: v} for c in combos for v in seeded.path_values(name)]
        with app.test_request_context():
            for values in combos:
                urls.append(app.url_for(rule.endpoint, **values))
    return sorted(set(urls))


def hostile(url: str, seeded: Seeded) -> str:
    """The URL with the query string a hostile page would add."""
    query = urlencode(
        {
            "reason": HOSTILE_REASON,
            "request": seeded.request,
            "record_id": seeded.record,
            "reveal": "1",
        }
    )
    return f"{url}?{query}"


# -- (a) a GET never reads what is sealed, whoever follows the link -----------------------------


@pytest.mark.parametrize("role", READERS, ids=lambda r: r.value)
def test_no_staff_get_route_decrypts_or_audits_anything_whatever_its_query_string(
    app: Flask, signed_in: SignedIn, services: Services, seeded: Seeded, role: Role
) -> None:
    client = signed_in(role)
    urls = staff_get_urls(app, seeded)
    # The read endpoints and the old thumbnail address are in the walk too, as GETs.
    urls += [
        f"/staff/records/{seeded.record}/photo",
        f"/staff/records/{seeded.record}/thumbnail",
        f"/staff/requests/{seeded.request}/claims",
        f"/staff/requests/{seeded.request}/photos",
        f"/staff/requests/{seeded.request}/evidence",
    ]
    before = snapshot(services)
    answered: dict[str, int] = {}
    for url in urls:
        for address in (url, hostile(url, seeded)):
            response = client.get(address)
            answered[address] = response.status_code
            assert response.status_code < 500, address
            body = response.get_data(as_text=True)
            for marker in MARKERS:
                assert marker not in body, (address, marker)
            assert EVIDENCE not in response.data, address
            assert not response.data.startswith(b"\xff\xd8\xff"), address
            assert snapshot(services) == before, address
    # The walk really reached the pages (not just refusals), for the roles that may see them.
    if role in (Role.CLERK, Role.SUPERVISOR):
        for page in (f"/staff/records/{seeded.record}", f"/staff/requests/{seeded.request}"):
            assert answered[hostile(page, seeded)] == 200
        for read in ("photo", "thumbnail"):
            assert answered[f"/staff/records/{seeded.record}/{read}"] in (404, 405)
        for read in ("claims", "photos", "evidence"):
            assert answered[f"/staff/requests/{seeded.request}/{read}"] == 405
    elif role is Role.AUDITOR:
        assert answered[hostile(f"/staff/records/{seeded.record}", seeded)] == 200
    assert answered[hostile("/staff/", seeded)] == 200


def test_the_pages_offer_reason_forms_that_post_with_a_csrf_token(
    signed_in: SignedIn, seeded: Seeded
) -> None:
    clerk = signed_in(Role.CLERK)
    record_page = html(clerk.get(f"/staff/records/{seeded.record}"))
    request_page = html(clerk.get(f"/staff/requests/{seeded.request}"))
    for page, form, action in (
        (record_page, "photo", f"/staff/records/{seeded.record}/photo"),
        (request_page, "claims", f"/staff/requests/{seeded.request}/claims"),
        (request_page, "evidence", f"/staff/requests/{seeded.request}/evidence"),
        (request_page, "photos", f"/staff/requests/{seeded.request}/photos"),
    ):
        found = re.search(
            rf'<form method="post" action="{action}"[^>]*id="{form}-form".*?</form>', page, re.S
        )
        assert found is not None, form
        assert 'name="csrf_token"' in found.group(0)
        assert f'<input id="{form}-reason" name="reason"' in found.group(0)
    assert "?reason=" not in record_page + request_page


# -- (b) each read POST is exactly one audit entry, with the reason from the body ---------------


@dataclass(frozen=True)
class Read:
    """One audited read: where its form is, where it posts, what it writes in the audit log."""

    name: str
    page: str
    action: str
    audit_action: str


def reads(seeded: Seeded) -> list[Read]:
    record, request = f"/staff/records/{seeded.record}", f"/staff/requests/{seeded.request}"
    return [
        Read("photo", record, f"{record}/photo", "image.viewed"),
        Read("claims", request, f"{request}/claims", "request.claims_viewed"),
        Read("evidence", request, f"{request}/evidence", "request.evidence_viewed"),
        Read("photos", request, f"{request}/photos", "image.viewed"),
    ]


READ_NAMES = ["photo", "claims", "evidence", "photos"]


def the_read(seeded: Seeded, name: str) -> Read:
    return next(r for r in reads(seeded) if r.name == name)


def post_read(client: FlaskClient, read: Read, reason: str, **extra: Any) -> Any:
    token = csrf_token(client.get(read.page).data)
    return client.post(read.action, data={"csrf_token": token, "reason": reason, **extra})


@pytest.mark.parametrize("name", READ_NAMES)
def test_a_read_post_writes_exactly_one_audit_entry_with_the_reason_from_the_body(
    app: Flask, login: Login, services: Services, seeded: Seeded, name: str
) -> None:
    read = the_read(seeded, name)
    clerk = app.test_client()
    username = login(clerk, role=Role.CLERK).username
    before = audit_rows(services)
    # The reason is trimmed; other fields (a forged ``request``) are ignored.
    response = post_read(clerk, read, f"  {GOOD_REASON} ", request="0" * 32)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    after = audit_rows(services)
    assert len(after) == len(before) + 1
    entry = after[-1]
    assert (entry.action, entry.actor) == (read.audit_action, username)
    expected = GOOD_REASON if name != "photos" else f"{GOOD_REASON} (request {seeded.request})"
    # The entry carries the reason's length and keyed hash; the text is sealed in its note.
    assert "reason" not in entry.details
    assert entry.details["reason_chars"] == len(expected)
    assert audit_reason(services, entry.seq) == expected
    for marker in (CLAIM_NAME, CLAIM_CONTACT, RECORD_NAME):
        assert marker not in str(entry.details)
    body = response.get_data(as_text=True)
    if name == "claims":
        assert CLAIM_NAME in body
        assert CLAIM_CONTACT in body
        assert CLAIM_DETAILS in body
        assert f"“{GOOD_REASON.replace(chr(39), '&#39;')}”" in body
    elif name == "evidence":
        assert response.data == EVIDENCE
        assert response.mimetype == "application/pdf"
        assert "attachment" in response.headers["Content-Disposition"]
    else:
        src = re.findall(r'<img src="data:image/jpeg;base64,([^"]+)"', body)
        assert len(src) == 1
        assert base64.b64decode(src[0]).startswith(b"\xff\xd8\xff")
        assert response.headers["Content-Security-Policy"] == INLINE_IMAGES_CONTENT_SECURITY_POLICY
        assert "/thumbnail" not in body
        with services.readers() as db:
            image = db.get(Image, entry.object_id)
            assert image is not None
            assert (image.record_id, image.kind) == (seeded.record, "thumbnail")
            viewed = db.execute(
                select(ProvenanceEvent).where(ProvenanceEvent.kind == "viewed")
            ).scalar_one()
            assert viewed.details["audit_seq"] == entry.seq
            assert "reason" not in viewed.details
    assert CLAIM_NAME not in html(clerk.get(read.page))  # a GET afterwards shows nothing again
    assert len(audit_rows(services)) == len(before) + 1


def test_a_query_string_reason_on_a_post_is_ignored(
    signed_in: SignedIn, services: Services, seeded: Seeded
) -> None:
    read = the_read(seeded, "photo")
    clerk = signed_in(Role.CLERK)
    token = csrf_token(clerk.get(read.page).data)
    query = urlencode({"reason": HOSTILE_REASON})
    refused = clerk.post(f"{read.action}?{query}", data={"csrf_token": token})
    assert refused.status_code == 400
    assert HOSTILE_REASON not in str([e.details for e in audit_rows(services)])
    assert all(audit_reason(services, e.seq) != HOSTILE_REASON for e in audit_rows(services))
    shown = clerk.post(f"{read.action}?{query}", data={"csrf_token": token, "reason": GOOD_REASON})
    assert shown.status_code == 200
    assert audit_reason(services, audit_rows(services)[-1].seq) == GOOD_REASON


def test_only_the_photo_responses_allow_data_images(signed_in: SignedIn, seeded: Seeded) -> None:
    assert "data:" not in CONTENT_SECURITY_POLICY
    assert "img-src 'self';" in CONTENT_SECURITY_POLICY
    assert "img-src 'self' data:;" in INLINE_IMAGES_CONTENT_SECURITY_POLICY
    clerk = signed_in(Role.CLERK)
    for url in (f"/staff/records/{seeded.record}", f"/staff/requests/{seeded.request}", "/"):
        assert clerk.get(url).headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    claims = post_read(clerk, the_read(seeded, "claims"), GOOD_REASON)
    assert claims.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_a_request_with_two_photos_to_show_writes_one_entry_per_photo(
    signed_in: SignedIn, services: Services, seeded: Seeded, tmp_path: Path
) -> None:
    # A second record of the same person (same name and date of birth): two candidates.
    second = ingest(
        services,
        tmp_path,
        [review_due("GB-79") | {"name": CLAIM_NAME, "date_of_birth": CLAIM_DOB.isoformat()}],
    )["GB-79"]
    clerk = signed_in(Role.CLERK)
    before = len(audit_rows(services))
    response = post_read(clerk, the_read(seeded, "photos"), GOOD_REASON)
    assert response.status_code == 200
    assert len(re.findall(r'<img src="data:image/jpeg;base64,', html(response))) == 2
    added = audit_rows(services)[before:]
    assert [e.action for e in added] == ["image.viewed", "image.viewed"]
    assert {e.details["record_id"] for e in added} == {seeded.record, second}


# -- (c) no CSRF token, no read ---------------------------------------------------------------


@pytest.mark.parametrize("name", READ_NAMES)
def test_a_read_post_without_a_valid_csrf_token_is_refused_and_audits_nothing(
    signed_in: SignedIn, services: Services, seeded: Seeded, name: str
) -> None:
    read = the_read(seeded, name)
    # A token is bound to its session: one taken from another signed-in clerk is no good.
    other_session = csrf_token(signed_in(Role.CLERK).get(read.page).data)
    clerk = signed_in(Role.CLERK)
    clerk.get(read.page)
    before = snapshot(services)
    for token in (None, "", "forged-token", other_session):
        data = {"reason": GOOD_REASON} | ({} if token is None else {"csrf_token": token})
        response = clerk.post(read.action, data=data)
        assert response.status_code == 400, token
        body = response.get_data(as_text=True)
        assert "The form could not be accepted" in body
        for marker in MARKERS:
            assert marker not in body, (token, marker)
        assert EVIDENCE not in response.data
        assert snapshot(services) == before, token


# -- (d) a reason must be a sentence ---------------------------------------------------------


@pytest.mark.parametrize("name", READ_NAMES)
def test_a_junk_reason_is_refused_next_to_its_field_and_nothing_is_read(
    signed_in: SignedIn, services: Services, seeded: Seeded, name: str
) -> None:
    read = the_read(seeded, name)
    clerk = signed_in(Role.CLERK)
    before = snapshot(services)
    for junk in JUNK_REASONS:
        response = post_read(clerk, read, junk)
        assert response.status_code == 400, junk
        body = html(response)
        expected = "Keep the reason under 150 characters" if junk == TOO_LONG else WANTED
        error = re.search(rf'<p class="field-error" id="{name}-reason-error">(.*?)</p>', body, re.S)
        assert error is not None, junk
        assert expected in error.group(1), junk
        assert re.search(rf'<input id="{name}-reason"[^>]*aria-invalid="true"', body, re.S)
        assert f'aria-describedby="{name}-reason-hint {name}-reason-error"' in body
        for marker in MARKERS:
            assert marker not in body, (junk, marker)
        assert EVIDENCE not in response.data
        assert snapshot(services) == before, junk


def test_auditors_and_admins_cannot_post_a_read(
    signed_in: SignedIn, services: Services, seeded: Seeded
) -> None:
    for role in (Role.AUDITOR, Role.ADMIN):
        client = signed_in(role)
        before = snapshot(services)
        for read in reads(seeded):
            token = csrf_token(client.get("/staff/").data)
            response = client.post(read.action, data={"csrf_token": token, "reason": GOOD_REASON})
            assert response.status_code == 403, (role, read.name)
        assert snapshot(services) == before
        with services.readers() as db:
            refused = db.execute(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "access.refused", AuditEntry.actor.contains(role))
            ).scalar_one()
        assert refused == len(reads(seeded)), role
