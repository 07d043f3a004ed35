"""Staff review queue in batches: counts, filters, one decision for many records, sign-off,
assignment; roles, CSRF and the "all N matching" guard."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from retention.db.models import Record, ReviewDecision, Role, SecondApproval
from retention.jobs.sweep import run_sweep
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import review_reason, row
from tests.integration.engine_helpers import TODAY, ingest, review_due, state
from tests.web import audit_rows, csrf_token, html, post_form, walk_pages
from tests.web.conftest import SignedIn

ROW_ID = re.compile(r'data-record-id="([0-9a-f]{32})"')
MATCHING = re.compile(r'id="matching" role="status" data-count="(\d+)"')
WHY = "Quarterly review of acquittals past their period"


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Three rows a page: the batch must reach records on pages never shown."""
    return {"MUGSHOT_STAFF_PAGE_SIZE": 3}


@pytest.fixture
def queue(services: Services, tmp_path: Path) -> dict[str, list[str]]:
    """Five acquittals and two old MoPI group 3 convictions, queued by the sweep."""
    convicted = {
        "outcome": "convicted",
        "legal_basis": "conviction",
        "mopi_group": "3",
        "arrest_date": "2014-02-02",
        "captured_at": "2014-02-02T10:00:00+00:00",
        "outcome_date": "2014-05-01",
    }
    ids = ingest(
        services,
        tmp_path,
        [review_due(f"AQ-{n}") for n in range(5)]
        + [row(booking_number=f"CV-{n}", **convicted) for n in range(2)],
    )
    run_sweep(services, today=TODAY, clock=lambda: FIXED_NOW, actor="test", confirmed_by="s")
    return {
        "acquitted": sorted(v for k, v in ids.items() if k.startswith("AQ-")),
        "convicted": sorted(v for k, v in ids.items() if k.startswith("CV-")),
    }


def rule_of(services: Services, record_id: str) -> str:
    rule = state(services, record_id).decision_rule
    assert rule is not None
    return rule


def test_only_clerks_and_supervisors_see_the_queue_and_only_supervisors_sign_off(
    app: Flask, signed_in: SignedIn, services: Services, queue: dict[str, list[str]]
) -> None:
    for role in (Role.AUDITOR, Role.ADMIN):
        client = signed_in(role)
        assert client.get("/staff/reviews/").status_code == 403
        token = csrf_token(client.get("/staff/home").data)
        for action in ("decide", "sign-off", "assign"):
            assert (
                client.post(f"/staff/reviews/{action}", data={"csrf_token": token}).status_code
                == 403
            )
    assert app.test_client().get("/staff/reviews/").status_code == 302
    clerk = signed_in(Role.CLERK)
    assert clerk.get("/staff/reviews/").status_code == 200
    # No token, no decision.
    response = clerk.post(
        "/staff/reviews/decide",
        data={"outcome": "keep", "reason": WHY, "record_id": queue["acquitted"][0]},
    )
    assert response.status_code == 400
    response = post_form(
        clerk,
        "/staff/reviews/",
        {"decision": "confirm", "reason": WHY, "record_id": queue["acquitted"][0]},
        action="/staff/reviews/sign-off",
    )
    assert response.status_code == 403
    assert not [e for e in audit_rows(services) if e.action.startswith("review.")]


def test_the_page_counts_the_queue_and_every_count_links_to_its_cut(
    signed_in: SignedIn, services: Services, queue: dict[str, list[str]]
) -> None:
    clerk = signed_in(Role.CLERK)
    page = html(clerk.get("/staff/reviews/"))
    assert "The queue: 7 waiting" in page
    assert MATCHING.search(page).group(1) == "7"  # type: ignore[union-attr]
    acquittal = rule_of(services, queue["acquitted"][0])
    links = [unescape(u) for u in re.findall(r'href="(/staff/reviews/\?[^"]+)"', page)]
    assert any(parse_qs(urlsplit(u).query).get("rule") == [acquittal] for u in links)
    cut = f"/staff/reviews/?rule={acquittal}"
    assert MATCHING.search(html(clerk.get(cut))).group(1) == "5"  # type: ignore[union-attr]
    assert sorted(walk_pages(clerk, cut, ROW_ID)) == queue["acquitted"]
    assert MATCHING.search(html(clerk.get("/staff/reviews/?jurisdiction=US-CA"))).group(1) == "0"  # type: ignore[union-attr]
    for bad in ("age=forever", "stage=later", f"rule={'x' * 200}"):
        assert clerk.get(f"/staff/reviews/?{bad}").status_code == 400, bad


