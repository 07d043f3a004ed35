"""axe-core on every staff page, as every role that may open it (issue 14).

The data set has one of everything a staff page can show: records in several jurisdictions
(active, purged with a certificate, restricted, held), a removal request with candidates and a
confirmed match, a hold waiting for approval and one active with a review date, a review
decision waiting for a second person, and an uploaded rule-pack version waiting to be enacted.
The walk takes every GET rule under ``/staff`` from ``app.url_map`` (a new page is checked
without anyone listing it), fills its path parameters with the seeded ids, and opens each URL
as the clerk, the supervisor, the auditor and the admin; a page a role may not open answers 403
and is skipped for that role (the refusal page itself is checked once). Each page is checked at
1280 px, the main lists at 390 px too, and so are the pages a POST re-renders with errors.
Full-page screenshots land in ``test-artifacts/screenshots/staff-*.png``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from policies import bundled_pack_paths
from policies.vocabulary import HoldKind, Jurisdiction, RequestKind
from retention.db.models import Role
from retention.engine import changes, reviews
from retention.jobs.sweep import run_sweep
from retention.requests import filing, workflow
from retention.services import Services
from tests.e2e.conftest import make_staff, screenshot, sign_in
from tests.integration.engine_helpers import (
    ingest,
    purge_due,
    restrict_then_purge_later,
    review_due,
    state,
)
from web import create_app

pytestmark = pytest.mark.e2e

ROLES = (Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
WIDE, NARROW = 1280, 390
# The lists a clerk may open on a phone: checked at 390 px as well.
MAIN_LISTS = (
    "/staff/",
    "/staff/requests/",
    "/staff/reviews/",
    "/staff/records/",
    "/staff/records/reviews",
    "/staff/holds/",
    "/staff/audit/",
)
# Tables whose box scrolls sideways (a 1280 px window must show every column).
SCROLLING_TABLES = """[...document.querySelectorAll('.table-scroll')]
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => (e.querySelector('table') || e).id || e.className)"""
CLAIM_NAME = "Ottoline Brackwater"
CLAIM_DOB = dt.date(1979, 4, 12)


def _eu(booking: str) -> dict[str, str]:
    return {**review_due(booking), "jurisdiction": "EU", "agency": "EU-DEMO", "mopi_group": ""}


def _seed(services: Services, tmp_path: Path) -> dict[str, list[str]]:
    """The data set; returns the values for each route parameter."""
    now = dt.datetime.now(dt.UTC)
    ids = ingest(
        services,
        tmp_path,
        [
            review_due("GB-81") | {"name": CLAIM_NAME, "date_of_birth": CLAIM_DOB.isoformat()},
            review_due("GB-82"),
            review_due("GB-83"),
            review_due("GB-84"),
            _eu("EU-81"),
            purge_due("CA-81"),
            restrict_then_purge_later("CA-82"),
        ],
    )
    run_sweep(services, today=now.date(), clock=lambda: now, actor="scheduler", confirmed_by="s")
    assert state(services, ids["CA-81"]).status == "purged"
    assert state(services, ids["CA-82"]).status == "restricted"
    with services.sessions() as db, db.begin():
        changes.place_hold(
            db,
            services.keyring,
            ids["GB-82"],
            kind=HoldKind.EVIDENCE,
            reason="Exhibit in a pending appeal",
            case_reference="T20261234",
            actor="clerk:hal",
            now=now,
        )
        active = changes.place_hold(
            db,
            services.keyring,
            ids["GB-83"],
            kind=HoldKind.LITIGATION,
            reason="Civil claim against the force",
            case_reference="CL-2026-77",
            actor="clerk:hal",
            now=now,
            review_on=now.date() + dt.timedelta(days=30),
        )
        changes.approve_hold(
            db,
            active.id,
            actor="supervisor:sue",
            now=now,
            comment="Checked",
            keyring=services.keyring,
        )
        waiting = reviews.decide_review(
            db,
            services.keyring,
            ids["GB-84"],
            outcome=reviews.ReviewOutcome.PURGE,
            reason="No further policing purpose after the acquittal",
            actor="clerk:hal",
            now=now,
        )
        assert waiting.waiting
        req, _ = filing.file_request(
            db,
            services.keyring,
            services.store,
            claims=filing.Claims(
                name=CLAIM_NAME,
                date_of_birth=CLAIM_DOB,
                contact="ottoline@example.invalid",
                booking_number=None,
                details="I was acquitted in 2020.",
            ),
            kind=RequestKind.ERASURE,
            jurisdiction=Jurisdiction.GB_ENG,
            grounds=["acquitted"],
            evidence=b"%PDF-1.7 court letter",
            now=now,
        )
    with services.sessions() as db, db.begin():
        found = filing.candidates(db, db.merge(req))
        assert [r.id for r in found] == [ids["GB-81"]]
        workflow.match(db, services.keyring, req.id, ids["GB-81"], actor="clerk:hal", now=now)
    return {
        "record_id": [ids[b] for b in ("GB-81", "GB-82", "GB-83", "GB-84", "CA-81", "CA-82")],
        "request_id": [req.id],
    }


def _upload_pack(page: Any, base: str, tmp_path: Path) -> str:
    """A clerk uploads a changed pack version; returns its sha (the pending page's id)."""
    source = bundled_pack_paths()["us-ca"].read_text()
    changed = tmp_path / "us-ca.toml"
    changed.write_text(source.replace('version = "2025.1"', 'version = "2026.9"', 1))
    page.goto(base + "/staff/policy/")
    page.locator('input[name="pack"]').set_input_files(str(changed))
    with page.expect_navigation():
        page.locator('form[action$="/staff/policy/enact"] [type="submit"]').click()
    assert "/staff/policy/enact/" in page.url, page.url
    return str(page.url.rstrip("/").rsplit("/", 1)[-1])


def _urls(services: Services, values: dict[str, list[str]]) -> list[str]:
    """Every GET route under /staff, with each seeded id in its path parameters."""
    app = create_app(services.settings, services=services)
    urls: list[str] = []
    rules = [
        r
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or ()) and r.rule.startswith("/staff")
    ]
    assert len(rules) >= 12  # the walk must not silently shrink
    for rule in rules:
        combos: list[dict[str, str]] = [{}]
        for name in sorted(rule.arguments):
            assert name in values, f"no seeded value for <{name}> in {rule.rule}: add one"
            combos = [c | {name: v} for c in combos for v in values[name]]
        with app.test_request_context():
            urls += [app.url_for(rule.endpoint, **c) for c in combos]
    return sorted(set(urls))


