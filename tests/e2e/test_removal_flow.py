"""The whole promise in a real browser: a person asks, a clerk approves, a second person (a
supervisor) confirms a destruction the record's rule does not call for, the photo is gone and
the person holds proof naming both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from retention.db.models import DataKey, Image, Record
from retention.engine import certificates
from retention.errors import BlobNotFoundError, IntegrityError
from retention.keys import crypto
from retention.services import Services
from tests.e2e.conftest import make_staff, screenshot, sign_in, sign_out
from tests.integration.engine_helpers import ingest, review_due, state

pytestmark = pytest.mark.e2e


def test_request_match_approve_certificate_and_the_image_no_longer_opens(
    page: Any, live_server: str, services: Services, tmp_path: Path
) -> None:
    ids = ingest(
        services,
        tmp_path,
        [review_due("MPS-E2E-1") | {"name": "Robin Tester", "date_of_birth": "1988-08-08"}],
    )
    record_id = ids["MPS-E2E-1"]
    with services.readers() as db:
        image_ids = [i for (i,) in db.execute(select(Image.id).where(Image.record_id == record_id))]
        sealed = {i: services.store.get(i) for i in image_ids}
        key_row = db.execute(select(DataKey).where(DataKey.record_id == record_id)).scalar_one()
        data_key = services.keyring.unwrap(
            key_row.wrapped, key_id=key_row.id, version=key_row.kek_version
        )

    # (1) The person files a request.
    page.goto(live_server + "/request")
    page.get_by_label("Your full name").fill("Robin Tester")
    page.get_by_label("Date of birth").fill("1988-08-08")
    page.get_by_label("Booking or custody number").fill("MPS-E2E-1")
    page.get_by_label("Where were you arrested?").select_option("GB-ENG")
    page.get_by_label("I was found not guilty").check()
    page.get_by_label("How can we reach you?").fill("robin@example.invalid")
    page.get_by_role("button", name="Send request").click()
    reference = page.locator("#reference").inner_text()

    # (2) A clerk signs in with a TOTP code, finds the request, matches the record, approves.
    clerk = make_staff(services, "clerk-dee", "clerk")
    sign_in(page, live_server, clerk)
    page.get_by_role("link", name="Requests").click()
    screenshot(page, "staff-request-queue")
    page.locator("table a.mono").first.click()
    expect(page.locator("body")).not_to_contain_text("Robin Tester")  # sealed until asked
    page.get_by_label("Why do you need to read the requester's claims?").fill(
        "Checking who is asking for removal"
    )
    page.get_by_role("button", name="Show the requester's claims").click()
    expect(page.locator("body")).to_contain_text("Robin Tester")  # claims decrypted (audited)
    page.get_by_label("Why do you need to see the photos?").fill("Matching the removal request")
    page.get_by_role("button", name="Show photos").click()
    # The photo really rendered: it comes inline (a data: URI in the POST's answer), which the
    # page's Content-Security-Policy must allow; an image the browser refused or could not
    # decode never gets a width and the wait times out.
    page.wait_for_function(
        "() => { const img = document.querySelector('img');"
        " return img !== null && img.complete && img.naturalWidth > 0; }",
        timeout=15_000,
    )
    assert page.locator("img").count() >= 1
    screenshot(page, "staff-request-detail")
    page.get_by_role("button", name="Match this record").click()
    page.get_by_role("link", name="Review and approve…").click()
    # The approval page says, per record, what approval does; this record's rule says review,
    # so the purge is outside its rule and waits for a second person.
    # The booking's short form stands for it (the number is sealed with the identity).
    expect(page.locator("table.plan")).to_contain_text(state(services, record_id).booking_ref)
    expect(page.locator("table.plan")).to_contain_text("outside its rule")
    screenshot(page, "staff-request-approve-page")
    page.get_by_label("Reasons (optional, shown to the requester)").fill(
        "Acquitted: your photo has been destroyed."
    )
    page.get_by_role("button", name="Approve and ask a supervisor to confirm").click()
    expect(page.locator("#request-state")).to_have_attribute("data-state", "confirming")
    expect(page.locator("#waiting")).to_contain_text("Waiting for a supervisor")
    screenshot(page, "staff-request-waiting")
    sign_out(page)

    # (2b) Meanwhile the person sees that a second approval is awaited, and nothing is gone.
    page.goto(live_server + "/status")
    page.get_by_label("Your request reference").fill(reference)
    page.get_by_role("button", name="Show my request").click()
    expect(page.locator("body")).to_contain_text("waiting for a second approval")
    assert services.store.exists(image_ids[0])

    # (2c) A supervisor who neither approved nor matched confirms; now the photo is destroyed.
    supervisor = make_staff(services, "sup-eve", "supervisor")
    sign_in(page, live_server, supervisor)
    page.get_by_role("link", name="Requests").click()
    page.locator("table a.mono").first.click()
    page.get_by_label("Your reason (recorded in the audit log)").fill(
        "Acquittal checked against the court record"
    )
    page.get_by_role("button", name="Confirm: destroy now").click()
    expect(page.locator("#request-state")).to_have_attribute("data-state", "completed")
    screenshot(page, "staff-request-confirmed")
    sign_out(page)

    # (3) The person's status page shows completed and the certificate verifies.
    page.goto(live_server + "/status")
    page.get_by_label("Your request reference").fill(reference)
    page.get_by_role("button", name="Show my request").click()
    assert page.locator("#request-state").get_attribute("data-state") == "completed"
    assert "your photo has been destroyed" in page.content()
    screenshot(page, "public-request-completed")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download certificate").first.click()
    doc = json.loads(Path(info.value.path()).read_text())
    pem = page.request.get(live_server + "/public-key.pem").body()
    assert certificates.verify(doc, pem) is None
    assert doc["certificate"]["record_id"] == record_id
    # The certificate names both people: the clerk who approved, the supervisor who confirmed.
    assert doc["certificate"]["reason"]["decided_by"] == "clerk-dee"
    assert doc["certificate"]["reason"]["confirmed_by"] == "sup-eve"
    assert sorted(i["id"] for i in doc["certificate"]["destroyed"]["images"]) == sorted(image_ids)

    # (4) The image no longer opens anywhere: no key, no blobs, and the old ciphertext copies
    # are noise without the key (a backup of them would not help either once the KEK retires).
    with services.readers() as db:
        rec = db.get(Record, record_id)
        assert rec is not None
        assert rec.status == "purged"
        assert db.execute(select(DataKey).where(DataKey.record_id == record_id)).first() is None
    for image_id in image_ids:
        with pytest.raises(BlobNotFoundError):
            services.store.get(image_id)
    for image_id, blob in sealed.items():
        wrong = crypto.new_data_key()
        with pytest.raises(IntegrityError):
            crypto.open_blob(wrong, blob, record_id=record_id, image_id=image_id)
        # Only the destroyed key ever opened it (the test kept a copy from before the purge).
        assert crypto.open_blob(data_key, blob, record_id=record_id, image_id=image_id)
    sign_in(page, live_server, clerk)
    page.goto(f"{live_server}/staff/records/{record_id}")
    assert page.locator("#photo-form").count() == 0  # nothing left to show
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    gone = page.request.post(
        f"{live_server}/staff/records/{record_id}/photo",
        form={"csrf_token": token or "", "reason": "Checking the photo is really gone"},
    )
    assert gone.status == 404
