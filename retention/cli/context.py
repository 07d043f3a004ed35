"""What the ``mugshot`` command modules share: settings, services, the clock, and argument parsing.

Layer: ``retention.cli`` (CLI edge). The one module every command-group module of
``retention.cli`` (and ``web.cli``) may import, so the groups cannot drift apart; it knows no
command module. Imports ``click``, ``retention.services`` and ``retention.settings`` only (and
``policies.Decision`` for a type).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from retention.services import Services, open_services
from retention.settings import Settings

if TYPE_CHECKING:
    from policies import Decision


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
