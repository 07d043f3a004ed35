"""What the ``mugshot`` command modules share: settings, services, the clock, argument parsing,
and the second person of a four-eyes step.

Layer: ``retention.cli`` (CLI edge). The one module every command-group module of
``retention.cli`` (and ``web.cli``) may import, so the groups cannot drift apart; it knows no
command module. Imports ``click``, ``retention.services``, ``retention.settings`` and
``retention.accounts.users`` and ``retention.db.models.Role`` (for ``second_person``) only (and
``policies.Decision`` for a type).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from retention.accounts import users
from retention.db.models import Role
from retention.services import Services, open_services
from retention.settings import Settings

if TYPE_CHECKING:
    from policies import Decision

_F = TypeVar("_F", bound=Callable[..., Any])


def utcnow() -> dt.datetime:
    """The one clock of the CLI process."""
    return dt.datetime.now(dt.UTC)


def settings_of(ctx: click.Context) -> Settings:
    """The settings the ``mugshot`` group put in the context."""
    settings = ctx.find_object(Settings)
    if settings is None:
        raise click.UsageError("no settings in context: run this as a `mugshot` command")
    return settings


@contextmanager
def services_of(ctx: click.Context) -> Iterator[Services]:
    """Services for one command, closed when it ends."""
    services = open_services(settings_of(ctx))
    try:
        yield services
    finally:
        services.close()


@contextmanager
def progress(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; silent otherwise (logs and pipes stay clean)."""
    if length and sys.stderr.isatty():
        with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
            yield bar.update
    else:
        yield lambda _n: None


def parse_date(value: str | None, what: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` option value as a date (``None`` stays ``None``); ``what`` names the
    option in the usage error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=what) from None


def iso(value: Any) -> str | None:
    """A date or datetime in ISO 8601 for JSON output; ``None`` stays ``None``."""
    return value.isoformat() if value is not None else None


def echo_json(doc: Any) -> None:
    """Print a document as indented JSON (what every ``--json`` option prints)."""
    click.echo(json.dumps(doc, indent=2))


def next_step(decision: Decision) -> str:
    """``next: ACTION due DATE``: what a change to a record's facts or holds scheduled."""
    return f"next: {decision.action.value} due {decision.due_on}"


# -- four eyes ------------------------------------------------------------------------------

credentials_stdin_option = click.option(
    "--credentials-stdin",
    is_flag=True,
    help="Read the second person's password and TOTP code as two lines from standard input "
    "(for scripts) instead of prompting for them.",
)


def second_person_options(flag: str, help: str) -> Callable[[_F], _F]:
    """``FLAG NAME``, the supervisor who signs in as the second person of a four-eyes step
    (``help`` says who, and the default), then ``--credentials-stdin``."""
    name_option = click.option(flag, default=None, metavar="NAME", help=help)

    def decorate(f: _F) -> _F:
        return name_option(credentials_stdin_option(f))

    return decorate


_REFUSED = {
    users.Outcome.UNKNOWN_USER: "no staff account named {name!r}",
    users.Outcome.INACTIVE: "the account {name!r} is deactivated",
    users.Outcome.LOCKED: "the account {name!r} is locked after too many failed sign-ins; "
    "try again later",
    users.Outcome.BAD_CREDENTIALS: "wrong password for {name!r} (counted as a failed sign-in)",
    users.Outcome.BAD_CODE: "wrong TOTP code for {name!r} (counted as a failed sign-in)",
    users.Outcome.REPLAYED_CODE: "that TOTP code for {name!r} was already used; wait for the "
    "next one (counted as a failed sign-in)",
    users.Outcome.NO_TOTP: "the account {name!r} has no TOTP enrolment "
    "(an admin runs `mugshot user reset-totp`)",
    users.Outcome.WRONG_ROLE: "{name!r} is not a supervisor: only a supervisor can be the "
    "second person",
    users.Outcome.SAME_PERSON: "{name!r} is the same account that acted first",
}


def refuse_same_person(username: str, first: str | None, first_did: str) -> None:
    """Refuse (before any secret is asked for) when ``username`` is the account that acted first.

    ``first_did`` says what that account did, for the message ("placed the hold")."""
    if users.same_person(username, first):
        raise click.ClickException(
            f"{users.normalise_username(username)!r} is the same account that {first_did}: "
            "a second person must sign in; nothing was changed"
        )


def _read_credentials(name: str, from_stdin: bool) -> tuple[str, str]:
    if from_stdin:
        password, code = sys.stdin.readline(), sys.stdin.readline()
        if not (password.endswith("\n") and code.strip()):
            raise click.ClickException(
                "--credentials-stdin expects two lines on standard input: the password, then "
                "the TOTP code; nothing was changed"
            )
        return password.rstrip("\r\n"), code.strip()
    password = click.prompt(f"Password for {name}", hide_input=True)
    code = click.prompt(f"TOTP code for {name}", hide_input=True)
    return password, code


def second_person(
    services: Services,
    username: str,
    *,
    purpose: str,
    subject: str | None,
    first: str | None,
    first_did: str,
    credentials_stdin: bool,
) -> str:
    """Sign in ``username`` as the supervisor of a four-eyes step; returns the account's name.

    Refuses before asking for anything when it is ``first`` (the account that acted first).
    Otherwise reads the password and TOTP code (hidden prompts, or two lines of stdin) and checks
    them with ``users.authenticate_second_person`` in a transaction of its own, committed
    whatever the outcome: a failure counts towards the lockout and is audited, as on the web.
    Any refusal is a ``ClickException`` (exit status 1) and the command changes nothing.
    The ``--actor`` option never stands in for this: it only names who is at the terminal.
    """
    name = users.normalise_username(username)
    refuse_same_person(name, first, first_did)
    password, code = _read_credentials(name, credentials_stdin)
    with services.sessions() as session, session.begin():
        result = users.authenticate_second_person(
            session,
            services.keyring,
            name,
            password,
            code,
            role=Role.SUPERVISOR,
            not_same_as=first,
            purpose=purpose,
            subject=subject,
            now=utcnow(),
        )
    if not result.ok:
        reason = _REFUSED[result.outcome].format(name=name)
        raise click.ClickException(f"second-person check refused: {reason}; nothing was changed")
    return name
