"""Audited reads in a real browser: a link cannot show a photo; a stated reason, posted, can."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from retention.db.models import AuditEntry
from retention.services import Services
from tests.e2e.conftest import make_staff, screenshot, sign_in
from tests.helpers import audit_reason
from tests.integration.engine_helpers import ingest, review_due

pytestmark = pytest.mark.e2e

WHY = "Checking the custody photo for a court request"
LOADED = (
    "() => { const img = document.querySelector('#record-photo');"
    " return img !== null && img.complete && img.naturalWidth > 0; }"
)


def audit(services: Services) -> list[AuditEntry]:
    with services.readers() as db:
        return list(db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())


def test_a_clerk_states_a_reason_and_the_photo_shows_in_the_page(
    page: Any, live_server: str, services: Services, tmp_path: Path
) -> None:
    record_id = ingest(services, tmp_path, [review_due("MPS-PHOTO-1")])["MPS-PHOTO-1"]
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, make_staff(services, "clerk-eve", "clerk"))
    before = len(audit(services))

    # A link from anywhere, with a reason in it: the page, the form, no photo, no audit entry.
    page.goto(f"{live_server}/staff/records/{record_id}?reason=attacker+chosen+reason")
    assert page.locator("img").count() == 0
    assert page.get_by_label("Why do you need to see the photo?").input_value() == ""
    assert len(audit(services)) == before
    screenshot(page, "record-photo-form-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "record-photo-form-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Not a sentence: refused next to the field, nothing decrypted.
    page.get_by_label("Why do you need to see the photo?").fill("asdf")
    page.get_by_role("button", name="Show photo").click()
    expect(page.locator("#photo-reason-error")).to_contain_text("Write a short sentence")
    assert page.locator("img").count() == 0
    assert len(audit(services)) == before
    screenshot(page, "record-photo-refused-1280")

    page.get_by_label("Why do you need to see the photo?").fill(WHY)
    page.get_by_role("button", name="Show photo").click()
    page.wait_for_function(LOADED, timeout=15_000)  # the data: image passed the page's CSP
    assert page.url == f"{live_server}/staff/records/{record_id}/photo"  # no reason in it
    expect(page.locator("#photo figcaption")).to_contain_text(WHY)
    entries = audit(services)
    assert len(entries) == before + 1
    assert (entries[-1].action, entries[-1].actor) == ("image.viewed", "clerk-eve")
    assert audit_reason(services, entries[-1].seq) == WHY
    assert WHY not in str(entries[-1].details)
    assert blocked == []
    screenshot(page, "record-photo-shown-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "record-photo-shown-390")

    # Back on the record by its address: the photo is gone from the page again.
    page.goto(f"{live_server}/staff/records/{record_id}")
    assert page.locator("img").count() == 0
    assert len(audit(services)) == before + 1