class Axe:
    """Runs axe-core and collects every violation (all pages are walked before failing)."""

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe as Runner

        self.runner = Runner()
        self.failures: list[str] = []
        self.checked: list[str] = []
        self.shot: set[str] = set()

    def __call__(self, page: Any, name: str, *, narrow: bool = False) -> None:
        for width in (WIDE, NARROW) if narrow else (WIDE,):
            page.set_viewport_size({"width": width, "height": 900})
            results = self.runner.run(page)
            self.checked.append(f"{name}@{width}")
            if results.violations_count:
                self.failures.append(f"{name} at {width}px:\n{results.generate_report()}")
            wide = page.evaluate("document.documentElement.scrollWidth")
            if wide > width:
                self.failures.append(f"{name} at {width}px scrolls sideways: {wide}px wide")
            if width == WIDE:
                boxes = page.evaluate(SCROLLING_TABLES)
                if boxes:
                    self.failures.append(f"{name}: a table scrolls sideways at {width}px: {boxes}")
            shot = f"staff-{_slug(name)}-{width}"
            if shot not in self.shot:
                self.shot.add(shot)
                screenshot(page, shot)
        page.set_viewport_size({"width": WIDE, "height": 900})


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")[:80]


def test_axe_finds_no_violations_on_any_staff_page_for_any_role(
    playwright_browser: Any, live_server: str, services: Services, tmp_path: Path
) -> None:
    values = _seed(services, tmp_path)
    people = {role: make_staff(services, f"axe-{role.value}", role.value) for role in ROLES}
    purged = values["record_id"][4]
    downloads: set[str] = set()
    axe = Axe()
    opened: dict[Role, list[str]] = {}
    sha = ""
    for role in ROLES:
        context = playwright_browser.new_context(viewport={"width": WIDE, "height": 900})
        page = context.new_page()
        sign_in(page, live_server, people[role])
        if not sha:
            sha = _upload_pack(page, live_server, tmp_path)
            values["sha"] = [sha]
        opened[role] = []
        for url in _urls(services, values):
            probe = page.request.get(live_server + url)
            status = probe.status
            assert status < 500, (role, url, status)
            if status == 404 and url.endswith("/certificate") and purged not in url:
                continue  # only a purged record has a deletion certificate
            if not probe.headers.get("content-type", "").startswith("text/html"):
                assert status == 200, (role, url, status)
                downloads.add(url)  # a file (certificate, CSV export), not a page
                continue
            answer = page.goto(live_server + url)
            assert answer is not None
            assert answer.status == status, (role, url, status)
            if status == 403:
                if "refused" not in axe.shot:
                    axe.shot.add("refused")
                    axe(page, "refused")
                continue
            assert status == 200, (role, url, status)
            opened[role].append(url)
            axe(page, f"{role.value} {url}", narrow=url in MAIN_LISTS)
        if role is Role.CLERK:
            _error_pages(page, live_server, values, axe)
        context.close()
    # The walk reached the pages, for the roles that may see them.
    record, request = values["record_id"][0], values["request_id"][0]
    for role in (Role.CLERK, Role.SUPERVISOR):
        assert f"/staff/records/{record}" in opened[role]
        assert f"/staff/requests/{request}" in opened[role]
        assert f"/staff/policy/enact/{sha}" in opened[role]
    assert "/staff/audit/" in opened[Role.AUDITOR]
    assert "/staff/holds/" in opened[Role.AUDITOR]
    assert "/staff/users/" in opened[Role.ADMIN]
    assert f"/staff/records/{purged}/certificate" in downloads
    assert len(axe.checked) > 40
    assert not axe.failures, "\n\n".join(axe.failures)


