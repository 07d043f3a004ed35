"""The dashboard tells the truth: overdue work is a warning, every number opens the list it
counts, and the navigation shows what waits for a person."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
import uuid
from typing import Any

from retention.db.models import (
    ApprovalState,
    HoldState,
    LegalHold,
    RecordStatus,
    Role,
    SecondApproval,
)
from retention.jobs import lease
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.integration.job_helpers import add_bare_record, add_job_run
from tests.web import html

TODAY = FIXED_NOW.date()
DAY = dt.timedelta(days=1)
RECORD_ROW = re.compile(r'<tr data-record-id="([0-9a-f]{32})"')


def _seed(services: Services) -> dict[str, str]:
    """Fresh machinery, and work of every kind the dashboard counts."""
    add_job_run(services, "sweep", started=FIXED_NOW - dt.timedelta(minutes=6), finished=FIXED_NOW)
    assert lease.acquire(services, "host:1:abc", FIXED_NOW, dt.timedelta(minutes=30))
    ids = {
        "overdue_purge": add_bare_record(services, next_action="purge", due=TODAY - 3 * DAY),
        "due_purge": add_bare_record(services, next_action="purge", due=TODAY),
        "due_restrict": add_bare_record(services, next_action="restrict", due=TODAY),
        "later": add_bare_record(services, next_action="purge", due=TODAY + 10 * DAY),
        "queued_late": add_bare_record(
            services,
            next_action="review",
            review_due_on=TODAY - 4 * DAY,
            review_queued_at=FIXED_NOW - 4 * DAY,
        ),
        "queued_fresh": add_bare_record(
            services, next_action="review", review_due_on=TODAY, review_queued_at=FIXED_NOW
        ),
        "purged": add_bare_record(services, status=RecordStatus.PURGED.value),
    }
    with services.sessions() as db, db.begin():
        db.add(
            LegalHold(
                id=uuid.uuid4().hex,
                record_id=ids["later"],
                kind="litigation",
                state=HoldState.PENDING.value,
                placed_by="clerk.a",
                placed_at=FIXED_NOW,
            )
        )
        db.add(
            SecondApproval(
                id=uuid.uuid4().hex,
                subject_type="record",
                subject_id=ids["queued_fresh"],
                action="review.purge",
                state=ApprovalState.PENDING.value,
                details={},
                requested_by="clerk.a",
                requested_at=FIXED_NOW,
            )
        )
    return ids


def _links(page: str) -> dict[str, tuple[str, int]]:
    """``id -> (href, number)`` of every dashboard number with an id."""
    found = re.findall(r'<a href="([^"]+)" id="([^"]+)" class="count-link">(\d+)</a>', page)
    return {ident: (htmllib.unescape(href), int(n)) for href, ident, n in found}


def test_overdue_reviews_make_the_dashboard_warn_instead_of_saying_healthy(
    signed_in: Any, services: Services
) -> None:
    _seed(services)
    page = html(signed_in(Role.CLERK).get("/staff/"))
    assert "Healthy" not in page
    assert 'id="health-verdict">Needs attention' in page
    assert "1 disposition reviews are more than a day overdue" in page
    assert "1 due actions are more than a day overdue (purge=1)" in page


def test_every_number_links_to_the_list_it_counts(signed_in: Any, services: Services) -> None:
    ids = _seed(services)
    clerk = signed_in(Role.CLERK)
    page = html(clerk.get("/staff/"))
    links = _links(page)
    expected_rows = {
        "due-purge": {ids["overdue_purge"], ids["due_purge"]},
        "due-restrict": {ids["due_restrict"]},
        "overdue-purge": {ids["overdue_purge"]},
        "review-queue": {ids["queued_late"], ids["queued_fresh"]},
        "review-queue-overdue": {ids["queued_late"]},
    }
    for ident, rows in expected_rows.items():
        href, number = links[ident]
        assert number == len(rows), ident
        listed = clerk.get(href)
        assert listed.status_code == 200, href
        assert set(RECORD_ROW.findall(html(listed))) == rows, ident
    assert links["review-queue-overdue"][0].endswith("/staff/reviews/?age=overdue&stage=all")
    assert links["holds-pending"] == ("/staff/holds/?state=pending", 1)
    assert links["second-reviews"] == ("/staff/reviews/?stage=sign_off", 1)
    assert links["second-requests"][0] == "/staff/requests/?state=confirming"
    assert links["requests-overdue"][0] == "/staff/requests/?state=open&overdue=1"
    # Every linked number on the page opens a page the clerk may see.
    every = re.findall(r'<a href="([^"]+)"[^>]*class="count-link">', page)
    assert len(every) >= 30
    for href in set(every):
        assert clerk.get(htmllib.unescape(href)).status_code == 200, href
    # Records by legal basis and status: the cell's link lists exactly those records.
    purged = re.search(r'data-basis="arrest" data-status="purged"><a href="([^"]+)"', page)
    assert purged is not None
    assert set(RECORD_ROW.findall(html(clerk.get(htmllib.unescape(purged.group(1)))))) == {
        ids["purged"]
    }


def test_the_navigation_counts_reviews_pending_holds_and_second_person_decisions(
    signed_in: Any, services: Services
) -> None:
    _seed(services)
    for role in (Role.CLERK, Role.SUPERVISOR):
        page = html(signed_in(role).get("/staff/records/"))
        assert re.search(r'id="nav-reviews">Reviews <span class="nav-count">2</span>', page)
        assert re.search(
            r'id="nav-holds">Holds <span class="nav-count"[^>]*>1 pending</span>', page
        )
        assert re.search(r'id="nav-second">Second person <span class="nav-count">1</span>', page)
    # Auditors cannot open the review queue, holds or requests: no such links or counts.
    auditor = html(signed_in(Role.AUDITOR).get("/staff/"))
    assert 'id="nav-reviews"' not in auditor
    assert "/staff/reviews/" not in auditor
    assert "/staff/requests/" not in auditor
    assert re.search(r'<span id="review-queue">2</span>', auditor)
