"""``mugshot token add|list|revoke``: API tokens for booking systems.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.accounts``, ``retention.db``); no other command module.
"""

from __future__ import annotations

import click

from retention.cli.context import services_of, settings_of, utcnow


@click.group()
def token() -> None:
    """API tokens for booking systems."""


@token.command("add")
@click.argument("name")
@click.pass_context
def token_add(ctx: click.Context, name: str) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    from retention.accounts import tokens

    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        row, secret = tokens.create(session, name=name, actor=settings.actor, now=utcnow())
    click.echo(f"token {row.id} for {row.name}:")
    click.echo(secret)
    click.echo("It is shown only now: give it to the booking system (Authorization: Bearer ...).")


@token.command("list")
@click.pass_context
def token_list(ctx: click.Context) -> None:
    """Tokens (never their secrets)."""
    from sqlalchemy import select

    from retention.db.models import ApiToken

    with services_of(ctx) as services, services.readers() as session:
        for t in session.execute(select(ApiToken).order_by(ApiToken.created_at)).scalars():
            state = f"revoked {t.revoked_at.isoformat()}" if t.revoked_at else "live"
            click.echo(f"{t.id}  {t.name:<24} {state}  created by {t.created_by}")


@token.command("revoke")
@click.argument("token_id")
@click.pass_context
def token_revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke a token at once."""
    from retention.accounts import tokens

    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        tokens.revoke(session, token_id, actor=settings.actor, now=utcnow())
    click.echo(f"token {token_id} revoked")
