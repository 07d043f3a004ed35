"""``mugshot report``: the public transparency report of a month, as text, JSON or CSV.

Layer: ``retention.cli`` (a command module; shares ``retention.cli.context`` only). Prints exactly
what ``/transparency`` publishes — small counts suppressed — from
``retention.engine.transparency``.
"""

from __future__ import annotations

import csv
import sys

import click

from retention.cli.context import echo_json, services_of, utcnow
from retention.engine import transparency


@click.command()
@click.option("--month", required=True, help="The month, YYYY-MM; it must be over.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV, the same as the web page's download.")
@click.option(
    "--refresh",
    is_flag=True,
    help="Recount the month's kept figures from the audit log instead of reading them.",
)
@click.pass_context
def report(ctx: click.Context, month: str, as_json: bool, as_csv: bool, refresh: bool) -> None:
    """The transparency report of MONTH: requests received, granted and refused, days to
    decision, deadlines missed, records purged and restricted by rule, holds placed — per
    jurisdiction, counts under 5 shown as "fewer than 5"."""
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    now = utcnow()
    try:
        first = transparency.parse_month(month, now.date())
    except transparency.ReportError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        built = transparency.month_report(session, first, now=now, refresh=refresh)
    if as_json:
        echo_json(built.to_json())
    elif as_csv:
        csv.writer(sys.stdout, lineterminator="\n").writerows(built.csv_rows())
    else:
        click.echo("\n".join(built.lines()))
