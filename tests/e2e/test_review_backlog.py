"""A morning's review backlog cleared in a browser: 150 records in a handful of batch actions.

A clerk works the queue by its counts: every acquittal kept with one reason, every old MoPI
group 3 conviction put up for purging with another; the purges go beyond the records' rules, so
nothing is destroyed until a supervisor signs them off — in one more batch. The test counts the
page loads and form posts the browser made, and checks that each record was decided, audited
and (for the purges) confirmed on its own.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from retention.audit import chain as audit
from retention.db.models import AuditEntry, Certificate, ReviewDecision
from retention.jobs.sweep import run_sweep
from retention.services import Services
from tests.e2e.conftest import make_staff, screenshot, sign_in, sign_out
from tests.helpers import review_reason, row
from tests.integration.engine_helpers import ingest, review_due, state

pytestmark = pytest.mark.e2e

KEEP_WHY = "Acquittals checked: kept until the next periodic review"
PURGE_WHY = "Old group 3 convictions with no further policing purpose"
SIGN_OFF_WHY = "Checked the batch against the MoPI group 3 criteria"


def convicted_g3(booking: str) -> dict[str, str]:
    return row(
        booking_number=booking,
        outcome="convicted",
        legal_basis="conviction",
        mopi_group="3",
        arrest_date="2014-02-02",
        captured_at="2014-02-02T10:00:00+00:00",
        outcome_date="2014-05-01",
    )


def fits(page: Any) -> bool:
    """No horizontal scrolling at this window width."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_clerk_clears_150_reviews_in_a_few_batches_and_a_supervisor_signs_off_the_purges(
    playwright_browser: Any, live_server: str, services: Services, tmp_path: Path
) -> None:
    ids = ingest(
        services,
        tmp_path,
        [review_due(f"AQ-{n:03d}") for n in range(100)]
        + [convicted_g3(f"CV-{n:03d}") for n in range(50)],
    )
    kept = sorted(v for k, v in ids.items() if k.startswith("AQ-"))
    purged = sorted(v for k, v in ids.items() if k.startswith("CV-"))
    now = dt.datetime.now(dt.UTC)
    run_sweep(services, today=now.date(), clock=lambda: now, actor="scheduler")
    keep_rule = state(services, kept[0]).decision_rule
    purge_rule = state(services, purged[0]).decision_rule
    assert keep_rule
    assert purge_rule
    assert keep_rule != purge_rule
    clerk = make_staff(services, "clerk-ann", "clerk")
    supervisor = make_staff(services, "sup-bob", "supervisor")

    context = playwright_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    loads: list[tuple[str, str]] = []
    counting = False

    def seen(request: Any) -> None:
        if counting and request.resource_type == "document":
            loads.append((request.method, request.url.removeprefix(live_server)))

    page.on("request", seen)

    sign_in(page, live_server, clerk)
    counting = True
    page.locator("#nav-reviews").click()  # "Reviews" and the queue's count
    assert "The queue: 150 waiting" in page.inner_text("#counts-heading")
    assert fits(page)
    screenshot(page, "staff-reviews-backlog")
    # 1. The acquittals, from their count: keep all 100 with one reason.
    page.get_by_role("link", name=keep_rule, exact=True).click()
    assert page.get_attribute("#matching", "data-count") == "100"
    page.get_by_label("Decision", exact=True).select_option("keep")
    page.get_by_label("Reason (recorded with each record)").fill(KEEP_WHY)
    page.get_by_role("button", name="Decide all 100 matching this filter").click()
    assert "Decided (keep): 100 records." in page.inner_text(".flashes")
    # 2. The old convictions: purge all 50 — beyond their rule, so they wait for a supervisor.
    page.get_by_role("link", name=purge_rule, exact=True).click()
    assert page.get_attribute("#matching", "data-count") == "50"
    page.get_by_label("Decision", exact=True).select_option("purge")
    page.get_by_label("Reason (recorded with each record)").fill(PURGE_WHY)
    page.get_by_role("button", name="Decide all 50 matching this filter").click()
    assert "50 wait for a supervisor's sign-off" in page.inner_text(".flashes")
    counting = False
    assert all(state(services, r).status == "active" for r in purged)  # two people, not one
    sign_out(page)

    sign_in(page, live_server, supervisor)
    counting = True
    page.locator("#nav-reviews").click()  # "Reviews" and the queue's count
    page.get_by_role("link", name="50 waiting for a supervisor's sign-off").click()
    assert page.get_attribute("#matching", "data-count") == "50"
    assert fits(page)
    screenshot(page, "staff-reviews-sign-off")
    page.get_by_label("Reason (recorded with each record)").fill(SIGN_OFF_WHY)
    page.get_by_role("button", name="Confirm all 50 matching").click()
    assert "Confirmed: 50 records. 50 purged" in page.inner_text(".flashes")
    counting = False
    context.close()

    # A few page loads and posts for 150 records: 7 for the clerk, 4 for the supervisor.
    posts = [u for m, u in loads if m == "POST"]
    assert posts == ["/staff/reviews/decide", "/staff/reviews/decide", "/staff/reviews/sign-off"]
    assert len(loads) == 11, loads
    print(f"\n150 reviews cleared with {len(loads)} page requests ({len(posts)} form posts)")

    with services.readers() as db:
        entries = list(db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())
        decisions = list(db.execute(select(ReviewDecision)).scalars())
        certs = list(db.execute(select(Certificate)).scalars())
        assert audit.verify(db).ok
    per_record = Counter(
        (e.object_id, e.action, e.actor) for e in entries if e.object_id in ids.values()
    )
    # Each record audited once for its decision (and, for a purge, once for its destruction).
    for rid in kept:
        assert per_record[(rid, "review.decided", "clerk-ann")] == 1
        assert state(services, rid).review_queued_at is None
    for rid in purged:
        assert per_record[(rid, "review.purge_requested", "clerk-ann")] == 1
        assert per_record[(rid, "record.purged", "sup-bob")] == 1
        assert state(services, rid).status == "purged"
    review_entries = [e for e in entries if e.action.startswith("review.")]
    assert len(review_entries) == 150
    # The purged records' decisions went with their tombstones; the kept ones remain.
    assert Counter((d.decision, review_reason(services, d)) for d in decisions) == {
        ("keep", KEEP_WHY): 100,
    }
    assert not {d.record_id for d in decisions} & set(purged)
    assert sorted(c.record_id for c in certs) == purged
    assert {(c.body["reason"]["decided_by"], c.body["reason"]["confirmed_by"]) for c in certs} == {
        ("clerk-ann", "sup-bob")
    }