def test_all_matching_decides_records_beyond_the_page_each_audited_once(
    signed_in: SignedIn, services: Services, queue: dict[str, list[str]]
) -> None:
    clerk = signed_in(Role.CLERK)
    acquittal = rule_of(services, queue["acquitted"][0])
    cut = f"/staff/reviews/?rule={acquittal}"
    form = {"outcome": "keep", "reason": WHY, "scope": "all", "f_rule": acquittal}
    # The page said 4, the queue holds 5: nothing is done.
    stale = post_form(clerk, cut, {**form, "expected": "4"}, action="/staff/reviews/decide")
    assert stale.status_code == 400
    assert "The queue changed since the page was shown: 5 records match" in html(stale)
    assert not [e for e in audit_rows(services) if e.action == "review.decided"]
    # A reason that says nothing is refused next to the field.
    poor = post_form(
        clerk, cut, {**form, "expected": "5", "reason": "ok"}, action="/staff/reviews/decide"
    )
    assert poor.status_code == 400
    assert 'id="reason-error"' in html(poor)
    done = post_form(clerk, cut, {**form, "expected": "5"}, action="/staff/reviews/decide")
    assert done.status_code == 303
    back = urlsplit(done.headers["Location"])
    assert (back.path, parse_qs(back.query)) == (
        "/staff/reviews/",
        {"rule": [acquittal], "stage": ["decide"]},
    )
    decided = [e.object_id for e in audit_rows(services) if e.action == "review.decided"]
    assert sorted(decided) == queue["acquitted"]
    with services.readers() as db:
        rows = list(db.execute(select(ReviewDecision)).scalars())
    assert sorted(r.record_id for r in rows) == queue["acquitted"]
    assert {(r.decision, review_reason(services, r), r.decided_by) for r in rows} == {
        ("keep", WHY, "clerk1")
    }
    after = html(clerk.get("/staff/reviews/"))
    assert "Decided (keep): 5 records." in after
    assert MATCHING.search(after).group(1) == "2"  # type: ignore[union-attr]


def test_ticked_purges_wait_and_a_second_supervisor_confirms_them_all(
    signed_in: SignedIn, services: Services, queue: dict[str, list[str]]
) -> None:
    ids = queue["convicted"]
    first = signed_in(Role.SUPERVISOR)  # supervisor1 decides; supervisor2 signs off
    response = post_form(
        first,
        "/staff/reviews/",
        {"outcome": "purge", "reason": WHY, "scope": "selected", "record_id": ids},
        action="/staff/reviews/decide",
    )
    assert response.status_code == 303
    assert all(state(services, i).status == "active" for i in ids)
    waiting_page = html(first.get("/staff/reviews/?stage=sign_off"))
    assert sorted(ROW_ID.findall(waiting_page)) == ids
    assert "purge by supervisor1" in waiting_page
    # The decider cannot sign off their own decisions.
    own = post_form(
        first,
        "/staff/reviews/?stage=sign_off",
        {"decision": "confirm:all", "reason": WHY, "expected": "2", "f_stage": "sign_off"},
        action="/staff/reviews/sign-off",
    )
    assert own.status_code == 303
    assert "2 not done" in html(first.get("/staff/reviews/"))
    assert all(state(services, i).status == "active" for i in ids)
    second = signed_in(Role.SUPERVISOR)
    confirmed = post_form(
        second,
        "/staff/reviews/?stage=sign_off",
        {"decision": "confirm:all", "reason": WHY, "expected": "2", "f_stage": "sign_off"},
        action="/staff/reviews/sign-off",
    )
    assert confirmed.status_code == 303
    assert all(state(services, i).status == "purged" for i in ids)
    # Per record: the first person's request, then one purge by the second, nothing else.
    trail = [(e.action, e.actor) for e in audit_rows(services) if e.object_id == ids[0]]
    assert trail[-2:] == [
        ("review.purge_requested", "supervisor1"),
        ("record.purged", "supervisor2"),
    ]
    purges = [e.object_id for e in audit_rows(services) if e.action == "record.purged"]
    assert sorted(purges) == ids
    with services.readers() as db:
        approvals = list(db.execute(select(SecondApproval)).scalars())
    # Confirmed, then destroyed with the record: the tombstone keeps no second approval (the
    # audit trail above and the certificates name both people).
    assert approvals == []


def test_a_clerk_takes_reviews_and_the_filter_finds_them(
    signed_in: SignedIn, services: Services, queue: dict[str, list[str]]
) -> None:
    clerk = signed_in(Role.CLERK)
    mine = queue["acquitted"][:2]
    response = post_form(
        clerk,
        "/staff/reviews/",
        {"assignee": "me", "scope": "selected", "record_id": mine},
        action="/staff/reviews/assign",
    )
    assert response.status_code == 303
    assert sorted(ROW_ID.findall(html(clerk.get("/staff/reviews/?assignee=me")))) == mine
    with services.readers() as db:
        assignees = dict(db.execute(select(Record.id, Record.review_assignee)).all())
    assert {i for i, a in assignees.items() if a == "clerk1"} == set(mine)
    # A clerk does not hand reviews to someone else.
    other = signed_in(Role.CLERK)
    refused = post_form(
        other,
        "/staff/reviews/",
        {"assignee": "none", "scope": "selected", "record_id": mine},
        action="/staff/reviews/assign",
    )
    assert refused.status_code == 303
    assert "2 not done" in html(other.get("/staff/reviews/"))
    assert [e.details for e in audit_rows(services) if e.action == "review.assigned"] == [
        {"to": "clerk1", "from": None}
    ] * 2


def test_nothing_ticked_is_refused_on_the_page(
    signed_in: SignedIn, services: Services, queue: dict[str, list[str]]
) -> None:
    clerk: FlaskClient = signed_in(Role.CLERK)
    response = post_form(
        clerk,
        "/staff/reviews/",
        {"outcome": "keep", "reason": WHY, "scope": "selected"},
        action="/staff/reviews/decide",
    )
    assert response.status_code == 400
    assert "Tick at least one record" in html(response)
