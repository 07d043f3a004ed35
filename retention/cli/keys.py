"""``mugshot keys status|rotate|retire``: key-encryption key versions and their rotation.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.jobs.rotation``); no other command module.
"""

from __future__ import annotations

import click

from retention.cli.context import progress, services_of, settings_of, utcnow
from retention.jobs import rotation


@click.group()
def keys() -> None:
    """Key-encryption keys: status, rotation, retirement."""


@keys.command("status")
@click.pass_context
def keys_status(ctx: click.Context) -> None:
    """Every KEK version, how many data keys it wraps, and whether it can be retired."""
    with services_of(ctx) as services:
        for s in rotation.status(services):
            if s.active:
                state = "active"
            elif s.retired_at:
                gone = s.gone_by.isoformat() if s.gone_by else s.retired_at
                state = f"retired (fully gone by {gone})"
            else:
                state = "live"
            hint = "  (can be retired)" if s.retirable else ""
            click.echo(f"v{s.version}  {state:<10} data keys: {s.data_keys}{hint}")


@keys.command("rotate")
@click.pass_context
def keys_rotate(ctx: click.Context) -> None:
    """Add a KEK version and rewrap every data key under it (no blob is rewritten)."""
    settings = settings_of(ctx)
    with services_of(ctx) as services:
        total = sum(s.data_keys for s in rotation.status(services))
        with progress(total, "rewrapping") as tick:
            report = rotation.rotate(services, actor=settings.actor, clock=utcnow, progress=tick)
    click.echo(
        f"new active version v{report.new_version}; rewrapped {report.rewrapped} data keys "
        f"in {report.batches} batches"
    )
    for version, count in sorted(report.remaining.items()):
        if count == 0:
            click.echo(
                f"v{version}: no data key uses it; retire with `mugshot keys retire {version}`"
            )
        else:
            click.echo(f"v{version}: still wraps {count} data keys (written during rotation?)")


@keys.command("retire")
@click.argument("version", type=int)
@click.pass_context
def keys_retire(ctx: click.Context, version: int) -> None:
    """Erase an unused KEK version's key material from the keyring."""
    settings = settings_of(ctx)
    with services_of(ctx) as services:
        rotation.retire(services, version, actor=settings.actor, clock=utcnow)
    click.echo(
        f"v{version} retired: backups taken while it was live can no longer open records "
        "purged since."
    )
