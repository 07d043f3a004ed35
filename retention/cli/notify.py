"""``mugshot notify``: send the due e-mails to requesters now (the scheduler does it every minute).

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and ``retention.jobs``; no
other command module. Exit status 1 when the mail server could not be used (the messages wait
in the outbox for the next attempt).
"""

from __future__ import annotations

import sys

import click

from retention.cli.context import services_of, settings_of, utcnow


@click.command("notify")
@click.pass_context
def notify(ctx: click.Context) -> None:
    """Send the outbox's due e-mails to requesters through MUGSHOT_SMTP_URL."""
    from retention.jobs.notify import run_notify

    settings = settings_of(ctx)
    with services_of(ctx) as services:
        report = run_notify(services, clock=utcnow, actor=settings.actor)
    if not settings.smtp_url:
        click.echo(f"no mail server configured: {report.not_sent} message(s) marked not sent")
        return
    click.echo(
        f"sent {report.sent}, retry later {report.retried}, failed {report.failed}"
        + (" (the mail server was unavailable)" if report.unavailable else "")
    )
    if report.unavailable:
        sys.exit(1)
