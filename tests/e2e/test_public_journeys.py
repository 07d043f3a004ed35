"""The person in the photo, in a real browser, once per jurisdiction: file → receipt → status
with a date; needs-information answered with an upload; refusal with the jurisdiction's
complaint route and a reply; approval → certificate → ``/verify`` says valid and "issued for
your request"; a flipped byte says invalid. Every public page on the way is checked with
axe-core (``axe-playwright-python``) at 320 px and 1280 px wide: no violations, and nothing
wider than the screen."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from policies.vocabulary import Jurisdiction, RequestKind
from retention.db.models import RequestAttachment
from retention.engine.authority import Person
from retention.requests import approval, filing, workflow
from retention.services import Services
from tests.e2e.conftest import screenshot
from tests.helpers import row
from tests.integration.engine_helpers import ca_row, ingest, review_due

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4 a letter from the court MARKER-E2E-PDF"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
WIDTHS = (320, 1280)


def _record_row(jurisdiction: str, booking: str) -> dict[str, str]:
    """A record of ``jurisdiction`` whose subject is the person who files below."""
    if jurisdiction == "US-CA":
        return ca_row(booking)
    if jurisdiction in ("US-IL", "US-TX"):
        return row(
            booking_number=booking, jurisdiction=jurisdiction, holder="private_entity",
            data_kind="face_template", legal_basis="consent", mopi_group="",
            arrest_date="2025-01-10", captured_at="2025-01-10T09:00:00+00:00",
            outcome="pending", outcome_date="",
        )  # fmt: skip
    if jurisdiction == "EU":
        return {**review_due(booking), "jurisdiction": "EU", "agency": "EU-DEMO", "mopi_group": ""}
    return review_due(booking)


ROUTES = {
    "GB-ENG": "Information Commissioner's Office (ICO)",
    "EU": "Your data protection authority",
    "US-CA": "The superior court",
    "US-IL": "Ask us to look again",
    "US-TX": "Ask us to look again",
}


class Checker:
    """Runs axe-core on a page at each width, once per distinct page name."""

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.seen: set[str] = set()

    def __call__(self, page: Any, name: str) -> None:
        if name in self.seen:
            return
        self.seen.add(name)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            results = self.axe.run(page)
            assert results.violations_count == 0, (
                f"{name} at {width}px:\n{results.generate_report()}"
            )
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, f"{name} at {width}px is {overflow}px wide"
        page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture(scope="module")
def check() -> Checker:
    return Checker()


def _lookup(page: Any, base: str, reference: str) -> None:
    page.goto(base + "/status")
    page.get_by_label("Your request reference").fill(reference)
    with page.expect_navigation():
        page.keyboard.press("Enter")


@pytest.mark.parametrize("jurisdiction", ["GB-ENG", "US-CA", "US-IL", "US-TX", "EU"])
def test_a_person_files_follows_answers_replies_and_checks_the_certificate(
    page: Any,
    live_server: str,
    services: Services,
    tmp_path: Path,
    check: Checker,
    jurisdiction: str,
) -> None:
    booking = f"{jurisdiction}-77"
    ids = ingest(services, tmp_path, [_record_row(jurisdiction, booking)])
    page.goto(live_server + "/")
    check(page, "home")
    page.get_by_role("link", name="Make a request").click()
    check(page, "request form")

    # Errors: summary at the top with links, focus moved there, "Error:" in the title.
    with page.expect_navigation():
        page.get_by_role("button", name="Send request").click()
    page.wait_for_function("() => document.activeElement?.id === 'error-summary'", timeout=10_000)
    assert page.title().startswith("Error: ")
    assert page.locator("#error-summary a[href='#name']").count() == 1
    check(page, "request form with errors")

    page.get_by_label("Your full name").fill("Alex Rivera")
    page.get_by_label("Date of birth").fill("1990-02-03")
    page.get_by_label("Booking or custody number").fill(booking)
    page.get_by_label("Where were you arrested?").select_option(jurisdiction)
    page.get_by_label("I was found not guilty").check()
    page.get_by_label("How can we reach you?").fill("alex@example.invalid")
    page.get_by_role("button", name="Send request").click()
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{5}(-[A-Z0-9]{5}){3}", reference)
    assert DATE.fullmatch(page.locator("#respond-by").inner_text().strip())
    check(page, "receipt")
    # Printed, the receipt keeps the reference and the dates and drops the buttons.
    page.get_by_role("button", name="Print the receipt").wait_for(state="visible")  # script ran
    page.emulate_media(media="print")
    assert page.locator("#reference").is_visible()
    assert page.locator("#respond-by").is_visible()
    assert not page.get_by_role("button", name="Check my request now").is_visible()
    assert not page.locator(".site-header").is_visible()
    page.emulate_media(media="screen")
    screenshot(page, f"public-receipt-{jurisdiction}")
    assert all(reference not in c["value"] for c in page.context.cookies())
    with page.expect_download() as receipt_download:
        page.get_by_role("button", name="Download the receipt").click()
    receipt = Path(receipt_download.value.path()).read_text()
    assert reference in receipt

    page.get_by_role("button", name="Check my request now").click()
    assert page.locator("#request-state").get_attribute("data-state") == "received"
    assert DATE.fullmatch(page.locator("#respond-by").inner_text().strip())
    check(page, "status: received")

    # An extension, where the jurisdiction's pack allows one, shows its reason; where it does
    # not (a service target, or a law without one in force), nothing changes for the requester.
    now = dt.datetime.now(dt.UTC)
    with services.readers() as db:
        req = filing.by_reference(db, reference)
        assert req is not None
        request_id = req.id
    try:
        with services.sessions() as db, db.begin():
            workflow.extend(
                db,
                services.keyring,
                request_id,
                actor="clerk:ann",
                reason="We wait for the court's file.",
                now=now,
            )
        extended = True
    except filing.RequestError:
        extended = False
    _lookup(page, live_server, reference)
    assert DATE.fullmatch(page.locator("#respond-by").inner_text().strip())
    if extended:
        assert "We wait for the court's file." in page.locator("#extension").inner_text()
        check(page, "status: extended")
    else:
        assert page.locator("#extension").count() == 0

    # Needs information: a date to answer by and an upload with the answer.
    with services.sessions() as db, db.begin():
        workflow.ask_for_information(
            db,
            services.keyring,
            request_id,
            actor="clerk:ann",
            message="Send the court's letter.",
            now=now,
        )
    _lookup(page, live_server, reference)
    assert DATE.search(page.locator("#answer-by").inner_text())
    check(page, "status: needs information")
    page.get_by_label("Your answer").fill("The letter is attached.")
    page.get_by_label("A document, if you have one").set_input_files(
        files=[{"name": "letter.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Send answer").click()
    assert page.locator("#request-state").get_attribute("data-state") == "under_review"
    with services.readers() as db:
        sent = db.execute(select(RequestAttachment)).scalars().all()
        assert [a.sent_with for a in sent] == ["answer"]

    # Refusal: the jurisdiction's routes and a reply.
    with services.sessions() as db, db.begin():
        workflow.deny(
            db,
            services.keyring,
            request_id,
            actor="clerk:ann",
            reasons="Not enough detail.",
            now=now,
        )
    _lookup(page, live_server, reference)
    assert page.get_by_role("heading", name=ROUTES[jurisdiction]).count() == 1
    check(page, "status: refused")
    screenshot(page, f"public-refused-{jurisdiction}")
    page.get_by_label("Your reply").fill("Please look again: I was acquitted.")
    page.get_by_role("button", name="Send reply").click()
    page.locator("#replied-on").wait_for()

    # Approval → certificate → /verify.
    with services.sessions() as db, db.begin():
        second, second_ref = filing.file_request(
            db,
            services.keyring,
            services.store,
            claims=filing.Claims(
                name="Alex Rivera",
                date_of_birth=dt.date(1990, 2, 3),
                contact="alex@example.invalid",
                booking_number=booking,
            ),
            kind=RequestKind.ERASURE,
            jurisdiction=Jurisdiction(jurisdiction),
            grounds=["acquitted"],
            evidence=None,
            now=now,
        )
        second_id = second.id
    with services.sessions() as db, db.begin():
        workflow.match(db, services.keyring, second_id, ids[booking], actor="clerk:ann", now=now)
        done = approval.approve(
            db, services.keyring, second_id, actor="clerk:ann", reasons="Deleted.", now=now
        )
    if done.waiting is not None:
        with services.sessions() as db, db.begin():
            approval.confirm(
                db,
                services.keyring,
                second_id,
                supervisor=Person("supervisor:bo", "supervisor"),
                reason="Outcome checked against the court record",
                now=now,
            )
    _lookup(page, live_server, second_ref)
    assert page.locator("#request-state").get_attribute("data-state") == "completed"
    check(page, "status: completed")
    page.get_by_role("button", name=re.compile("^Read certificate")).click()
    assert page.locator("#for-you").inner_text() == "This certificate was issued for your request."
    check(page, "certificate page")
    screenshot(page, f"public-certificate-{jurisdiction}")
    _lookup(page, live_server, second_ref)  # no-store: "back" would post again
    with page.expect_download() as cert_download:
        page.get_by_role("button", name=re.compile("^Download certificate")).click()
    cert_bytes = Path(cert_download.value.path()).read_bytes()

    page.goto(live_server + "/verify")
    check(page, "verify form")
    page.get_by_label("Or choose the certificate file").set_input_files(
        files=[{"name": "certificate.json", "mimeType": "application/json", "buffer": cert_bytes}]
    )
    page.get_by_label("Your request reference").fill(second_ref)
    page.get_by_role("button", name="Check the certificate").click()
    assert page.locator("#verify-result").get_attribute("data-valid") == "true"
    assert "It was issued for your request." in page.locator("#for-you").inner_text()
    check(page, "verify: valid")
    screenshot(page, f"public-verify-{jurisdiction}")

    doc = json.loads(cert_bytes)
    text = json.dumps(doc, indent=2)
    digest = doc["certificate"]["requester_reference_sha256"]
    flipped = text.replace(digest, digest[:-1] + ("0" if digest[-1] != "0" else "1"))
    assert flipped != text
    page.get_by_label("Paste the certificate").fill(flipped)
    page.get_by_role("button", name="Check the certificate").click()
    assert page.locator("#verify-result").get_attribute("data-valid") == "false"
    check(page, "verify: invalid")

    page.goto(live_server + "/no-such-page")
    check(page, "error page")
    page.get_by_role("link", name="Go to the start page").click()
    page.wait_for_load_state("networkidle")  # nothing in flight when the server stops
    assert page.url.rstrip("/") == live_server


def test_the_accessibility_check_catches_a_violation(page: Any) -> None:
    """The checker is not vacuous: an image without a text alternative and a field without a
    label fail it."""
    page.set_content(
        '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<input type="text"></main></body></html>'
    )
    with pytest.raises(AssertionError, match="image-alt"):
        Checker()(page, "broken")


def test_the_other_public_pages_pass_axe_at_both_widths(
    page: Any, live_server: str, services: Services, tmp_path: Path, check: Checker
) -> None:
    """Pages the journeys do not reach: look-up errors, an answer sent empty, a request kept
    under a legal hold, an extended request, a rejected certificate, a 413."""
    from policies.vocabulary import HoldKind
    from retention.engine import changes

    page.goto(live_server + "/status")
    check(page, "status lookup")
    page.get_by_label("Your request reference").fill("AAAAA-BBBBB-CCCCC-DDDDD")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.title().startswith("Error: ")
    check(page, "status lookup with an error")

    now = dt.datetime.now(dt.UTC)
    ids = ingest(services, tmp_path, [ca_row("CA-HOLD")])
    with services.sessions() as db, db.begin():
        held, held_ref = filing.file_request(
            db, services.keyring, services.store,
            claims=filing.Claims(name="Alex Rivera", date_of_birth=dt.date(1990, 2, 3),
                                 contact="alex@example.invalid", booking_number="CA-HOLD"),
            kind=RequestKind.ERASURE, jurisdiction=Jurisdiction.US_CA, grounds=["acquitted"],
            evidence=None, now=now,
        )  # fmt: skip
        asked, asked_ref = filing.file_request(
            db, services.keyring, services.store,
            claims=filing.Claims(name="Sam Doe", date_of_birth=dt.date(1980, 1, 1),
                                 contact="sam@example.invalid"),
            kind=RequestKind.ERASURE, jurisdiction=Jurisdiction.EU, grounds=["dismissed"],
            evidence=None, now=now,
        )  # fmt: skip
        held_id, asked_id = held.id, asked.id
        changes.place_hold(
            db, services.keyring, ids["CA-HOLD"], kind=HoldKind.LITIGATION, reason="civil claim",
            case_reference=None, actor="clerk:ann", now=now,
        )  # fmt: skip
    with services.sessions() as db, db.begin():
        workflow.match(db, services.keyring, held_id, ids["CA-HOLD"], actor="clerk:ann", now=now)
        approval.approve(db, services.keyring, held_id, actor="clerk:ann", reasons="", now=now)
        workflow.extend(
            db,
            services.keyring,
            asked_id,
            actor="clerk:ann",
            reason="The court has not answered yet.",
            now=now,
        )
        workflow.ask_for_information(
            db, services.keyring, asked_id, actor="clerk:ann", message="Which year?", now=now
        )
    _lookup(page, live_server, held_ref)
    assert page.locator("#request-state").get_attribute("data-state") == "on_hold"
    check(page, "status: on hold")
    _lookup(page, live_server, asked_ref)
    assert "The court has not answered yet." in page.locator("#extension").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="Send answer").click()
    page.wait_for_function("() => document.activeElement?.id === 'error-summary'", timeout=10_000)
    check(page, "status: empty answer")

    page.goto(live_server + "/verify")
    page.get_by_label("Paste the certificate").fill("not a certificate")
    with page.expect_navigation():
        page.get_by_role("button", name="Check the certificate").click()
    check(page, "verify with an error")
    page.wait_for_load_state("networkidle")  # nothing in flight when the server stops
