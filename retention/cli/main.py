"""The ``mugshot`` console script: the root group, the commands that set an installation up and
watch it, and the one place every command group is registered.

Holds the ``mugshot`` group with its options (``--data-dir``, ``--actor``), ``init``, ``import``,
``demo``, ``scheduler``, ``status``, and ``main()``, which maps ``RetentionError`` to a clear
message and a non-zero exit. Every other command lives in one module per command group
(``records``, ``facts``, ``purposes``, ``disposal``, ``holds``, ``reviews``, ``keys``, ``audit``,
``policy``, ``users``, ``tokens``), each sharing ``retention.cli.context`` and none knowing another.

Layer: ``retention.cli`` (outermost edge of ``retention``). The only module that imports every
command module; may import anything below ``retention.cli``, never ``web``. Reads settings and the
clock once, builds what a command needs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from retention.audit import chain as audit
from retention.cli.audit import audit_group
from retention.cli.context import echo_json, progress, services_of, settings_of, utcnow
from retention.cli.disposal import cert, janitor, sweep
from retention.cli.facts import consent, outcome
from retention.cli.holds import hold
from retention.cli.keys import keys
from retention.cli.policy import policy
from retention.cli.purposes import gallery, purpose
from retention.cli.records import image, record
from retention.cli.reviews import review
from retention.cli.tokens import token
from retention.cli.users import user
from retention.errors import KeyringError, RetentionError
from retention.ingest.importer import (
    ImportReport,
    import_manifest,
    scan_manifest,
    write_reject_report,
)
from retention.settings import Settings
from retention.storage.factory import open_blob_store
from retention.storage.local import LocalBlobStore


@click.group()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Data directory (default: $MUGSHOT_DATA_DIR or ./mugshot-data).",
)
@click.option(
    "--actor",
    default=None,
    help="Who is acting, for audit and four-eyes checks (default: $MUGSHOT_ACTOR or cli:$USER).",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, actor: str | None) -> None:
    """Mugshot consent and retention manager."""
    settings = Settings.from_env(data_dir=data_dir)
    if actor:
        settings = settings.with_overrides(actor=actor)
    ctx.obj = settings


for _group in (
    record,
    image,
    outcome,
    consent,
    purpose,
    gallery,
    hold,
    review,
    keys,
    audit_group,
    sweep,
    janitor,
    cert,
    policy,
    user,
    token,
):
    cli.add_command(_group)


# -- init ---------------------------------------------------------------------------------


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the data directory and keyring, and migrate the database to the latest schema."""
    from retention import files
    from retention.db.schema import upgrade
    from retention.db.sessions import make_engine
    from retention.keys.keyring import Keyring
    from retention.services import check_private_locations

    settings = settings_of(ctx)
    store = open_blob_store(
        settings.blob_store, s3_endpoint_url=settings.s3_endpoint_url, region=settings.aws_region
    )
    check_private_locations(settings, store)  # an existing folder others can read is refused
    files.make_private_dir(settings.data_dir)
    created = False
    if not settings.keyring_file.exists():
        Keyring.create(settings.keyring_file, utcnow())
        created = True
    else:
        Keyring.load(settings.keyring_file)  # refuses a malformed or world-readable keyring
    engine = make_engine(settings)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    if isinstance(store, LocalBlobStore):
        store.ensure_layout()
    else:
        ensure = getattr(store, "ensure_bucket", None)
        if ensure is not None:
            ensure()
    with services_of(ctx) as services:
        if created:
            audit.record(
                services.sessions,
                now=utcnow(),
                actor=settings.actor,
                action="keys.keyring_created",
                object_type="kek",
                object_id="v1",
            )
    click.echo(f"database: {_safe_url(settings.database_url)} (schema at head)")
    click.echo(f"blob store: {settings.blob_store}")
    click.echo(f"keyring: {settings.keyring_file}")
    if created:
        click.secho(
            "WARNING: a development keyring was generated at "
            f"{settings.keyring_file} (mode 0600). Production deployments should supply "
            "their own keys and keep the keyring off the data volume and out of backups "
            "(see README, 'Keys').",
            fg="yellow",
            err=True,
        )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# -- import -------------------------------------------------------------------------------


