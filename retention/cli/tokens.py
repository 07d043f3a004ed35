"""``mugshot token add NAME --agency A [--agency B]|list|revoke``: API tokens for booking
systems, each acting for its agencies only.

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
@click.option(
    "--agency",
    "agencies",
    multiple=True,
    required=True,
    help="An agency whose records the token may create and read (repeat for several).",
)
@click.pass_context
def token_add(ctx: click.Context, name: str, agencies: tuple[str, ...]) -> None:
    """Create a token acting for the given agencies; it is printed once and stored only as a
    hash."""
    from retention.accounts import tokens

    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        row, secret = tokens.create(
            session, name=name, agencies=agencies, actor=settings.actor, now=utcnow()
        )
        scope = tokens.agencies_of(session, [row.id])[row.id]
        token_id, token_name = row.id, row.name
    click.echo(f"token {token_id} for {token_name}, agencies {', '.join(scope)}:")
    click.echo(secret)
    click.echo("It is shown only now: give it to the booking system (Authorization: Bearer ...).")


@token.command("list")
@click.pass_context
def token_list(ctx: click.Context) -> None:
    """Tokens with their agencies (never their secrets)."""
    from sqlalchemy import select

    from retention.accounts import tokens
    from retention.db.models import ApiToken

    with services_of(ctx) as services, services.readers() as session:
        rows = list(session.execute(select(ApiToken).order_by(ApiToken.created_at)).scalars())
        scopes = tokens.agencies_of(session, [t.id for t in rows])
        for t in rows:
            state = f"revoked {t.revoked_at.isoformat()}" if t.revoked_at else "live"
            agencies = ",".join(scopes[t.id]) or "no agency (re-issue with --agency)"
            click.echo(
                f"{t.id}  {t.name:<24} {state}  agencies {agencies}  created by {t.created_by}"
            )
        if not rows:
            click.echo("no API tokens (create one with `mugshot token add NAME --agency A`)")


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
