"""What every ``mugshot`` command needs from the click context: settings and services.

Layer: ``retention.cli`` (CLI edge). Shared by ``retention.cli``, ``retention.cli.users`` and
``web.cli`` so the groups cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from retention.services import Services, open_services
from retention.settings import Settings


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
