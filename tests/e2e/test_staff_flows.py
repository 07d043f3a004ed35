"""Staff flows in a real browser: holds with four eyes, a sweep under hold, the auditor."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from policies.vocabulary import Purpose
from retention.db.models import LegalHold
from retention.engine import changes
from retention.jobs.sweep import run_sweep
from retention.services import Services
from tests.e2e.conftest import make_staff, screenshot, sign_in, sign_out
from tests.integration.engine_helpers import ingest, purge_due, review_due, state

pytestmark = pytest.mark.e2e


def test_a_clerk_places_a_hold_a_supervisor_approves_and_a_due_sweep_restricts(
    page: Any, live_server: str, services: Services, tmp_path: Path
) -> None:
    # A consent-based EU record whose consent was withdrawn: GDPR Art 7(3) + 17(1)(b) purge due.
    row = review_due("CA-HOLD-1") | {
        "jurisdiction": "EU",
        "agency": "EU-DEMO",
        "mopi_group": "",
        "legal_basis": "consent",
    }
    ids = ingest(services, tmp_path, [row])
    now = dt.datetime.now(dt.UTC)
    with services.sessions() as db, db.begin():
        changes.record_consent(
            db,
            ids["CA-HOLD-1"],
            given_on=dt.date(2020, 5, 5),
            purposes=[Purpose.IDENTIFICATION],
            expires_on=None,
            evidence_ref=None,
            actor="e2e:setup",
            now=now,
        )
        decision = changes.withdraw_consent(
            db, ids["CA-HOLD-1"], on=now.date(), actor="e2e:setup", now=now
        )
    assert decision.action.value == "purge"
    clerk = make_staff(services, "clerk-ann", "clerk")
    supervisor = make_staff(services, "sup-bob", "supervisor")

    sign_in(page, live_server, clerk)
    screenshot(page, "staff-dashboard")
    page.locator("#nav-holds").click()
    page.get_by_label("Booking number or record id").fill("CA-HOLD-1")
    page.get_by_label("Kind of hold").select_option("evidence")
    page.get_by_label("Reason").fill("Exhibit in a pending trial")
    page.get_by_role("button", name="Place hold").click()
    screenshot(page, "staff-holds-placed")
    with services.readers() as db:
        hold = db.execute(select(LegalHold)).scalar_one()
    assert (hold.state, hold.placed_by) == ("pending", "clerk-ann")
    sign_out(page)

    sign_in(page, live_server, supervisor)
    page.locator("#nav-holds").click()
    # The supervisor sees the reason on the row, opens its actions and approves with a comment.
    assert "Exhibit in a pending trial" in page.locator("#holds").inner_text()
    page.locator("#holds summary").first.click()
    page.get_by_label("Your comment (kept with the hold, sealed)").fill(
        "Checked the trial listing with the prosecutor"
    )
    page.get_by_role("button", name="Approve").click()
    with services.readers() as db:
        hold = db.execute(select(LegalHold)).scalar_one()
    assert (hold.state, hold.approved_by) == ("active", "sup-bob")
    screenshot(page, "staff-holds-approved")

    run_sweep(services, today=now.date(), clock=lambda: now, actor="scheduler")
    record = state(services, ids["CA-HOLD-1"])
    # The destruction was due; the hold turned it into a lock: nothing was destroyed.
    assert record.status == "restricted"
    assert record.identity_sealed is not None
    assert len(list(services.store.keys())) == 2


def test_an_auditor_verifies_the_chain_and_sees_the_purge(
    page: Any, live_server: str, services: Services, tmp_path: Path
) -> None:
    ids = ingest(services, tmp_path, [purge_due("CA-GONE-1")])
    now = dt.datetime.now(dt.UTC)
    run_sweep(services, today=now.date(), clock=lambda: now, actor="scheduler")
    assert state(services, ids["CA-GONE-1"]).status == "purged"
    auditor = make_staff(services, "aud-cy", "auditor")

    sign_in(page, live_server, auditor)
    page.get_by_role("link", name="Audit").click()
    page.get_by_role("button", name="Verify the chain").click()
    assert "Chain verified" in page.locator("#verify-result").inner_text()
    rows = page.locator("#audit-entries tbody tr")
    texts = [rows.nth(i).inner_text() for i in range(rows.count())]
    assert any("record.purged" in t and ids["CA-GONE-1"] in t for t in texts)
    screenshot(page, "staff-audit-verified")
    # An auditor reads metadata, never images or identity: no record photo route is open.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = page.request.post(
        f"{live_server}/staff/records/{ids['CA-GONE-1']}/photo",
        form={"csrf_token": token or "", "reason": "Curious about this record"},
    )
    assert response.status == 403  # refused for the role before the record is looked up
