"""A person files a removal request and follows it, in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from retention.requests import filing
from retention.services import Services
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def test_a_person_files_a_request_and_checks_its_status(
    page: Any, live_server: str, services: Services
) -> None:
    page.goto(live_server + "/")
    screenshot(page, "public-home")
    page.get_by_role("link", name="Make a request").click()
    page.get_by_label("Your full name").fill("Casey Example")
    page.get_by_label("Date of birth").fill("1992-04-05")
    page.get_by_label("Where were you arrested?").select_option("GB-ENG")
    page.get_by_label("I was found not guilty").check()
    page.get_by_label("How can we reach you?").fill("casey@example.invalid")
    screenshot(page, "public-request-form")
    page.get_by_role("button", name="Send request").click()
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{5}(-[A-Z0-9]{5}){3}", reference)
    screenshot(page, "public-request-filed")
    with services.readers() as db:
        assert filing.by_reference(db, reference) is not None

    page.goto(live_server + "/status")
    page.get_by_label("Your request reference").fill(reference)
    with page.expect_navigation():
        page.keyboard.press("Enter")  # keyboard use, no mouse needed
    assert page.locator("#request-state").get_attribute("data-state") == "received"
    screenshot(page, "public-request-status")
