"""Staff dashboard, holds and audit pages: who may use each route, and what each one changes."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from policies.vocabulary import Jurisdiction, RequestKind
from retention.audit import chain as audit
from retention.db.models import AuditEntry, HoldState, LegalHold, Record, RemovalRequest, Role
from retention.requests import filing
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.integration.engine_helpers import (
    ingest,
    purge_due,
    restrict_then_purge_later,
    stored,
)
from tests.web import csrf_token, html, post_form
from tests.web.conftest import Login
from web.staff import audit as staff_audit

TODAY = FIXED_NOW.date()
ROLES = [Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN]
NO_HOLD = "0" * 32
NO_PACK = "a" * 64

# (method, path, roles admitted) for every route of the dashboard, holds, audit, policy and
# users blueprints. Anonymous visitors are always sent to sign in; other roles get 403.
ROUTES: list[tuple[str, str, set[Role]]] = [
    ("GET", "/staff/", set(ROLES)),
    ("GET", "/staff/holds/", {Role.CLERK, Role.SUPERVISOR, Role.AUDITOR}),
    ("POST", "/staff/holds/", {Role.CLERK, Role.SUPERVISOR}),
    ("POST", f"/staff/holds/{NO_HOLD}/approve", {Role.SUPERVISOR}),
    ("POST", f"/staff/holds/{NO_HOLD}/release", {Role.SUPERVISOR}),
    ("POST", f"/staff/holds/{NO_HOLD}/review", {Role.SUPERVISOR}),
    ("GET", "/staff/audit/", {Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN}),
    ("POST", "/staff/audit/verify", {Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN}),
    ("POST", "/staff/audit/checkpoint", {Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN}),
    ("POST", "/staff/audit/checkpoint/check", {Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN}),
    ("POST", "/staff/audit/export.csv", {Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN}),
    ("GET", "/staff/policy/", {Role.CLERK, Role.SUPERVISOR, Role.AUDITOR}),
    ("POST", "/staff/policy/dry-run", {Role.CLERK, Role.SUPERVISOR}),
    ("POST", "/staff/policy/enact", {Role.CLERK, Role.SUPERVISOR}),
    ("GET", f"/staff/policy/enact/{NO_PACK}", {Role.CLERK, Role.SUPERVISOR, Role.AUDITOR}),
    ("POST", f"/staff/policy/enact/{NO_PACK}/approve", {Role.SUPERVISOR}),
    ("POST", f"/staff/policy/enact/{NO_PACK}/discard", {Role.CLERK, Role.SUPERVISOR}),
    ("GET", "/staff/users/", {Role.ADMIN}),
    ("POST", "/staff/users/", {Role.ADMIN}),
    ("POST", "/staff/users/nobody/role", {Role.ADMIN}),
    ("POST", "/staff/users/nobody/reset-totp", {Role.ADMIN}),
    ("POST", "/staff/users/nobody/deactivate", {Role.ADMIN}),
]


def _call(client: FlaskClient, method: str, path: str, token_page: str) -> Any:
    if method == "GET":
        return client.get(path)
    token = csrf_token(client.get(token_page).data)
    return client.post(path, data={"csrf_token": token})


@pytest.mark.parametrize(
    ("method", "path", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES]
)
def test_every_route_admits_exactly_its_roles(
    app: Flask, login: Login, services: Services, method: str, path: str, allowed: set[Role]
) -> None:
    anonymous = app.test_client()
    refused = _call(anonymous, method, path, "/staff/login")
    assert refused.status_code == 302
    assert refused.headers["Location"].endswith("/staff/login")

    for role in ROLES:
        client = app.test_client()
        login(client, role=role)
        audit_before = _audit_count(services)
        response = _call(client, method, path, "/staff/")
        if role in allowed:
            assert response.status_code not in (302, 403), (role, response.status_code)
            assert response.status_code < 500, (role, path, response.status_code)
        else:
            assert response.status_code == 403, (role, response.status_code)
            # A refused request leaves no trace but the refusal: one access.refused entry
            # naming the route and the role.
            with services.readers() as db:
                added = list(
                    db.execute(select(AuditEntry).where(AuditEntry.seq > audit_before)).scalars()
                )
            assert [(e.action, e.details["role"]) for e in added] == [
                ("access.refused", role.value)
            ]


def _audit_count(services: Services) -> int:
    with services.readers() as db:
        return int(db.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


# -- dashboard --------------------------------------------------------------------------


def _file_request(services: Services, booking: str, at: dt.datetime) -> None:
    with services.sessions() as db, db.begin():
        filing.file_request(
            db,
            services.keyring,
            services.store,
            claims=filing.Claims(
                name="Sam Example",
                date_of_birth=dt.date(1990, 1, 2),
                contact="post@example.invalid",
                booking_number=booking,
            ),
            kind=RequestKind.ERASURE,
            jurisdiction=Jurisdiction.GB_ENG,
            grounds=["acquitted"],
            evidence=None,
            now=at,
        )


def _cell(page: str, attrs: str) -> int:
    # A number is a link to its list (or a plain span for roles that may not open the list).
    match = re.search(
        rf"<td[^>]*{attrs}[^>]*>(?:<a [^>]*>|<span>)?(\d+)(?:</a>|</span>)?</td>", page
    )
    assert match is not None, attrs
    return int(match.group(1))


def test_the_dashboard_shows_the_counts_in_the_database_and_a_chart_of_the_next_13_weeks(
    signed_in: Any, services: Services, tmp_path: Path
) -> None:
    ids = ingest(
        services,
        tmp_path,
        [purge_due("CA-1"), purge_due("CA-2"), restrict_then_purge_later("CA-3")],
    )
    # Due dates inside the 90-day window: week 0 (purge), week 2 (purge, restrict), week 12.
    due = {
        "CA-1": ("purge", TODAY + dt.timedelta(days=3)),
        "CA-2": ("purge", TODAY + dt.timedelta(days=15)),
        "CA-3": ("restrict", TODAY + dt.timedelta(days=16)),
    }
    with services.sessions() as db, db.begin():
        for booking, (action, on) in due.items():
            db.execute(
                update(Record)
                .where(Record.id == ids[booking])
                .values(next_action=action, next_action_due=on)
            )
    for days_ago in (45, 26, 1):
        _file_request(services, "CA-1", FIXED_NOW - dt.timedelta(days=days_ago))
    with services.readers() as db:
        respond_by = list(db.execute(select(RemovalRequest.respond_by)).scalars())
        basis = db.execute(
            select(Record.legal_basis, Record.status, func.count()).group_by(
                Record.legal_basis, Record.status
            )
        ).all()
    overdue = sum(1 for d in respond_by if d is not None and d < TODAY)
    this_week = sum(
        1 for d in respond_by if d is not None and TODAY <= d <= TODAY + dt.timedelta(7)
    )
    assert overdue >= 1

    page = signed_in(Role.AUDITOR).get("/staff/")
    assert page.status_code == 200
    text = html(page)
    assert re.search(rf'id="requests-overdue">{overdue}<', text)
    assert re.search(rf'id="requests-due-week">{this_week}<', text)
    assert _cell(text, 'data-state="received"') == 3
    assert _cell(text, 'data-state="completed"') == 0
    for legal_basis, status, count in basis:
        assert _cell(text, f'data-basis="{legal_basis}" data-status="{status}"') == count
    assert _cell(text, 'data-total-status="active"') == 3
    # Health: no sweep has run and no scheduler holds the lease.
    assert "no sweep has ever succeeded" in text
    assert "no scheduler process holds the lease" in text

    assert "<svg" in text
    svg = text[text.index("<svg") : text.index("</svg>")]
    assert 'role="img"' in svg
    assert "<title" in svg
    assert svg.count('<g class="bar"') == 13
    assert svg.count('class="seg seg-purge"') == 2 + 1  # two weeks, plus the legend swatch
    assert svg.count('class="seg seg-restrict"') == 1 + 1
    assert svg.count('class="seg seg-review"') == 0 + 1
    assert "style=" not in svg
    week0 = f"Week of {TODAY.isoformat()}"
    assert f"{week0} to {(TODAY + dt.timedelta(6)).isoformat()}: 1 purges" in svg
    # The table fallback carries the same figures.
    assert f'<th scope="row">{(TODAY + dt.timedelta(14)).isoformat()} to' in text


# -- holds ------------------------------------------------------------------------------


def _holds(services: Services) -> list[LegalHold]:
    with services.readers() as db:
        rows = list(db.execute(select(LegalHold).order_by(LegalHold.placed_at)).scalars())
        db.expunge_all()
        return rows


def _hold(services: Services, hold_id: str) -> LegalHold:
    with services.readers() as db:
        found = db.get(LegalHold, hold_id)
        assert found is not None
        db.expunge(found)
        return found


def test_holds_follow_the_four_eyes_rule_through_the_web(
    app: Flask, login: Login, services: Services, tmp_path: Path, clock: Any
) -> None:
    ids = ingest(services, tmp_path, [purge_due("CA-1")])
    clerk, sup1, sup2 = app.test_client(), app.test_client(), app.test_client()
    clerk_name = login(clerk, role=Role.CLERK).username
    sup1_name = login(sup1, role=Role.SUPERVISOR).username
    sup2_name = login(sup2, role=Role.SUPERVISOR).username

    placed = post_form(
        clerk,
        "/staff/holds/",
        {"record": "CA-1", "kind": "litigation", "reason": "Civil claim 2026/17"},
    )
    assert placed.status_code == 302
    [hold] = _holds(services)
    assert (hold.record_id, hold.state, hold.placed_by) == (ids["CA-1"], "pending", clerk_name)
    listed = html(clerk.get("/staff/holds/"))
    assert stored(services, Record, ids["CA-1"]).booking_ref in listed
    assert "CA-1" not in listed
    assert hold.id in listed

    unknown = post_form(
        clerk, "/staff/holds/", {"record": "NOPE-9", "kind": "evidence", "reason": "x"}
    )
    assert unknown.status_code == 409
    assert "no record with id or booking number" in html(unknown)

    approve = f"/staff/holds/{hold.id}/approve"
    ok = {"comment": "Checked the civil claim file, hold is needed"}
    assert post_form(sup1, "/staff/holds/", ok, action=approve).status_code == 302
    hold = _hold(services, hold.id)
    assert (hold.state, hold.approved_by) == (HoldState.ACTIVE.value, sup1_name)

    # A supervisor cannot approve a hold they placed themselves.
    post_form(sup2, "/staff/holds/", {"record": ids["CA-1"], "kind": "subpoena", "reason": "S1"})
    [own] = [h for h in _holds(services) if h.id != hold.id]
    refused = post_form(sup2, "/staff/holds/", ok, action=f"/staff/holds/{own.id}/approve")
    assert refused.status_code == 409
    assert "cannot approve" in html(refused)
    assert _hold(services, own.id).state == HoldState.PENDING.value

    # Release: asked for by one supervisor, confirmed by another, never by the same one.
    release = f"/staff/holds/{hold.id}/release"
    assert post_form(sup1, "/staff/holds/", ok, action=release).status_code == 302
    assert _hold(services, hold.id).release_requested_by == sup1_name
    same = post_form(sup1, "/staff/holds/", ok, action=release)
    assert same.status_code == 409
    assert "cannot also confirm" in html(same)
    assert _hold(services, hold.id).state == HoldState.ACTIVE.value
    assert post_form(sup2, "/staff/holds/", ok, action=release).status_code == 302
    released = _hold(services, hold.id)
    assert (released.state, released.released_by) == (HoldState.RELEASED.value, sup2_name)
    assert hold.id not in html(sup2.get("/staff/holds/"))

    with services.readers() as db:
        actions = [
            (e.action, e.actor)
            for e in db.execute(
                select(AuditEntry).where(AuditEntry.object_id == hold.id).order_by(AuditEntry.seq)
            ).scalars()
        ]
    assert actions == [
        ("hold.placed", clerk_name),
        ("hold.approved", sup1_name),
        ("hold.release_requested", sup1_name),
        ("hold.released", sup2_name),
    ]


# -- audit ------------------------------------------------------------------------------


def test_verify_reports_ok_then_names_the_entry_that_was_edited(
    signed_in: Any, services: Services
) -> None:
    auditor = signed_in(Role.AUDITOR)
    total = _audit_count(services)
    ok = post_form(auditor, "/staff/audit/", {}, action="/staff/audit/verify")
    assert ok.status_code == 200
    assert f"Chain verified: {total} entries checked" in html(ok)

    with services.sessions() as db, db.begin():
        db.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="mallory"))
    bad = post_form(auditor, "/staff/audit/", {}, action="/staff/audit/verify")
    assert bad.status_code == 409
    assert 'data-bad-seq="2"' in html(bad)
    assert "entry 2 was modified" in html(bad)


def test_the_checkpoint_download_is_signed_and_verifies(signed_in: Any, services: Services) -> None:
    auditor = signed_in(Role.AUDITOR)
    response = post_form(auditor, "/staff/audit/", {}, action="/staff/audit/checkpoint")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    body = json.loads(response.data)
    assert body["seq"] == _audit_count(services)
    with services.readers() as db:
        assert audit.verify_checkpoint(db, body, services.keyring.signing_public_key_pem()) is None
        body["seq"] = 1
        assert audit.verify_checkpoint(db, body, services.keyring.signing_public_key_pem())


def test_the_audit_table_filters_and_pages_newest_first(
    signed_in: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staff_audit, "PAGE_SIZE", 2)
    auditor = signed_in(Role.SUPERVISOR)
    for _ in range(2):
        signed_in(Role.CLERK)
    with services.readers() as db:
        logins = list(
            db.execute(
                select(AuditEntry.seq)
                .where(AuditEntry.action == "auth.login")
                .order_by(AuditEntry.seq.desc())
            ).scalars()
        )
    assert len(logins) == 3

    def seqs(page: str) -> list[int]:
        return [int(s) for s in re.findall(r'<tr data-seq="(\d+)"', page)]

    first = html(auditor.get("/staff/audit/?action=auth.login"))
    assert seqs(first) == logins[:2]
    link = re.search(r'id="next-page" href="([^"]+)"', first)
    assert link is not None
    second = html(auditor.get(link.group(1).replace("&amp;", "&")))
    assert seqs(second) == logins[2:]
    assert 'id="next-page"' not in second

    day = FIXED_NOW.date()
    assert len(seqs(html(auditor.get(f"/staff/audit/?action=auth.login&from={day}")))) == 2
    assert (
        seqs(html(auditor.get(f"/staff/audit/?action=auth.login&to={day - dt.timedelta(1)}"))) == []
    )
    bad = auditor.get("/staff/audit/?from=yesterday")
    assert bad.status_code == 400
    assert "Enter a date as YYYY-MM-DD." in html(bad)
