"""Staff dashboard: the state of requests, the retention machinery and what falls due next.

Layer: ``web.staff``. Read-only; every figure is one aggregate query (``GROUP BY``) or comes from
``retention.jobs.status.status`` — no per-record loop, so the page costs the same at 100 records or
100,000. The upcoming-work chart is server-rendered SVG (``web.svg``) with a table fallback.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, render_template
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retention.db.models import Record, RecordStatus, RemovalRequest, RequestState, Role
from retention.jobs.status import ACTING, status
from retention.requests import workflow
from web import svg
from web.auth import login_required
from web.services import get_services, now

bp = Blueprint("staff_dashboard", __name__, template_folder="templates", url_prefix="/staff")

HORIZON_DAYS = 90
WEEKS = -(-(HORIZON_DAYS + 1) // 7)  # today plus 90 days, in whole weeks: 13
SERIES = (
    svg.Series("purges", "purge"),
    svg.Series("restrictions", "restrict"),
    svg.Series("reviews", "review"),
)


@dataclass(frozen=True)
class WeekRow:
    """One week of upcoming work (the chart's bar and the fallback table's row)."""

    start: dt.date
    end: dt.date
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        """All actions due that week."""
        return sum(self.counts)


def requests_by_state(session: Session) -> dict[str, int]:
    """Removal requests per state (every state listed, zero when none)."""
    counts = dict.fromkeys((s.value for s in RequestState), 0)
    for state, count in session.execute(
        select(RemovalRequest.state, func.count()).group_by(RemovalRequest.state)
    ).all():
        counts[str(state)] = int(count)
    return counts


def basis_by_status(session: Session) -> dict[str, dict[str, int]]:
    """Records per legal basis, split by status: ``{basis: {status: n}}``."""
    table: dict[str, dict[str, int]] = {}
    for basis, state, count in session.execute(
        select(Record.legal_basis, Record.status, func.count()).group_by(
            Record.legal_basis, Record.status
        )
    ).all():
        row = table.setdefault(str(basis), dict.fromkeys((s.value for s in RecordStatus), 0))
        row[str(state)] = int(count)
    return dict(sorted(table.items()))


def upcoming_by_week(session: Session, today: dt.date) -> list[WeekRow]:
    """Purges, restrictions and reviews due from ``today`` to ``today + 90 days``, per week.

    One grouped query returns at most (91 days x 3 actions) rows; they are bucketed here.
    """
    horizon = today + dt.timedelta(days=HORIZON_DAYS)
    buckets = [[0] * len(ACTING) for _ in range(WEEKS)]
    rows = session.execute(
        select(Record.next_action_due, Record.next_action, func.count())
        .where(
            Record.next_action_due >= today,
            Record.next_action_due <= horizon,
            Record.status != RecordStatus.PURGED.value,
            Record.next_action.in_(ACTING),
        )
        .group_by(Record.next_action_due, Record.next_action)
    ).all()
    for due, action, count in rows:
        assert due is not None  # filtered above
        week = (due - today).days // 7
        buckets[week][ACTING.index(str(action))] += int(count)
    weeks = []
    for index, counts in enumerate(buckets):
        start = today + dt.timedelta(days=7 * index)
        end = min(start + dt.timedelta(days=6), horizon)
        weeks.append(WeekRow(start, end, tuple(counts)))
    return weeks


def upcoming_chart(weeks: list[WeekRow]) -> Markup:
    """The SVG chart for ``upcoming_by_week``."""
    total = sum(w.total for w in weeks)
    bars = [
        svg.Bar(
            label=w.start.strftime("%d %b"),
            long_label=f"Week of {w.start.isoformat()} to {w.end.isoformat()}",
            values=w.counts,
        )
        for w in weeks
    ]
    return svg.stacked_bar_chart(
        bars,
        SERIES,
        title=f"Purges, restrictions and reviews due in the next {HORIZON_DAYS} days",
        description=(
            f"{total} actions fall due over {len(weeks)} weeks; "
            "the table below the chart gives every figure."
        ),
        y_label="records",
        css_id="upcoming-chart",
    )


@bp.get("/")
@login_required(Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
def index() -> str:
    """Dashboard: requests, machinery health, upcoming work, records by basis and status."""
    services = get_services()
    moment = now()
    today = moment.astimezone(dt.UTC).date()
    report = status(services, moment)
    with services.readers() as db:
        by_state = requests_by_state(db)
        deadlines = workflow.overdue(db, today)
        bases = basis_by_status(db)
        weeks = upcoming_by_week(db, today)
    return render_template(
        "staff/dashboard/index.html",
        report=report,
        by_state=by_state,
        deadlines=deadlines,
        bases=bases,
        statuses=[s.value for s in RecordStatus],
        weeks=weeks,
        series=SERIES,
        chart=upcoming_chart(weeks),
        horizon=HORIZON_DAYS,
    )
