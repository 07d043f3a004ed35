"""``mugshot user ...`` commands: create staff accounts, list them, reset password or TOTP,
deactivate, change roles.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.accounts``, ``retention.db``); no other command module. Reads
``Settings`` from the click context (set by the main ``mugshot`` group), opens services once per
command and reads the clock once. Errors are ``RetentionError`` subclasses, mapped to a message
and exit status by ``retention.cli.main.main``.

The CLI is how the first administrator is created, and the way back in when every admin is
locked out: anyone who can run it can already read the keyring.
"""

from __future__ import annotations

import datetime as dt
import sys

import click

from retention.accounts import users
from retention.cli.context import services_of, settings_of, utcnow
from retention.db.models import Role

_ROLES = click.Choice([r.value for r in Role], case_sensitive=False)


def _show_secret(username: str, secret: str) -> None:
    click.echo(f"TOTP secret for {username}: {secret}")
    click.echo(f"otpauth URI: {users.provisioning_uri(secret, username)}")
    click.echo(
        "Enter the secret (or the URI as a QR code) in an authenticator app now: "
        "it is shown only this once and cannot be displayed again.",
        err=True,
    )


def _fmt(value: dt.datetime | None) -> str:
    return "-" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


@click.group("user")
def user() -> None:
    """Staff accounts: add, list, reset password or TOTP, deactivate, change role."""


@user.command("add")
@click.argument("username")
@click.option("--role", required=True, type=_ROLES, help="clerk, supervisor, auditor or admin.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)
@click.pass_context
def add(ctx: click.Context, username: str, role: str, password_stdin: bool) -> None:
    """Create a staff account; prints its TOTP secret and otpauth URI once."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    users.check_password_policy(password, username=users.normalise_username(username))
    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        account, secret = users.create_user(
            session,
            username=username,
            role=Role(role.lower()),
            password=password,
            keyring=services.keyring,
            actor=settings.actor,
            now=utcnow(),
        )
        name, granted = account.username, account.role
    click.echo(f"created {name} ({granted})")
    _show_secret(name, secret)


@user.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """List staff accounts: username, role, state, last sign-in, created."""
    now = utcnow()
    with services_of(ctx) as services, services.readers() as session:
        rows = users.list_users(session)
        for account in rows:
            if not account.active:
                state = "inactive"
            elif account.locked_until is not None and account.locked_until > now:
                state = f"locked until {_fmt(account.locked_until)}"
            else:
                state = "active"
            click.echo(
                f"{account.username}\t{account.role}\t{state}\t"
                f"last login {_fmt(account.last_login_at)}\t"
                f"created {_fmt(account.created_at)} by {account.created_by}"
            )
        if not rows:
            click.echo("no staff accounts (create one with `mugshot user add NAME --role admin`)")


@user.command("reset-totp")
@click.argument("username")
@click.pass_context
def reset_totp(ctx: click.Context, username: str) -> None:
    """Replace the account's TOTP secret; prints the new one once."""
    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        account, secret = users.reset_totp(
            session,
            username=username,
            keyring=services.keyring,
            actor=settings.actor,
            now=utcnow(),
        )
        name = account.username
    click.echo(
        f"TOTP reset for {name}; the old authenticator entry no longer works "
        "and its open sessions have ended"
    )
    _show_secret(name, secret)


@user.command("reset-password")
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from the first line of standard input instead of prompting.",
)
@click.pass_context
def reset_password(ctx: click.Context, username: str, password_stdin: bool) -> None:
    """Give the account a new password; its open sessions end."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        account = users.set_password(
            session, username=username, password=password, actor=settings.actor, now=utcnow()
        )
        name = account.username
    click.echo(f"password of {name} replaced; its open sessions have ended")


@user.command("deactivate")
@click.argument("username")
@click.pass_context
def deactivate(ctx: click.Context, username: str) -> None:
    """Disable an account: it cannot sign in, and its open sessions end."""
    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        account = users.deactivate(session, username=username, actor=settings.actor, now=utcnow())
        name = account.username
    click.echo(f"deactivated {name}")


@user.command("role")
@click.argument("username")
@click.argument("role", type=_ROLES)
@click.pass_context
def role(ctx: click.Context, username: str, role: str) -> None:
    """Change an account's role (takes effect on its next request)."""
    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        account = users.set_role(
            session, username=username, role=Role(role.lower()), actor=settings.actor, now=utcnow()
        )
        name, granted = account.username, account.role
    click.echo(f"{name} is now {granted}")