@cli.command("import")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the reject report (default: MANIFEST.rejects.csv when rows fail).",
)
@click.pass_context
def import_(ctx: click.Context, manifest: Path, rejects: Path | None) -> None:
    """Import a CSV manifest of bookings and their images (see README, 'Manifest format')."""
    _, rows = scan_manifest(manifest)
    report = _import_with_progress(ctx, manifest, rows)
    click.echo(
        f"{report.rows} rows: {report.imported} imported, {report.skipped} already present, "
        f"{len(report.rejected)} rejected"
    )
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.rejected:
        target = rejects or manifest.with_name(manifest.name + ".rejects.csv")
        _echo_rejected(report, 20)
        if len(report.rejected) > 20:
            click.echo(f"  … and {len(report.rejected) - 20} more", err=True)
        try:
            write_reject_report(report, target)
        except OSError as exc:
            click.echo(
                f"the reject report {target} could not be written ({exc.strerror}); "
                "choose another place with --rejects and re-run: rows already imported are "
                "skipped",
                err=True,
            )
        else:
            click.echo(f"reject report: {target}", err=True)
        sys.exit(1)


def _import_with_progress(ctx: click.Context, manifest: Path, rows: int) -> ImportReport:
    """Import a manifest as this command's actor, with a progress bar over ``rows`` rows."""
    with services_of(ctx) as services, progress(rows, "importing") as tick:
        return import_manifest(
            manifest, services, actor=settings_of(ctx).actor, clock=utcnow, progress=tick
        )


def _echo_rejected(report: ImportReport, shown: int) -> None:
    """The first ``shown`` rejected rows (line and reason; never personal data), on stderr."""
    for r in report.rejected[:shown]:
        click.echo(f"  line {r.line}: {r.reason}", err=True)


# -- demo ---------------------------------------------------------------------------------


@cli.command("demo")
@click.option(
    "--records", "count", type=click.IntRange(1, 1_000_000), default=200, show_default=True
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.pass_context
def demo_cmd(ctx: click.Context, count: int, seed: int) -> None:
    """Load a synthetic demo set: drawn, obviously fake portraits (never real people)."""
    from retention.ingest.demo import write_demo_set

    ctx.invoke(init)
    # The plaintext demo files live only in a temporary folder for the length of the import.
    with tempfile.TemporaryDirectory(prefix="mugshot-demo-") as tmp:
        with progress(count, "drawing portraits") as tick:
            manifest = write_demo_set(Path(tmp), count, seed, progress=tick)
        report = _import_with_progress(ctx, manifest, count)
    click.echo(
        f"demo set: {report.imported} records imported, {report.skipped} already present, "
        f"{len(report.rejected)} rejected"
    )
    if report.rejected:
        _echo_rejected(report, 10)
        sys.exit(1)
    from sqlalchemy import select

    from retention.db.models import Record

    with services_of(ctx) as services, services.readers() as session:
        samples = session.execute(
            select(Record.booking_number).order_by(Record.created_at, Record.id).limit(3)
        ).scalars()
        for booking in samples:
            click.echo(f"try: mugshot record show {booking}")


# -- scheduler and status -------------------------------------------------------------------


@cli.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the scheduler: sweep, janitor, audit checkpoint and overdue check, while this process
    holds the database lease (a second process stands by and takes over if this one dies)."""
    import logging

    from retention.jobs.scheduler import build_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    with services_of(ctx) as services:
        build_scheduler(services, clock=utcnow).run_forever()


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Health: last sweep (warns when stale), janitor, checkpoint, lease, due and overdue work."""
    from retention.jobs import runs
    from retention.jobs.status import status as build_status

    with services_of(ctx) as services:
        now = utcnow()
        # A run whose process is gone is marked `abandoned` here, with an audit entry; the
        # report itself only reads (the dashboard builds it on GET).
        abandoned = runs.abandon_stale(
            services,
            now=now,
            actor=services.settings.actor,
            stale_after=runs.stale_after(services.settings),
        )
        report = build_status(services, now, abandoned=abandoned)
    if as_json:
        echo_json(report.to_json())
    else:
        click.echo("\n".join(report.lines()))
    if not report.healthy:
        sys.exit(1)


def main() -> None:
    """Console-script entry point."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyringError as exc:
        click.echo(f"error: keyring: {exc}", err=True)
        sys.exit(2)
    except RetentionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
