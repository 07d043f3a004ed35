"""The public transparency report: ``/transparency`` (no sign-in) and its CSV download.

Layer: ``web`` (a public blueprint). Renders ``retention.engine.transparency.MonthReport`` — the
same figures ``mugshot report --month`` prints — for months that are over; counts under 5 are
"fewer than 5" and nothing is summed (see that module for why). Aggregates only: the page never
touches identity data and reveals nothing about any one person. GET only, rate limited per
address like the other public pages; works without JavaScript and on a phone (the tables
reflow into labelled cards on narrow screens).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Blueprint, Response, abort, render_template, request, url_for

from retention.engine import transparency
from web.security import rate_limited
from web.services import get_services, now

bp = Blueprint("transparency", __name__)


def _month(today: dt.date) -> dt.date:
    raw = request.args.get("month", "").strip()
    if not raw:
        return transparency.last_complete_month(today)
    try:
        return transparency.parse_month(raw, today)
    except transparency.ReportError:
        abort(404)


def _build(month: dt.date, moment: dt.datetime) -> transparency.MonthReport:
    # A write session: the first report of a closed month keeps its frozen figures.
    with get_services().sessions() as db, db.begin():
        return transparency.month_report(db, month, now=moment)


@bp.get("/transparency")
@rate_limited("public_report", default="60 per minute", methods=("GET",))
def report() -> str:
    """One month's report (``?month=YYYY-MM``, default the last complete month)."""
    moment = now().astimezone(dt.UTC)
    month = _month(moment.date())
    built = _build(month, moment)
    return render_template(
        "transparency/report.html",
        report=built,
        months=transparency.recent_months(moment.date(), 24),
        csv_url=url_for("transparency.download", month=built.label),
        small=transparency.SMALL,
        fewer=transparency.FEWER,
        bases=transparency.BASES,
    )


@bp.get("/transparency.csv")
@rate_limited("public_report", default="60 per minute", methods=("GET",))
def download() -> Response:
    """The same month as CSV (``text/csv``, one header row)."""
    moment = now().astimezone(dt.UTC)
    month = _month(moment.date())
    built = _build(month, moment)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(built.csv_rows())
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="transparency-{built.label}.csv"'},
    )
