"""Staff dashboard: the state of requests, the retention machinery and what falls due next.

Layer: ``web.staff``. Read-only; every figure is one aggregate query (``GROUP BY``) or comes from
``retention.jobs.status.status`` — no per-record loop, so the page costs the same at 100 records or
100,000. The upcoming-work chart is server-rendered SVG (``web.svg``) with a table fallback.

The page tells the truth the way ``mugshot status`` does (the same report, the same warnings),
and every number is a link to the list it counts, for the roles that may open that list
(``Links``). The navigation's counts — the review queue, holds waiting for approval, decisions
waiting for a second person — come from ``nav_counts``, a context processor every staff page
shares.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, url_for
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retention.db.models import Record, RecordStatus, Role
from retention.jobs.status import ACTING, OVERDUE_AFTER, status, waiting_for_people
from web import svg
from web.auth import current_user, login_required
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


DESK = (Role.CLERK, Role.SUPERVISOR)
RECORD_READERS = (Role.CLERK, Role.SUPERVISOR, Role.AUDITOR)


class Links:
    """The list behind each dashboard number, or ``None`` where the signed-in role may not open
    that list (the number is then shown without a link).

    Query parameters of lists owned by other pages (assumed, documented in the README): the
    request queue's ``state``, ``overdue=1`` and ``due_within=7``; the review queue's
    ``overdue=1`` and ``waiting=second``; the holds page's ``state=pending``. The record search's
    ``action``, ``basis``, ``status``, ``due_from`` and ``due_to`` are its own.
    """

    def __init__(self, role: Role, today: dt.date) -> None:
        self.role = role
        self.today = today

    def _may(self, roles: tuple[Role, ...]) -> bool:
        return self.role in roles

    def records(self, **query: Any) -> str | None:
        """The record search with these filters."""
        if not self._may(RECORD_READERS):
            return None
        return url_for("staff_records.search", **{k: v for k, v in query.items() if v})

    def due(self, action: str) -> str | None:
        """Records whose ``action`` is due today or earlier."""
        return self.records(action=action, due_to=self.today.isoformat())

    def overdue(self, action: str) -> str | None:
        """Records whose ``action`` fell due more than a day ago (``status.OVERDUE_AFTER``)."""
        last = self.today - OVERDUE_AFTER - dt.timedelta(days=1)
        return self.records(action=action, due_to=last.isoformat())

    def reviews(self, **query: Any) -> str | None:
        """The disposition-review queue."""
        return url_for("staff_reviews.index", **query) if self._may(DESK) else None

    def requests(self, state: str = "open", **query: Any) -> str | None:
        """The request queue."""
        if not self._may(DESK):
            return None
        return url_for("staff_requests.queue", state=state, **query)

    def holds(self, **query: Any) -> str | None:
        """The holds page."""
        return url_for("staff_holds.index", **query) if self._may(DESK) else None


def _role() -> Role | None:
    user = current_user()
    return None if user is None else user.role


@bp.app_context_processor
def nav_counts() -> dict[str, Any]:
    """``nav_waiting()`` for the staff navigation: what waits for a person (three small counts,
    read only when a desk role renders the navigation)."""

    def nav_waiting() -> dict[str, int]:
        if _role() not in DESK:
            return {}
        with get_services().readers() as db:
            return waiting_for_people(db)

    return {"nav_waiting": nav_waiting}


@bp.get("/")
@login_required(Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
def index() -> str:
    """Dashboard: requests, machinery health, upcoming work, records by basis and status."""
    services = get_services()
    moment = now()
    today = moment.astimezone(dt.UTC).date()
    report = status(services, moment)
    with services.readers() as db:
        bases = basis_by_status(db)
        weeks = upcoming_by_week(db, today)
    role = _role()
    assert role is not None  # login_required
    return render_template(
        "staff/dashboard/index.html",
        report=report,
        links=Links(role, today),
        by_state=report.requests.get("all", {}),
        bases=bases,
        statuses=[s.value for s in RecordStatus],
        weeks=weeks,
        series=SERIES,
        chart=upcoming_chart(weeks),
        horizon=HORIZON_DAYS,
    )
