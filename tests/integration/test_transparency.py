"""The public transparency report: its figures equal counts made independently from what the
test put in, no count under 5 is ever shown, and the page, the CSV and ``mugshot report`` agree.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from retention.audit import chain as audit
from retention.cli.main import cli
from retention.db.models import Record, RemovalRequest, TransparencyMonth
from retention.engine import transparency
from retention.engine.transparency import FEWER
from retention.services import Services
from tests.helpers import backend_env
from web.app import create_app

MONTH = dt.date(2026, 10, 1)
AFTER = dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
# Agencies carry a marker the report must never show (it publishes counts only).
MARKER = "SECRET-AGENCY-"


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


@dataclass
class Ledger:
    """What the test put in, kept in plain Python: the independent count."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[tuple[str, str, dt.date, dt.date]] = field(default_factory=list)
    disposals: list[tuple[str, str, str | None, str, dt.date]] = field(default_factory=list)
    holds: list[tuple[str, dt.date]] = field(default_factory=list)

    def in_month(self, day: dt.date) -> bool:
        return MONTH <= day < AFTER


def _record(db: Session, jurisdiction: str) -> str:
    rid = uuid.uuid4().hex
    db.add(
        Record(
            id=rid,
            agency=f"{MARKER}{rid[:6]}",
            booking_bidx=rid * 2,
            jurisdiction=jurisdiction,
            holder="law_enforcement",
            data_kind="booking_photo",
            outcome="dismissed",
            legal_basis="arrest",
            status="active",
            created_at=NOW,
            updated_at=NOW,
        )
    )
    db.flush()
    return rid


