"""Holds with context: placed from the record page, listed with reason, case, record link and
who/when, approved and released with comments (sealed, audited by digest), reviewed on a date
that puts them in front of a supervisor, and read by auditors."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from retention.db.models import AuditEntry, AuditNote, LegalHold, Role
from retention.services import Services
from tests.integration.engine_helpers import ingest, purge_due
from tests.web import html, post_form
from tests.web.conftest import FakeClock, Login

REASON = "Exhibit in the pending appeal of R v Marker"
CASE = "T2026-0412"
APPROVAL = "Read the court listing: the appeal is on 3 March"
RELEASE_ASK = "Appeal dismissed on 3 March, no further route"
RELEASE_OK = "Confirmed with the CPS that the case is closed"


def _only_hold(services: Services) -> LegalHold:
    with services.readers() as db:
        [hold] = db.execute(select(LegalHold)).scalars().all()
        db.expunge(hold)
    return hold


def _entries(services: Services, hold_id: str) -> list[AuditEntry]:
    with services.readers() as db:
        rows = list(
            db.execute(
                select(AuditEntry).where(AuditEntry.object_id == hold_id).order_by(AuditEntry.seq)
            ).scalars()
        )
        db.expunge_all()
    return rows


def test_a_hold_is_placed_from_the_record_page_and_listed_with_its_context(
    app: Flask, login: Login, services: Services, tmp_path: Path, clock: FakeClock
) -> None:
    ids = ingest(services, tmp_path, [purge_due("CA-7")])
    rid = ids["CA-7"]
    clerk = app.test_client()
    clerk_name = login(clerk, role=Role.CLERK).username
    page = html(clerk.get(f"/staff/records/{rid}"))
    assert 'id="place-hold-form"' in page

    review_on = (clock().date() + dt.timedelta(days=30)).isoformat()
    form = {"record": rid, "kind": "evidence", "reason": REASON, "case_reference": CASE}
    bad = post_form(
        clerk,
        f"/staff/records/{rid}",
        form | {"review_on": clock().date().isoformat()},
        action=f"/staff/records/{rid}/hold",
    )
    assert bad.status_code == 400
    assert "The review date must be after today." in html(bad)
    assert REASON in html(bad)  # what was typed comes back
    with services.readers() as db:
        assert db.execute(select(LegalHold)).first() is None

    placed = post_form(
        clerk,
        f"/staff/records/{rid}",
        form | {"review_on": review_on},
        action=f"/staff/records/{rid}/hold",
    )
    assert placed.status_code == 303
    assert placed.headers["Location"].startswith(f"/staff/records/{rid}")
    hold = _only_hold(services)
    assert (hold.record_id, hold.state, hold.placed_by) == (rid, "pending", clerk_name)
    assert hold.review_on == dt.date.fromisoformat(review_on)
    # Sealed at rest: the reason and case are not in the row.
    assert REASON.encode() not in (hold.reason_sealed or b"")
    record_page = html(clerk.get(f"/staff/records/{rid}"))
    assert REASON in record_page

    supervisor = app.test_client()
    login(supervisor, role=Role.SUPERVISOR)
    listed = html(supervisor.get("/staff/holds/"))
    row = listed[listed.index(f'data-hold="{hold.id}"') :]
    row = row[: row.index("</tr>")]
    assert REASON in row
    assert f"case {CASE}" in row
    assert f'href="/staff/records/{rid}"' in row
    assert clerk_name in row
    assert hold.placed_at.strftime("%Y-%m-%d %H:%M UTC") in row
    assert review_on in row


def test_approval_and_release_take_a_comment_sealed_and_audited_by_digest(
    app: Flask, login: Login, services: Services, tmp_path: Path
) -> None:
    ids = ingest(services, tmp_path, [purge_due("CA-8")])
    clerk, sup1, sup2 = app.test_client(), app.test_client(), app.test_client()
    login(clerk, role=Role.CLERK)
    sup1_name = login(sup1, role=Role.SUPERVISOR).username
    sup2_name = login(sup2, role=Role.SUPERVISOR).username
    post_form(clerk, "/staff/holds/", {"record": ids["CA-8"], "kind": "evidence", "reason": REASON})
    hold = _only_hold(services)

    approve = f"/staff/holds/{hold.id}/approve"
    for junk in ("", "ok", "x" * 501):
        refused = post_form(sup1, "/staff/holds/", {"comment": junk}, action=approve)
        assert refused.status_code == 400, junk
        assert f'id="comment-{hold.id[:8]}-error"' in html(refused)
        assert _only_hold(services).state == "pending"

    assert (
        post_form(sup1, "/staff/holds/", {"comment": APPROVAL}, action=approve).status_code == 302
    )
    release = f"/staff/holds/{hold.id}/release"
    assert (
        post_form(sup1, "/staff/holds/", {"comment": RELEASE_ASK}, action=release).status_code
        == 302
    )
    assert (
        post_form(sup2, "/staff/holds/", {"comment": RELEASE_OK}, action=release).status_code == 302
    )
    released = _only_hold(services)
    assert (released.state, released.approved_by, released.released_by) == (
        "released",
        sup1_name,
        sup2_name,
    )
    for sealed, text in (
        (released.approval_comment_sealed, APPROVAL),
        (released.release_request_comment_sealed, RELEASE_ASK),
        (released.release_comment_sealed, RELEASE_OK),
    ):
        assert sealed is not None
        assert text.encode() not in sealed

    page = html(sup2.get("/staff/holds/?show=released"))
    for text in (APPROVAL, RELEASE_ASK, RELEASE_OK, REASON):
        assert text in page
    assert hold.id not in html(sup2.get("/staff/holds/"))  # not in force any more

    entries = _entries(services, hold.id)
    assert [e.action for e in entries] == [
        "hold.placed",
        "hold.approved",
        "hold.release_requested",
        "hold.released",
    ]
    chain_text = json.dumps([e.details for e in entries])
    for text in (APPROVAL, RELEASE_ASK, RELEASE_OK, REASON):
        assert text not in chain_text
    for e, text in zip(entries[1:], (APPROVAL, RELEASE_ASK, RELEASE_OK), strict=True):
        assert e.details["reason_chars"] == len(text)
        assert re.fullmatch(r"[0-9a-f]{64}", e.details["reason_hmac"])


def test_a_review_date_puts_the_hold_in_front_of_a_supervisor(
    app: Flask, login: Login, services: Services, tmp_path: Path, clock: FakeClock
) -> None:
    ids = ingest(services, tmp_path, [purge_due("CA-9"), purge_due("CA-10")])
    clerk, sup1, sup2 = app.test_client(), app.test_client(), app.test_client()
    login(clerk, role=Role.CLERK)
    login(sup1, role=Role.SUPERVISOR)
    login(sup2, role=Role.SUPERVISOR)
    soon = clock().date() + dt.timedelta(days=10)
    post_form(
        clerk,
        "/staff/holds/",
        {
            "record": ids["CA-9"],
            "kind": "evidence",
            "reason": REASON,
            "review_on": soon.isoformat(),
        },
    )
    post_form(
        clerk, "/staff/holds/", {"record": ids["CA-10"], "kind": "litigation", "reason": REASON}
    )
    with services.readers() as db:
        holds = {h.record_id: h.id for h in db.execute(select(LegalHold)).scalars()}
    for hold_id in holds.values():
        post_form(
            sup1, "/staff/holds/", {"comment": APPROVAL}, action=f"/staff/holds/{hold_id}/approve"
        )
    due_hold = holds[ids["CA-9"]]

    assert due_hold not in html(sup2.get("/staff/holds/?show=due"))
    clock.advance(days=11)
    sup2 = app.test_client()  # a new day, a new sign-in
    login(sup2, role=Role.SUPERVISOR)
    page = html(sup2.get("/staff/holds/"))
    order = re.findall(r'data-hold="([0-9a-f]{32})"', page)
    assert order[0] == due_hold  # due for review comes first, though placed first
    assert "badge-overdue" in page
    assert re.findall(r'data-hold="([0-9a-f]{32})"', html(sup2.get("/staff/holds/?show=due"))) == [
        due_hold
    ]

    next_on = clock().date() + dt.timedelta(days=90)
    reviewed = post_form(
        sup2,
        "/staff/holds/",
        {"comment": "The appeal is still listed for trial", "next_review_on": next_on.isoformat()},
        action=f"/staff/holds/{due_hold}/review",
    )
    assert reviewed.status_code == 302
    with services.readers() as db:
        hold = db.get(LegalHold, due_hold)
        assert hold is not None
        assert (hold.review_on, hold.state) == (next_on, "active")
        entry = db.execute(
            select(AuditEntry).where(
                AuditEntry.object_id == due_hold, AuditEntry.action == "hold.reviewed"
            )
        ).scalar_one()
        assert entry.details["next_review_on"] == next_on.isoformat()
        assert "still listed" not in json.dumps(entry.details)
        note = db.execute(select(AuditNote).where(AuditNote.audit_seq == entry.seq)).scalar_one()
        assert b"still listed" not in note.sealed
    assert re.findall(r'data-hold="([0-9a-f]{32})"', html(sup2.get("/staff/holds/?show=due"))) == []


def test_auditors_read_holds_but_act_on_none(
    app: Flask, login: Login, services: Services, tmp_path: Path
) -> None:
    ids = ingest(services, tmp_path, [purge_due("CA-11")])
    clerk, auditor = app.test_client(), app.test_client()
    login(clerk, role=Role.CLERK)
    login(auditor, role=Role.AUDITOR)
    post_form(
        clerk, "/staff/holds/", {"record": ids["CA-11"], "kind": "evidence", "reason": REASON}
    )
    hold = _only_hold(services)
    page = html(auditor.get("/staff/holds/?show=all"))
    assert REASON in page
    assert f'data-hold="{hold.id}"' in page
    assert "<form" not in page[page.index('id="holds"') :].split("</table>")[0]
    assert 'id="place-heading"' not in page
    assert 'id="place-hold-form"' not in html(auditor.get(f"/staff/records/{ids['CA-11']}"))
