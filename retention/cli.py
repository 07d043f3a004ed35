"""The ``mugshot`` console script: the one entry point for every job.

Layer: ``retention`` (outermost edge). Reads settings once, builds what a command needs, and
maps ``RetentionError`` to a clear message and a non-zero exit.
"""

from __future__ import annotations

import sys

import click

from retention.cli_policy import policy
from retention.errors import RetentionError
from retention.settings import Settings


@click.group()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Data directory (default: $MUGSHOT_DATA_DIR or ./mugshot-data).",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None) -> None:
    """Mugshot consent and retention manager."""
    ctx.obj = Settings.from_env(data_dir=data_dir)


cli.add_command(policy)


def main() -> None:
    """Console-script entry point."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RetentionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
