"""Every public page in Spanish and Welsh, in a real browser whose language is set, checked with
axe-core at 320 px and 1280 px (no violations, nothing wider than the screen): the start page,
the request form (blank and with errors), the receipt (and its language switch, which keeps the
reference on the page), the look-up (blank and with an error), a request in each state a
person meets (received; extended and needing information, with an answer sent empty; refused,
with the routes and the reply form; kept under a legal hold; completed, with its certificate),
the certificate page, and /verify (blank, valid, invalid, with an error). English is checked by
``test_public_journeys.py``."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policies.vocabulary import HoldKind, Jurisdiction, RequestKind
from retention.engine import changes
from retention.engine.authority import Person
from retention.requests import approval, filing, workflow
from retention.services import Services
from tests.e2e.test_public_journeys import Checker
from tests.integration.engine_helpers import ca_row, ingest, review_due

pytestmark = pytest.mark.e2e

SUBMIT = 'main form[method="post"] button[type="submit"]'
WORDS = {
    "es": {
        "received": "Recibimos su solicitud",
        "status": "Su solicitud",
        "valid": "Este certificado es válido",
        "invalid": "Este certificado no es válido",
        "for_you": "Se emitió para su solicitud.",
        "other": ("cy", "Mae eich cais wedi dod i law"),
    },
    "cy": {
        "received": "Mae eich cais wedi dod i law",
        "status": "Eich cais",
        "valid": "Mae’r dystysgrif hon yn ddilys",  # noqa: RUF001 (Welsh apostrophe)
        "invalid": "Nid yw’r dystysgrif hon yn ddilys",  # noqa: RUF001
        "for_you": "Fe’i cyhoeddwyd ar gyfer eich cais.",  # noqa: RUF001
        "other": ("es", "Recibimos su solicitud"),
    },
}


@pytest.fixture
def browser_in(playwright_browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a browser context whose language (Accept-Language) is the test's ``lang``."""
    lang = request.node.callspec.params["lang"]
    context = playwright_browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale={"es": "es-US", "cy": "cy-GB"}[lang],
        extra_http_headers={"Accept-Language": f"{lang},{lang};q=0.9"},
    )
    page = context.new_page()
    yield page
    context.close()


def _lang(page: Any) -> str:
    return str(page.locator("html").get_attribute("lang"))


def _submit(page: Any, form: str = SUBMIT) -> None:
    with page.expect_navigation():
        page.locator(form).first.click()


def _lookup(page: Any, base: str, reference: str) -> None:
    page.goto(base + "/status")
    page.locator("#reference").fill(reference)
    _submit(page)


def _states(services: Services, tmp_path: Path) -> dict[str, str]:
    """Requests in each state a person meets; returns state -> reference."""
    now = dt.datetime.now(dt.UTC)
    ids = ingest(services, tmp_path, [ca_row("CA-HOLD"), review_due("GB-DONE")])

    def new(db: Any, jurisdiction: Jurisdiction, booking: str | None) -> tuple[str, str]:
        req, ref = filing.file_request(
            db, services.keyring, services.store,
            claims=filing.Claims(name="Alex Rivera", date_of_birth=dt.date(1990, 2, 3),
                                 contact="alex@example.invalid", booking_number=booking),
            kind=RequestKind.ERASURE, jurisdiction=jurisdiction, grounds=["acquitted"],
            evidence=None, now=now,
        )  # fmt: skip
        return req.id, ref

    refs: dict[str, str] = {}
    with services.sessions() as db, db.begin():
        held, refs["on_hold"] = new(db, Jurisdiction.US_CA, "CA-HOLD")
        asked, refs["needs_info"] = new(db, Jurisdiction.EU, None)
        denied, refs["denied"] = new(db, Jurisdiction.GB_ENG, None)
        done, refs["completed"] = new(db, Jurisdiction.GB_ENG, "GB-DONE")
        changes.place_hold(
            db, services.keyring, ids["CA-HOLD"], kind=HoldKind.LITIGATION, reason="civil claim",
            case_reference=None, actor="clerk:ann", now=now,
        )  # fmt: skip
    with services.sessions() as db, db.begin():
        workflow.match(db, services.keyring, held, ids["CA-HOLD"], actor="clerk:ann", now=now)
        approval.approve(db, services.keyring, held, actor="clerk:ann", reasons="", now=now)
        workflow.extend(
            db, services.keyring, asked, actor="clerk:ann", reason="The court is slow.", now=now
        )
        workflow.ask_for_information(
            db, services.keyring, asked, actor="clerk:ann", message="Which year?", now=now
        )
        workflow.deny(
            db, services.keyring, denied, actor="clerk:ann", reasons="Not enough detail.", now=now
        )
        workflow.match(db, services.keyring, done, ids["GB-DONE"], actor="clerk:ann", now=now)
        approval.approve(db, services.keyring, done, actor="clerk:ann", reasons="Done.", now=now)
    with services.sessions() as db, db.begin():
        approval.confirm(
            db, services.keyring, done, supervisor=Person("supervisor:bo", "supervisor"),
            reason="Acquittal checked against the court record", now=now,
        )  # fmt: skip
    return refs


