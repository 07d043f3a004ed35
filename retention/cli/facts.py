"""``mugshot outcome set`` and ``mugshot consent record|withdraw``: facts about a record that
change its fate; each re-evaluates the record at once.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.engine``, ``policies``); no other command module.
"""

from __future__ import annotations

import click

from policies.vocabulary import Outcome, Purpose
from retention.cli.context import next_step, parse_date, services_of, settings_of, utcnow
from retention.engine import records


@click.group()
def outcome() -> None:
    """Case outcomes."""


@outcome.command("set")
@click.argument("ref")
@click.option("--outcome", "value", required=True, type=click.Choice([o.value for o in Outcome]))
@click.option("--on", "on", default=None, help="Date of the outcome (YYYY-MM-DD).")
@click.option("--agency", default=None)
@click.pass_context
def outcome_set(
    ctx: click.Context, ref: str, value: str, on: str | None, agency: str | None
) -> None:
    """Record the outcome of the case the image was taken for; the record is re-evaluated."""
    from retention.engine import changes

    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        decision = changes.set_outcome(
            session,
            rec.id,
            outcome=Outcome(value),
            on=parse_date(on, "--on"),
            actor=settings.actor,
            now=utcnow(),
        )
    click.echo(f"outcome {value}; {next_step(decision)} ({decision.rule})")


@click.group()
def consent() -> None:
    """Consent for consent-based records."""


@consent.command("record")
@click.argument("ref")
@click.option("--given", required=True, help="Date consent was given.")
@click.option("--purposes", required=True, help="Comma-separated purposes.")
@click.option("--expires", default=None)
@click.option("--evidence", default=None, help="Reference to the signed release.")
@click.option("--agency", default=None)
@click.pass_context
def consent_record(
    ctx: click.Context,
    ref: str,
    given: str,
    purposes: str,
    expires: str | None,
    evidence: str | None,
    agency: str | None,
) -> None:
    """Record a consent."""
    from retention.engine import changes

    try:
        wanted = [Purpose(p.strip()) for p in purposes.split(",") if p.strip()]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--purposes") from None
    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        given_on = parse_date(given, "--given")
        assert given_on is not None
        decision = changes.record_consent(
            session,
            rec.id,
            given_on=given_on,
            purposes=wanted,
            expires_on=parse_date(expires, "--expires"),
            evidence_ref=evidence,
            actor=settings.actor,
            now=utcnow(),
        )
    click.echo(f"consent recorded; {next_step(decision)}")


@consent.command("withdraw")
@click.argument("ref")
@click.option("--on", "on", default=None, help="Date of withdrawal (default: today).")
@click.option("--agency", default=None)
@click.pass_context
def consent_withdraw(ctx: click.Context, ref: str, on: str | None, agency: str | None) -> None:
    """Withdraw consent; consent-based data falls due for purge, other data is unaffected."""
    from retention.engine import changes

    settings = settings_of(ctx)
    now = utcnow()
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        decision = changes.withdraw_consent(
            session, rec.id, on=parse_date(on, "--on") or now.date(), actor=settings.actor, now=now
        )
    click.echo(f"consent withdrawn; {next_step(decision)} ({decision.rule})")
