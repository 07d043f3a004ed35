"""``mugshot hold place|approve|release|list``: legal holds, under four eyes.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.engine``, ``retention.db``, ``policies``); no other command module.
"""

from __future__ import annotations

import click

from policies.vocabulary import HoldKind
from retention.cli.context import next_step, services_of, settings_of, utcnow
from retention.engine import records


@click.group()
def hold() -> None:
    """Legal holds (four eyes: place then approve; request release then confirm)."""


@hold.command("place")
@click.argument("ref")
@click.option("--kind", required=True, type=click.Choice([k.value for k in HoldKind]))
@click.option("--reason", required=True)
@click.option("--case", "case_reference", default=None)
@click.option("--agency", default=None)
@click.pass_context
def hold_place(
    ctx: click.Context,
    ref: str,
    kind: str,
    reason: str,
    case_reference: str | None,
    agency: str | None,
) -> None:
    """Place a hold; it blocks purge at once, pending a second person's approval."""
    from retention.engine import changes

    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        placed = changes.place_hold(
            session,
            rec.id,
            kind=HoldKind(kind),
            reason=reason,
            case_reference=case_reference,
            actor=settings.actor,
            now=utcnow(),
        )
    click.echo(f"hold {placed.id} placed (pending approval by someone other than {settings.actor})")


@hold.command("approve")
@click.argument("hold_id")
@click.pass_context
def hold_approve(ctx: click.Context, hold_id: str) -> None:
    """Approve a pending hold (not by the person who placed it)."""
    from retention.engine import changes

    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        changes.approve_hold(session, hold_id, actor=settings.actor, now=utcnow())
    click.echo(f"hold {hold_id} approved")


@hold.command("release")
@click.argument("hold_id")
@click.pass_context
def hold_release(ctx: click.Context, hold_id: str) -> None:
    """Ask for a hold's release; run again as a second person to confirm it."""
    from retention.engine import changes

    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        _, decision = changes.release_hold(session, hold_id, actor=settings.actor, now=utcnow())
    if decision is None:
        click.echo(f"release of hold {hold_id} requested; a second person must confirm it")
    else:
        click.echo(f"hold {hold_id} released; {next_step(decision)}")


@hold.command("list")
@click.argument("ref", required=False)
@click.option("--agency", default=None)
@click.pass_context
def hold_list(ctx: click.Context, ref: str | None, agency: str | None) -> None:
    """Holds not yet released (of one record, or all)."""
    from sqlalchemy import select

    from retention.db.models import LegalHold

    with services_of(ctx) as services, services.readers() as session:
        stmt = select(LegalHold).where(LegalHold.state != "released")
        if ref:
            stmt = stmt.where(
                LegalHold.record_id == records.resolve(session, services.keyring, ref, agency).id
            )
        for h in session.execute(stmt.order_by(LegalHold.placed_at)).scalars():
            asked = h.release_requested_by
            click.echo(
                f"{h.id}  record {h.record_id}  {h.kind:<10} {h.state:<8} placed by {h.placed_by}"
                + (f"  release requested by {asked}" if asked else "")
            )
