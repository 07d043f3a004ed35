"""``mugshot purpose check`` and ``mugshot gallery export``: the purpose gates, for one record
or for every record a purpose permits today.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.engine``, ``policies``); no other command module.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from policies.vocabulary import Jurisdiction, Purpose
from retention.cli.context import services_of, settings_of, utcnow
from retention.engine import records


@click.group()
def purpose() -> None:
    """Purpose gates."""


@purpose.command("check")
@click.argument("ref")
@click.option("--purpose", "value", required=True, type=click.Choice([p.value for p in Purpose]))
@click.option("--agency", default=None)
@click.pass_context
def purpose_check(ctx: click.Context, ref: str, value: str, agency: str | None) -> None:
    """May this record be used for this purpose today? Answers yes or no, with the rule."""
    from retention.engine import decisions

    with services_of(ctx) as services, services.readers() as session:
        rec = records.resolve(session, services.keyring, ref, agency)
        if rec.status == "purged":
            click.echo("no: the record was purged")
            sys.exit(1)
        decision = decisions.evaluate_only(session, rec, utcnow().date())
    allowed = Purpose(value) in decision.purposes
    click.echo(f"{'yes' if allowed else 'no'}: {decision.rule} — {decision.explanation}")
    if not allowed:
        sys.exit(1)


@click.group()
def gallery() -> None:
    """Purpose-gated gallery export."""


@gallery.command("export")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--purpose", "value", required=True, type=click.Choice([p.value for p in Purpose]))
@click.option("--jurisdiction", required=True, type=click.Choice([j.value for j in Jurisdiction]))
@click.pass_context
def gallery_export(ctx: click.Context, out: Path, value: str, jurisdiction: str) -> None:
    """Export the records permitted for a purpose today into a new folder (see README)."""
    from retention.engine.gallery import export_gallery

    settings = settings_of(ctx)
    with services_of(ctx) as services:
        report = export_gallery(
            services,
            purpose=Purpose(value),
            jurisdiction=Jurisdiction(jurisdiction),
            out=out,
            today=utcnow().date(),
            clock=utcnow,
            actor=settings.actor,
        )
    click.echo(
        f"export {report.export_id}: {report.exported} records ({report.files} images) written "
        f"to {out}; {report.withheld} withheld"
    )
    for rule, n in sorted(report.withheld_by_rule.items(), key=lambda kv: -kv[1])[:10]:
        click.echo(f"  withheld {n:>6} by {rule}")