def _request(
    db: Session,
    ledger: Ledger,
    jurisdiction: str,
    received: dt.date,
    *,
    respond_by: dt.date | None = None,
    decision: str | None = None,
    decided: dt.datetime | None = None,
    state: str | None = None,
    info_requested_on: dt.date | None = None,
) -> str:
    rid = uuid.uuid4().hex
    final = {"approved": "request.approved", "denied": "request.denied"}
    db.add(
        RemovalRequest(
            id=rid,
            reference_sha256=hashlib.sha256(rid.encode()).hexdigest(),
            kind="erasure",
            jurisdiction=jurisdiction,
            grounds=["dismissed"],
            state=state or decision or "received",
            received_on=received,
            respond_by=respond_by,
            info_requested_on=info_requested_on,
            decided_at=decided,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    db.flush()
    ledger.requests.append(
        {
            "jurisdiction": jurisdiction,
            "received": received,
            "respond_by": respond_by,
            "decided": decided.date() if decided else None,
            "final": decision is not None,
            "paused": state == "needs_info"
            and info_requested_on is not None
            and respond_by is not None
            and info_requested_on <= respond_by,
        }
    )
    if decision is not None:
        assert decided is not None
        audit.append(
            db,
            now=decided,
            actor="clerk.a",
            action=final[decision],
            object_type="request",
            object_id=rid,
            details={"from": "under_review"},
        )
        ledger.decisions.append((jurisdiction, decision, received, decided.date()))
    return rid


def _dispose(
    db: Session,
    ledger: Ledger,
    jurisdiction: str,
    how: str,
    day: dt.date,
    rule: str | None = None,
) -> None:
    record = _record(db, jurisdiction)
    at = _at(day, 3)
    action, details, basis, kind = {
        "sweep-purge": ("record.purged", {"request_reference": None}, "rule", "purged"),
        "request-purge": ("record.purged", {"request_reference": "r1"}, "request", "purged"),
        "review-purge": ("record.purged", {"request_reference": None}, "review", "purged"),
        "sweep-restrict": ("record.restricted", {"purposes": []}, "rule", "restricted"),
        "request-restrict": ("record.restricted", {"request_id": "r1"}, "request", "restricted"),
        "review-restrict": ("review.decided", {"decision": "restrict"}, "review", "restricted"),
        "review-keep": ("review.decided", {"decision": "keep"}, "", ""),
    }[how]
    audit.append(
        db,
        now=at,
        actor="sweep",
        action=action,
        object_type="record",
        object_id=record,
        rule=None if how == "review-purge" else rule,
        details=details,
    )
    if basis:
        ledger.disposals.append(
            (jurisdiction, basis, None if basis == "review" else rule, kind, day)
        )


def _hold(db: Session, ledger: Ledger, jurisdiction: str, day: dt.date) -> None:
    """A hold placed that day, as ``changes.place_hold`` audits it (the report counts the audit
    log, which a purge's tombstone never shrinks)."""
    audit.append(
        db,
        now=_at(day),
        actor="clerk.a",
        action="hold.placed",
        object_type="hold",
        object_id=uuid.uuid4().hex,
        details={"record_id": _record(db, jurisdiction), "kind": "litigation"},
    )
    ledger.holds.append((jurisdiction, day))


def _seed(services: Services, seed: int = 7) -> Ledger:
    """A month of activity in two jurisdictions (one busy, one quiet), and activity in the
    months either side that must not count."""
    rng = random.Random(seed)
    ledger = Ledger()

    def day_in(first: dt.date, last: dt.date) -> dt.date:
        return first + dt.timedelta(days=rng.randrange((last - first).days + 1))

    with services.sessions() as db, db.begin():
        for jurisdiction, busy in (("US-CA", True), ("GB-ENG", False)):
            scale = 1 if busy else 0
            # Received in the month, some decided in it, some later, some never.
            for _ in range(9 if busy else 2):
                received = day_in(MONTH, dt.date(2026, 10, 20))
                decided = received + dt.timedelta(days=rng.randrange(0, 12))
                kind = rng.choice(["approved", "approved", "denied", None])
                _request(
                    db,
                    ledger,
                    jurisdiction,
                    received,
                    respond_by=received + dt.timedelta(days=30),
                    decision=kind,
                    decided=_at(decided) if kind else None,
                )
            # Received before the month, decided in it (counts as a decision, not received).
            for _ in range(6 * scale + 1):
                received = day_in(dt.date(2026, 8, 1), dt.date(2026, 9, 30))
                decided = day_in(MONTH, dt.date(2026, 10, 31))
                _request(
                    db,
                    ledger,
                    jurisdiction,
                    received,
                    respond_by=received + dt.timedelta(days=28),
                    decision=rng.choice(["approved", "denied"]),
                    decided=_at(decided),
                )
            # Deadlines in the month: missed (open, late) or met, or paused in time.
            for _ in range(5 * scale + 1):
                received = dt.date(2026, 9, 10)
                _request(db, ledger, jurisdiction, received, respond_by=dt.date(2026, 10, 9))
            _request(
                db,
                ledger,
                jurisdiction,
                dt.date(2026, 9, 12),
                respond_by=dt.date(2026, 10, 12),
                decision="approved",
                decided=_at(dt.date(2026, 10, 12), 23),  # on the deadline day: in time
            )
            _request(
                db,
                ledger,
                jurisdiction,
                dt.date(2026, 9, 12),
                respond_by=dt.date(2026, 10, 12),
                state="needs_info",
                info_requested_on=dt.date(2026, 10, 1),
            )
            # Outside the month on both sides.
            _request(
                db,
                ledger,
                jurisdiction,
                dt.date(2026, 11, 2),
                respond_by=dt.date(2026, 12, 2),
                decision="denied",
                decided=_at(dt.date(2026, 11, 3)),
            )
            _request(
                db,
                ledger,
                jurisdiction,
                dt.date(2026, 9, 2),
                respond_by=dt.date(2026, 9, 30),
                decision="approved",
                decided=_at(dt.date(2026, 9, 29)),
            )
            # Disposals: by rule (with a real rule of the pack), by request, by review.
            rule = "pc851-8-destroy" if jurisdiction == "US-CA" else "s54-respond"
            seal = "pc851-8-seal" if jurisdiction == "US-CA" else None
            plan = {
                "sweep-purge": 8 * scale + 1,
                "request-purge": 5 * scale,
                "review-purge": 2,
                "sweep-restrict": 3,
                "request-restrict": 1,
                "review-restrict": 6 * scale,
                "review-keep": 4,
            }
            for how, count in plan.items():
                for _ in range(count):
                    chosen = seal if how == "sweep-restrict" else rule
                    _dispose(
                        db, ledger, jurisdiction, how, day_in(MONTH, dt.date(2026, 10, 31)), chosen
                    )
            _dispose(db, ledger, jurisdiction, "sweep-purge", dt.date(2026, 9, 30), rule)
            _dispose(db, ledger, jurisdiction, "sweep-purge", dt.date(2026, 11, 1), rule)
            for _ in range(6 * scale + 2):
                _hold(db, ledger, jurisdiction, day_in(MONTH, dt.date(2026, 10, 31)))
            _hold(db, ledger, jurisdiction, dt.date(2026, 11, 1))
    return ledger


def _publish(n: int) -> int | str:
    return n if n >= 5 else FEWER


def _rank(days: list[int], share: float) -> int:
    ordered = sorted(days)
    index = -(-len(ordered) * share // 1)  # ceil
    return ordered[max(1, int(index)) - 1]


def expected(ledger: Ledger) -> dict[str, Any]:
    """The report, computed from the ledger without SQL."""
    jurisdictions = sorted(
        {r["jurisdiction"] for r in ledger.requests} | {h[0] for h in ledger.holds}
    )
    rows = []
    for j in jurisdictions:
        received = sum(
            1 for r in ledger.requests if r["jurisdiction"] == j and ledger.in_month(r["received"])
        )
        decided = [d for d in ledger.decisions if d[0] == j and ledger.in_month(d[3])]
        days = [(d[3] - d[2]).days for d in decided]
        missed = sum(
            1
            for r in ledger.requests
            if r["jurisdiction"] == j
            and r["respond_by"] is not None
            and ledger.in_month(r["respond_by"])
            and not (r["final"] and r["decided"] <= r["respond_by"])
            and not r["paused"]
        )
        holds = sum(1 for h in ledger.holds if h[0] == j and ledger.in_month(h[1]))
        if not (received or decided or missed or holds):
            continue
        rows.append(
            {
                "jurisdiction": j,
                "received": _publish(received),
                "granted": _publish(sum(1 for d in decided if d[1] == "approved")),
                "refused": _publish(sum(1 for d in decided if d[1] == "denied")),
                "median_days_to_decision": _rank(days, 0.5) if len(days) >= 5 else None,
                "p90_days_to_decision": _rank(days, 0.9) if len(days) >= 5 else None,
                "deadlines_missed": _publish(missed),
                "holds_placed": _publish(holds),
            }
        )
    cells: dict[tuple[str, str, str | None], dict[str, int]] = {}
    for j, basis, rule, kind, day in ledger.disposals:
        if ledger.in_month(day):
            cell = cells.setdefault((j, basis, rule), {"purged": 0, "restricted": 0})
            cell[kind] += 1
    disposals = [
        {
            "jurisdiction": j,
            "basis": b,
            "rule": r,
            "purged": _publish(c["purged"]),
            "restricted": _publish(c["restricted"]),
        }
        for (j, b, r), c in sorted(
            cells.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
        )
    ]
    return {"requests": rows, "disposals": disposals}


def _without_citations(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "requests": doc["requests"],
        "disposals": [{k: v for k, v in d.items() if k != "citation"} for d in doc["disposals"]],
    }


def test_the_report_equals_counts_made_independently_and_hides_small_counts(
    services: Services,
) -> None:
    ledger = _seed(services)
    want = expected(ledger)
    # The data set exercises both sides of the threshold.
    flat = json.dumps(want)
    assert FEWER in flat
    assert re.search(r'"received": (\d{1,})', flat)
    with services.sessions() as db, db.begin():
        report = transparency.month_report(db, MONTH, now=NOW)
    doc = report.to_json()
    assert doc["month"] == "2026-10"
    assert _without_citations(doc) == want
    ca_rule = next(
        d for d in doc["disposals"] if d["rule"] == "pc851-8-destroy" and d["basis"] == "rule"
    )
    assert ca_rule["purged"] == 9
    assert "851.8" in ca_rule["citation"]
    review = next(d for d in doc["disposals"] if d["basis"] == "review")
    assert (review["rule"], review["citation"]) == (None, None)
    _assert_no_small_count(doc)


def _assert_no_small_count(doc: dict[str, Any]) -> None:
    for row in doc["requests"]:
        for key in ("received", "granted", "refused", "deadlines_missed", "holds_placed"):
            assert row[key] == FEWER or row[key] >= 5, (row, key)
    for row in doc["disposals"]:
        for key in ("purged", "restricted"):
            assert row[key] == FEWER or row[key] >= 5, (row, key)


def test_the_page_the_csv_and_mugshot_report_publish_the_same_figures(
    services: Services,
) -> None:
    ledger = _seed(services)
    want = expected(ledger)
    app = create_app(services=services, clock=lambda: NOW, config={"TESTING": True})
    client = app.test_client()

    page = client.get("/transparency")  # defaults to the last complete month: 2026-10
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "October 2026" in body
    assert MARKER not in body
    for row in want["requests"]:
        tr = re.search(rf'<tr data-jurisdiction="{row["jurisdiction"]}">(.*?)</tr>', body, re.S)
        assert tr is not None
        for cell, key in (
            ("received", "received"),
            ("granted", "granted"),
            ("refused", "refused"),
            ("missed", "deadlines_missed"),
            ("holds", "holds_placed"),
        ):
            shown = re.search(rf'data-cell="{cell}">(.*?)</td>', tr.group(1), re.S)
            assert shown is not None
            text = re.sub(r"<[^>]+>", "", shown.group(1)).strip()
            assert text == str(row[key]), (row["jurisdiction"], cell)
    # Every number in a count cell of the page is 5 or more.
    for cell in re.findall(
        r'data-cell="(?:received|granted|refused|missed|holds|purged|restricted)">([^<]*)<',
        body,
    ):
        assert not cell.strip() or int(cell) >= 5

    download = client.get("/transparency.csv?month=2026-10")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert "transparency-2026-10.csv" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    by_j = {r["jurisdiction"]: r for r in rows if r["table"] == "requests"}
    for row in want["requests"]:
        got = by_j[row["jurisdiction"]]
        assert got["requests_received"] == str(row["received"])
        assert got["requests_granted"] == str(row["granted"])
        assert got["deadlines_missed"] == str(row["deadlines_missed"])
        assert got["median_days_to_decision"] == (
            "" if row["median_days_to_decision"] is None else str(row["median_days_to_decision"])
        )
    for r in rows:
        for key in (
            "requests_received",
            "requests_granted",
            "requests_refused",
            "deadlines_missed",
            "holds_placed",
            "records_purged",
            "records_restricted",
        ):
            assert r[key] in ("", FEWER) or int(r[key]) >= 5
    assert MARKER not in download.get_data(as_text=True)

    env = {**backend_env(services.settings), "MUGSHOT_ACTOR": "test:cli"}
    out = CliRunner().invoke(cli, ["report", "--month", "2026-10", "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert _without_citations(json.loads(out.output)) == {**want}
    text = CliRunner().invoke(cli, ["report", "--month", "2026-10"], env=env)
    assert text.exit_code == 0
    assert "Transparency report 2026-10" in text.output
    assert "US-CA: received 9" in text.output


def test_only_months_that_are_over_are_published(services: Services) -> None:
    app = create_app(services=services, clock=lambda: NOW, config={"TESTING": True})
    client = app.test_client()
    assert client.get("/transparency?month=2026-11").status_code == 404
    assert client.get("/transparency?month=2026-13").status_code == 404
    assert client.get("/transparency.csv?month=nonsense").status_code == 404
    empty = client.get("/transparency?month=2020-01")
    assert empty.status_code == 200
    assert "No request was received" in empty.get_data(as_text=True)
    with pytest.raises(transparency.ReportError, match="months that are over"):
        transparency.parse_month("2026-11", NOW.date())
    with pytest.raises(transparency.ReportError, match="YYYY-MM"):
        transparency.parse_month("Oct 2026", NOW.date())
    env = {**backend_env(services.settings), "MUGSHOT_ACTOR": "test:cli"}
    future = CliRunner().invoke(cli, ["report", "--month", "2999-01"], env=env)
    assert future.exit_code == 2
    assert "months that are over" in future.output


def test_a_closed_month_is_kept_once_and_only_refresh_recounts_it(services: Services) -> None:
    ledger = _seed(services)
    want = expected(ledger)
    # On the first day after the month, nothing is kept: a transaction may still be committing.
    with services.sessions() as db, db.begin():
        early = transparency.month_report(db, MONTH, now=_at(AFTER, 12))
        assert db.get(TransparencyMonth, MONTH) is None
    assert _without_citations(early.to_json()) == want
    with services.sessions() as db, db.begin():
        transparency.month_report(db, MONTH, now=NOW)
    with services.readers() as db:
        kept = db.get(TransparencyMonth, MONTH)
        assert kept is not None
        assert kept.figures["holds"]["US-CA"] == 8
        assert "SECRET" not in json.dumps(kept.figures)
    # An event stamped inside the closed month (which the application never writes: entries
    # carry the time they are written) does not change the kept figures...
    with services.sessions() as db, db.begin():
        for _ in range(5):
            _dispose(db, ledger, "US-CA", "sweep-purge", dt.date(2026, 10, 15), "pc851-8-destroy")
    with services.sessions() as db, db.begin():
        again = transparency.month_report(db, MONTH, now=NOW)
    assert _without_citations(again.to_json()) == want
    # ...until someone asks for a recount.
    env = {**backend_env(services.settings), "MUGSHOT_ACTOR": "test:cli"}
    out = CliRunner().invoke(cli, ["report", "--month", "2026-10", "--json", "--refresh"], env=env)
    assert out.exit_code == 0, out.output
    assert _without_citations(json.loads(out.output)) == expected(ledger) != want
    # The counts that may still move (received, deadlines missed) are always live.
    with services.sessions() as db, db.begin():
        for _ in range(5):
            _request(db, ledger, "GB-ENG", dt.date(2026, 10, 3))
    with services.sessions() as db, db.begin():
        live = transparency.month_report(db, MONTH, now=NOW).to_json()
    gb = next(r for r in live["requests"] if r["jurisdiction"] == "GB-ENG")
    assert gb["received"] == 7
