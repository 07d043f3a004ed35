"""The public transparency report in a real browser: readable on a phone without sideways
scrolling, small counts suppressed, the CSV one link away."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from retention.services import Services
from tests.e2e.conftest import screenshot
from tests.integration.test_transparency import _seed


def test_the_report_reads_on_a_phone_and_on_a_desktop(
    page: Any, live_server: str, services: Services
) -> None:
    _seed(services)
    for width, height in ((390, 844), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server}/transparency?month=2026-10")
        expect(page.get_by_role("heading", level=1)).to_contain_text("October 2026")
        # No sideways scrolling: the tables reflow into labelled cards on a narrow screen.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (width, overflow)
        us = page.locator('#transparency-requests tr[data-jurisdiction="US-CA"]')
        expect(us.locator('[data-cell="received"]')).to_have_text("9")
        expect(page.locator("#transparency-requests .suppressed").first).to_contain_text(
            "fewer than 5"
        )
        screenshot(page, f"transparency-{width}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this month as CSV").click()
    assert download.value.suggested_filename == "transparency-2026-10.csv"