@pytest.mark.parametrize("lang", ["es", "cy"])
def test_every_public_page_in_spanish_and_welsh_passes_axe(
    browser_in: Any, live_server: str, services: Services, tmp_path: Path, lang: str
) -> None:
    page, words, check = browser_in, WORDS[lang], Checker()

    page.goto(live_server + "/")
    assert _lang(page) == lang
    check(page, f"{lang} start")

    page.goto(live_server + "/request")
    assert _lang(page) == lang
    check(page, f"{lang} request form")
    _submit(page)
    page.wait_for_function("() => document.activeElement?.id === 'error-summary'", timeout=10_000)
    assert page.title().startswith({"es": "Error: ", "cy": "Gwall: "}[lang])
    check(page, f"{lang} request form with errors")

    page.locator("#name").fill("Alex Rivera")
    page.locator("#date_of_birth").fill("1990-02-03")
    page.locator("#jurisdiction").select_option("US-CA")
    page.locator("#grounds-2").check()
    page.locator("#contact").fill("alex@example.invalid")
    _submit(page)
    assert words["received"] in page.locator("h1").inner_text()
    reference = page.locator("#reference").inner_text()
    check(page, f"{lang} receipt")
    # The switch posts the reference back: the receipt stays, in the other language, and the
    # reference is in no URL.
    other, other_heading = words["other"]
    with page.expect_navigation():
        page.locator(f'.language-switch button[value="{other}"]').click()
    assert _lang(page) == other
    assert other_heading in page.locator("h1").inner_text()
    assert page.locator("#reference").inner_text() == reference
    assert reference not in page.url
    check(page, f"{lang} receipt switched to {other}")
    with page.expect_navigation():
        page.locator(f'.language-switch button[value="{lang}"]').click()
    assert _lang(page) == lang

    page.goto(live_server + "/status")
    check(page, f"{lang} status lookup")
    page.locator("#reference").fill("AAAAA-BBBBB-CCCCC-DDDDD")
    _submit(page)
    check(page, f"{lang} status lookup with an error")
    _lookup(page, live_server, reference)
    assert page.locator("#request-state").get_attribute("data-state") == "received"
    assert re.search(r"\d{4}-\d{2}-\d{2}", page.locator("#respond-by").inner_text())
    check(page, f"{lang} status received")

    refs = _states(services, tmp_path)
    for state in ("on_hold", "denied", "needs_info"):
        _lookup(page, live_server, refs[state])
        assert page.locator("#request-state").get_attribute("data-state") == state
        assert _lang(page) == lang
        check(page, f"{lang} status {state}")
    _submit(page, 'main form[action="/status/answer"] button[type="submit"]')
    page.wait_for_function("() => document.activeElement?.id === 'error-summary'", timeout=10_000)
    check(page, f"{lang} status empty answer")

    _lookup(page, live_server, refs["completed"])
    assert page.locator("#request-state").get_attribute("data-state") == "completed"
    check(page, f"{lang} status completed")
    _submit(page, 'form[action="/status/certificate/page"] button[type="submit"]')
    assert page.locator("#for-you").count() == 1
    check(page, f"{lang} certificate page")
    _lookup(page, live_server, refs["completed"])
    with page.expect_download() as download_info:
        page.locator('form[action="/status/certificate"] button[type="submit"]').first.click()
    cert_text = Path(download_info.value.path()).read_text()

    page.goto(live_server + "/verify")
    check(page, f"{lang} verify")
    page.locator("#pasted").fill(cert_text)
    page.locator("#reference").fill(refs["completed"])
    _submit(page)
    assert words["valid"] in page.locator("#verify-result").inner_text()
    assert words["for_you"] in page.locator("#for-you").inner_text()
    check(page, f"{lang} verify valid")
    doc = json.loads(cert_text)
    digest = doc["certificate"]["requester_reference_sha256"]
    flipped = cert_text.replace(digest, digest[:-1] + ("0" if digest[-1] != "0" else "1"))
    page.locator("#pasted").fill(flipped)
    _submit(page)
    assert page.locator("#verify-result").get_attribute("data-valid") == "false"
    assert words["invalid"] in page.locator("#verify-result").inner_text()
    check(page, f"{lang} verify invalid")
    page.locator("#pasted").fill("not a certificate")
    _submit(page)
    check(page, f"{lang} verify with an error")
    page.wait_for_load_state("networkidle")  # nothing in flight when the server stops
