"""End-to-end fixtures: the real app on a real WSGI server (waitress) on loopback, driven by
Playwright through Debian's Chromium.

Browser tests run when a Chromium is found (``MUGSHOT_CHROMIUM`` or ``/usr/bin/chromium``).
With ``MUGSHOT_E2E=1`` (CI sets it) a missing browser is an error, never a silent skip.
Screenshots of the main pages are saved under ``test-artifacts/screenshots``.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import waitress
from waitress.server import BaseWSGIServer

from retention.services import Services
from web import create_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _chromium() -> str | None:
    found = os.environ.get("MUGSHOT_CHROMIUM") or shutil.which("chromium") or None
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    return found


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium()
    if path is None:
        if os.environ.get("MUGSHOT_E2E") == "1":
            pytest.fail("MUGSHOT_E2E=1 but no Chromium found (apt-get install chromium)")
        pytest.skip(
            "no Chromium on this machine: browser tests not run (set MUGSHOT_E2E=1 to require)"
        )
    return path


@pytest.fixture(scope="session")
def playwright_browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(services: Services) -> Iterator[str]:
    """The app served by waitress on a free loopback port; yields its base URL."""
    app = create_app(services.settings, services=services)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    assert isinstance(server, BaseWSGIServer)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def page(playwright_browser: Any) -> Iterator[Any]:
    context = playwright_browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def make_staff(services: Services, username: str, role: str) -> tuple[str, str, str]:
    """Create a staff account through the core; returns (username, password, TOTP secret)."""
    import datetime as dt

    from tests.helpers import create_staff

    password = f"e2e-{role}-secret-9147"
    name, secret = create_staff(
        services, username, role, password=password, now=dt.datetime.now(dt.UTC), actor="e2e:setup"
    )
    return name, password, secret


def sign_in(page: Any, base: str, creds: tuple[str, str, str]) -> None:
    """Sign in through the two steps, typing a real TOTP code."""
    import pyotp

    username, password, secret = creds
    page.goto(base + "/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    totp = pyotp.TOTP(secret)
    page.get_by_label("6-digit code").fill(totp.now())
    page.get_by_role("button", name="Sign in").click()
    if "/staff/login" in page.url:
        # A code works once: a second sign-in within the same 30 s uses the next step's code
        # (the server accepts one step of clock drift).
        page.get_by_label("6-digit code").fill(totp.at(time.time() + 30))
        page.get_by_role("button", name="Sign in").click()
    assert "/staff/login" not in page.url, "sign-in failed"


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
