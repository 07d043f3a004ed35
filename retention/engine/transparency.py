"""The public transparency report: one month's removal requests, destructions and holds, per
jurisdiction, with small counts suppressed.

Layer: ``retention.engine``. Imports ``retention.db`` and ``policies`` only; no Flask. The web page
(``web.transparency``), its CSV and ``mugshot report --month`` all render the one ``MonthReport``
built here, so they cannot disagree.

What is counted, for a calendar month (UTC) that is over:

- **requests received**: removal requests whose ``received_on`` falls in the month;
- **granted / refused**: ``request.approved`` / ``request.denied`` entries of the audit log in
  the month (the final decision: an approval waiting for its second person counts when
  confirmed); **days to decision** is the calendar days from receipt to that entry — median and
  90th percentile by the nearest-rank method ("90 % of decisions took at most this many days");
- **deadlines missed**: requests whose response deadline fell in the month and that were not
  decided on or before it (paused while the requester was asked for information before the
  deadline does not count);
- **records purged / restricted by rule**: ``record.purged``, ``record.restricted`` and
  restricting ``review.decided`` entries in the month, split by why — the record's retention
  rule (with its citation), a granted removal request, or a disposition review;
- **holds placed**: legal holds placed in the month.

Every figure is an aggregate query (``COUNT ... GROUP BY``) over ids, states, dates, rule names
and jurisdictions. Nothing here reads a sealed field, a blind index, a booking number or any
free text: the report cannot leak identity because it never touches it.

**Small counts.** A count from 0 to 4 is published as "fewer than 5" (``SMALL``); percentiles
are published only over 5 decisions or more. Suppressing a cell is not enough if another
published figure lets a reader work it out by subtraction, so the report publishes **no totals
and no sums**: no all-jurisdictions row, no per-jurisdiction total of purges over rules, no
"decided" next to granted and refused, no year-to-date. Every published cell counts a different
set of events, none is the sum or difference of others, so no suppressed count can be recovered
by differencing cells. Only months that are over are published: a month in progress would
change between two readings, and the difference between two readings a day apart can reveal a
single decision. Because the events come from the append-only audit log (and receipt dates and
placements never change), a closed month's figures do not change either — with one exception,
noted: a deadline that moves after it passed (information asked for late) moves its request
between months.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Date, and_, case, cast, delete, func, literal, not_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from policies.registry import bundled_packs
from retention.db.models import (
    AuditEntry,
    Record,
    RemovalRequest,
    RequestState,
    TransparencyMonth,
)
from retention.engine.decisions import PackResolver
from retention.errors import RetentionError

SMALL = 5
FEWER = "fewer than 5"
_MONTH = re.compile(r"(\d{4})-(\d{2})")
GRANTED = "request.approved"
REFUSED = "request.denied"
PURGED = "record.purged"
RESTRICTED = "record.restricted"
REVIEWED = "review.decided"
FINAL = (RequestState.APPROVED.value, RequestState.COMPLETED.value, RequestState.DENIED.value)
# A month's figures are kept only once it has been over this long (transactions are short; one
# open across midnight has committed by then).
SETTLE = dt.timedelta(days=1)
BASES = {
    "rule": "retention rule",
    "request": "removal request granted",
    "review": "disposition review",
}


class ReportError(RetentionError):
    """The month asked for is malformed or not over yet."""


def parse_month(text: str, today: dt.date) -> dt.date:
    """``YYYY-MM`` as the first day of that month; it must be over (before ``today``'s month)."""
    match = _MONTH.fullmatch(text.strip())
    if not match:
        raise ReportError(f"month {text!r}: write it as YYYY-MM, e.g. 2026-03")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1970:
        raise ReportError(f"month {text!r}: no such month")
    first = dt.date(year, month, 1)
    if first >= today.replace(day=1):
        raise ReportError(
            f"month {text}: the report covers months that are over; the latest is "
            f"{last_complete_month(today):%Y-%m}"
        )
    return first


def last_complete_month(today: dt.date) -> dt.date:
    """The first day of the month before ``today``'s."""
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def recent_months(today: dt.date, count: int = 12) -> list[dt.date]:
    """The last ``count`` complete months, latest first."""
    months = [last_complete_month(today)]
    while len(months) < count:
        months.append((months[-1] - dt.timedelta(days=1)).replace(day=1))
    return months


def _next_month(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1)


def published(count: int) -> int | None:
    """A count as published: itself from ``SMALL`` up, else ``None`` ("fewer than 5")."""
    return count if count >= SMALL else None


def shown(value: int | None) -> str:
    """A published count as text."""
    return FEWER if value is None else str(value)


def nearest_rank(histogram: Mapping[int, int], share: float) -> int | None:
    """The smallest value at or below which ``share`` of the observations lie (nearest rank)."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class JurisdictionCounts:
    """Exact counts for one jurisdiction and month (never published as they are)."""

    received: int = 0
    granted: int = 0
    refused: int = 0
    missed: int = 0
    holds: int = 0
    days: dict[int, int] = field(default_factory=dict)  # days to decision -> decisions


@dataclass(frozen=True)
class RequestRow:
    """One jurisdiction's published figures for the month (``None`` = fewer than 5)."""

    jurisdiction: str
    received: int | None
    granted: int | None
    refused: int | None
    median_days: int | None
    p90_days: int | None
    deadlines_missed: int | None
    holds_placed: int | None

    @classmethod
    def of(cls, jurisdiction: str, c: JurisdictionCounts) -> RequestRow:
        """Suppress small counts, and percentiles over fewer than ``SMALL`` decisions."""
        enough = sum(c.days.values()) >= SMALL
        return cls(
            jurisdiction=jurisdiction,
            received=published(c.received),
            granted=published(c.granted),
            refused=published(c.refused),
            median_days=nearest_rank(c.days, 0.5) if enough else None,
            p90_days=nearest_rank(c.days, 0.9) if enough else None,
            deadlines_missed=published(c.missed),
            holds_placed=published(c.holds),
        )


@dataclass(frozen=True)
class DisposalRow:
    """Records purged and restricted in the month for one jurisdiction, basis and rule."""

    jurisdiction: str
    basis: str  # "rule", "request" or "review"
    rule: str | None
    citation: str | None
    purged: int | None
    restricted: int | None

    @property
    def basis_label(self) -> str:
        """The basis in words."""
        return BASES[self.basis]


@dataclass(frozen=True)
class MonthReport:
    """The published report for one month."""

    month: dt.date
    requests: list[RequestRow]
    disposals: list[DisposalRow]

    @property
    def label(self) -> str:
        """``YYYY-MM``."""
        return f"{self.month:%Y-%m}"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form: small counts are the string ``"fewer than 5"``."""

        def count(value: int | None) -> int | str:
            return FEWER if value is None else value

        return {
            "month": self.label,
            "suppressed_below": SMALL,
            "requests": [
                {
                    "jurisdiction": r.jurisdiction,
                    "received": count(r.received),
                    "granted": count(r.granted),
                    "refused": count(r.refused),
                    "median_days_to_decision": r.median_days,
                    "p90_days_to_decision": r.p90_days,
                    "deadlines_missed": count(r.deadlines_missed),
                    "holds_placed": count(r.holds_placed),
                }
                for r in self.requests
            ],
            "disposals": [
                {
                    "jurisdiction": d.jurisdiction,
                    "basis": d.basis,
                    "rule": d.rule,
                    "citation": d.citation,
                    "purged": count(d.purged),
                    "restricted": count(d.restricted),
                }
                for d in self.disposals
            ],
        }

    def csv_rows(self) -> list[list[str]]:
        """One table for both parts: a header row, then one row per figure group."""
        rows = [
            [
                "month",
                "jurisdiction",
                "table",
                "basis",
                "rule",
                "citation",
                "requests_received",
                "requests_granted",
                "requests_refused",
                "median_days_to_decision",
                "p90_days_to_decision",
                "deadlines_missed",
                "holds_placed",
                "records_purged",
                "records_restricted",
            ]
        ]
        for r in self.requests:
            rows.append(
                [
                    self.label,
                    r.jurisdiction,
                    "requests",
                    "",
                    "",
                    "",
                    shown(r.received),
                    shown(r.granted),
                    shown(r.refused),
                    "" if r.median_days is None else str(r.median_days),
                    "" if r.p90_days is None else str(r.p90_days),
                    shown(r.deadlines_missed),
                    shown(r.holds_placed),
                    "",
                    "",
                ]
            )
        for d in self.disposals:
            rows.append(
                [
                    self.label,
                    d.jurisdiction,
                    "disposals",
                    d.basis,
                    d.rule or "",
                    d.citation or "",
                    *([""] * 7),
                    shown(d.purged),
                    shown(d.restricted),
                ]
            )
        return rows

    def lines(self) -> list[str]:
        """Plain text for ``mugshot report``."""
        out = [f"Transparency report {self.label} (counts under {SMALL} shown as '{FEWER}')"]
        if not self.requests and not self.disposals:
            out.append("nothing happened this month")
        for r in self.requests:
            days = (
                f"median {r.median_days} days, 90th percentile {r.p90_days} days"
                if r.median_days is not None
                else "days to decision: fewer than 5 decisions"
            )
            out.append(
                f"{r.jurisdiction}: received {shown(r.received)}, granted {shown(r.granted)}, "
                f"refused {shown(r.refused)}, {days}, deadlines missed "
                f"{shown(r.deadlines_missed)}, holds placed {shown(r.holds_placed)}"
            )
        for d in self.disposals:
            rule = f" {d.rule}" if d.rule else ""
            cite = f" ({d.citation})" if d.citation else ""
            out.append(
                f"{d.jurisdiction} {d.basis_label}{rule}{cite}: purged {shown(d.purged)}, "
                f"restricted {shown(d.restricted)}"
            )
        return out


def _utc_date(session: Session, column: Any) -> ColumnElement[Any]:
    """The UTC calendar date of a timestamp column, in SQL (``YYYY-MM-DD`` text on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _frozen(session: Session, first: dt.date) -> dict[str, Any]:
    """The month's figures that cannot change once it is over, as exact counts (JSON-ready):
    ``decisions`` {jurisdiction: {granted, refused, days: {n: count}}}, ``holds``
    {jurisdiction: n}, ``disposals`` [[jurisdiction, basis, rule, purged, restricted]]."""
    since, until = _start(first), _start(_next_month(first))
    decisions: dict[str, dict[str, Any]] = {}
    decided_on = _utc_date(session, AuditEntry.occurred_at)
    for jurisdiction, action, received_on, on, n in session.execute(
        select(
            RemovalRequest.jurisdiction,
            AuditEntry.action,
            RemovalRequest.received_on,
            decided_on,
            func.count(),
        )
        .join(RemovalRequest, RemovalRequest.id == AuditEntry.object_id)
        .where(
            AuditEntry.action.in_((GRANTED, REFUSED)),
            AuditEntry.occurred_at >= since,
            AuditEntry.occurred_at < until,
        )
        .group_by(
            RemovalRequest.jurisdiction, AuditEntry.action, RemovalRequest.received_on, decided_on
        )
    ).all():
        cell = decisions.setdefault(str(jurisdiction), {"granted": 0, "refused": 0, "days": {}})
        cell["granted" if action == GRANTED else "refused"] += int(n)
        days = str((_as_date(on) - _as_date(received_on)).days)
        cell["days"][days] = cell["days"].get(days, 0) + int(n)
    # Holds placed are counted from the append-only audit log (``hold.placed``), not from the
    # holds table: a purge's tombstone deletes the holds of the record it destroys, and a count
    # published for a month must not shrink afterwards. The record's tombstone keeps its
    # jurisdiction.
    holds = {
        str(jurisdiction): int(n)
        for jurisdiction, n in session.execute(
            select(Record.jurisdiction, func.count())
            .select_from(AuditEntry)
            .join(Record, Record.id == AuditEntry.details["record_id"].as_string())
            .where(
                AuditEntry.action == "hold.placed",
                AuditEntry.occurred_at >= since,
                AuditEntry.occurred_at < until,
            )
            .group_by(Record.jurisdiction)
        ).all()
    }
    return {
        "decisions": decisions,
        "holds": holds,
        "disposals": _disposals(session, since, until),
    }


def _cached(session: Session, first: dt.date) -> dict[str, Any] | None:
    row = session.get(TransparencyMonth, first)
    return None if row is None else dict(row.figures)


def _store(session: Session, first: dt.date, figures: dict[str, Any], now: dt.datetime) -> None:
    """Keep a closed month's frozen figures; a concurrent writer of the same month wins
    harmlessly (both computed the same immutable events)."""
    values = {"month": first, "computed_at": now, "figures": figures}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(TransparencyMonth).values(**values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(TransparencyMonth).values(**values).on_conflict_do_nothing())


def month_report(
    session: Session, month: dt.date, *, now: dt.datetime, refresh: bool = False
) -> MonthReport:
    """The report for the month starting ``month`` (the caller checks it is over).

    The figures that cannot change after the month (decisions, disposals, holds — events stamped
    with the time they happened) are read from ``transparency_months`` when kept there, else
    computed and, once the month has been over for ``SETTLE`` (so any transaction open across
    midnight has committed), kept — in the caller's transaction, which commits. Requests
    received and deadlines missed are always counted live (a deadline can still move).
    ``refresh`` recomputes and replaces the kept figures.
    """
    first, after = month, _next_month(month)
    if refresh:
        session.execute(delete(TransparencyMonth).where(TransparencyMonth.month == first))
    frozen = _cached(session, first)
    if frozen is None:
        frozen = _frozen(session, first)
        if now >= _start(after) + SETTLE:
            _store(session, first, frozen, now)
    counts: dict[str, JurisdictionCounts] = {}

    def row(jurisdiction: Any) -> JurisdictionCounts:
        return counts.setdefault(str(jurisdiction), JurisdictionCounts())

    for jurisdiction, n in session.execute(
        select(RemovalRequest.jurisdiction, func.count())
        .where(RemovalRequest.received_on >= first, RemovalRequest.received_on < after)
        .group_by(RemovalRequest.jurisdiction)
    ).all():
        row(jurisdiction).received = int(n)
    answered = and_(
        RemovalRequest.state.in_(FINAL),
        _utc_date(session, RemovalRequest.decided_at) <= RemovalRequest.respond_by,
    )
    paused = and_(
        RemovalRequest.state == RequestState.NEEDS_INFO.value,
        RemovalRequest.info_requested_on <= RemovalRequest.respond_by,
    )
    for jurisdiction, n in session.execute(
        select(RemovalRequest.jurisdiction, func.count())
        .where(
            RemovalRequest.respond_by >= first,
            RemovalRequest.respond_by < after,
            not_(or_(answered, paused)),
        )
        .group_by(RemovalRequest.jurisdiction)
    ).all():
        row(jurisdiction).missed = int(n)
    for jurisdiction, cell in frozen["decisions"].items():
        c = row(jurisdiction)
        c.granted, c.refused = int(cell["granted"]), int(cell["refused"])
        c.days = {int(days): int(n) for days, n in cell["days"].items()}
    for jurisdiction, n in frozen["holds"].items():
        row(jurisdiction).holds = int(n)
    citations = _Citations(session)
    disposals = [
        DisposalRow(
            jurisdiction=j,
            basis=why,
            rule=rule,
            citation=citations.of(j, rule),
            purged=published(int(purged)),
            restricted=published(int(restricted)),
        )
        for j, why, rule, purged, restricted in frozen["disposals"]
    ]
    requests = [RequestRow.of(j, counts[j]) for j in sorted(counts)]
    return MonthReport(month, requests, disposals)


def _disposals(session: Session, since: dt.datetime, until: dt.datetime) -> list[list[Any]]:
    """Exact purges and restrictions by jurisdiction, basis and rule, sorted."""
    request_ref = AuditEntry.details["request_reference"].as_string()
    request_id = AuditEntry.details["request_id"].as_string()
    decision = AuditEntry.details["decision"].as_string()
    basis = case(
        (and_(AuditEntry.action == PURGED, request_ref.is_not(None)), literal("request")),
        (and_(AuditEntry.action == PURGED, AuditEntry.rule.is_(None)), literal("review")),
        (and_(AuditEntry.action == RESTRICTED, request_id.is_not(None)), literal("request")),
        (AuditEntry.action == REVIEWED, literal("review")),
        else_=literal("rule"),
    ).label("basis")
    kind = case((AuditEntry.action == PURGED, literal("purged")), else_=literal("restricted"))
    rows = session.execute(
        select(Record.jurisdiction, basis, AuditEntry.rule, kind.label("kind"), func.count())
        .select_from(AuditEntry)
        .join(Record, Record.id == AuditEntry.object_id)
        .where(
            AuditEntry.action.in_((PURGED, RESTRICTED, REVIEWED)),
            AuditEntry.occurred_at >= since,
            AuditEntry.occurred_at < until,
            or_(AuditEntry.action != REVIEWED, decision == "restrict"),
        )
        .group_by(Record.jurisdiction, basis, AuditEntry.rule, kind)
    ).all()
    exact: dict[tuple[str, str, str | None], dict[str, int]] = {}
    for jurisdiction, why, rule, what, n in rows:
        # A review's own decision is the reason, whatever rule the record had.
        key = (str(jurisdiction), str(why), None if why == "review" else rule)
        cell = exact.setdefault(key, {"purged": 0, "restricted": 0})
        cell[str(what)] += int(n)
    return [
        [j, why, rule, cell["purged"], cell["restricted"]]
        for (j, why, rule), cell in sorted(
            exact.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
        )
    ]


class _Citations:
    """A rule's citation: from the pack that governs the jurisdiction, else any bundled pack
    that has a rule of that id (a rule of an older version)."""

    def __init__(self, session: Session) -> None:
        self._resolver = PackResolver(session)

    def _packs(self, jurisdiction: str) -> Iterator[Any]:
        yield self._resolver.pack_for(jurisdiction)
        yield from bundled_packs()

    def of(self, jurisdiction: str, rule: str | None) -> str | None:
        if rule is None:
            return None
        for pack in self._packs(jurisdiction):
            try:
                return str(pack.rule(rule).citation)
            except KeyError:
                continue
        return None