def _error_pages(page: Any, base: str, values: dict[str, list[str]], axe: Axe) -> None:
    """The pages a POST re-renders with its errors shown."""
    record = values["record_id"][0]
    # A review decision with no reason.
    page.goto(f"{base}/staff/records/{record}")
    page.locator("#review-form input[name=outcome]").first.check()
    with page.expect_navigation():
        page.locator("#review-form [type=submit]").click()
    assert page.locator(".field-error").count() > 0
    assert page.url.endswith("#review-form")  # the answer opens at the form, not the top
    axe(page, "error review without a reason")
    # A hold with a review date in the past, placed from the record page.
    page.goto(f"{base}/staff/records/{record}")
    page.locator("#place-hold summary").click()
    page.locator("#hold-reason").fill("Exhibit in a new appeal")
    page.locator("#hold-review-on").fill("2001-01-01")
    with page.expect_navigation():
        page.locator("#place-hold-form [type=submit]").click()
    assert page.locator(".field-error").count() > 0
    assert page.url.endswith("#place-hold")
    axe(page, "error hold with a past review date")
    # The same on the holds page.
    page.goto(f"{base}/staff/holds/")
    form = page.locator("form:has(#reason)").last
    form.locator("#reason").fill("Exhibit in a new appeal")
    form.locator('input[name="review_on"]').fill("2001-01-01")
    with page.expect_navigation():
        form.locator("[type=submit]").click()
    assert page.locator(".field-error").count() > 0
    axe(page, "error holds page with a past review date", narrow=True)
    # A rule pack that is not TOML.
    page.goto(f"{base}/staff/policy/")
    page.locator('input[name="pack"]').set_input_files(
        {"name": "broken.toml", "mimeType": "text/plain", "buffer": b"this is [not toml"}
    )
    with page.expect_navigation():
        page.locator('form[action$="/staff/policy/enact"] [type="submit"]').click()
    assert page.locator(".field-error").count() > 0
    axe(page, "error broken rule pack")
