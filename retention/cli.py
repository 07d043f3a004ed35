"""The ``mugshot`` console script: the one entry point for every job.

Layer: ``retention`` (outermost edge). Reads settings and the clock once, builds what a command
needs, and maps ``RetentionError`` to a clear message and a non-zero exit.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from retention import audit, keyops, records
from retention.blobstore import LocalBlobStore, open_blob_store
from retention.cli_policy import policy
from retention.errors import KeyringError, RetentionError
from retention.importer import import_manifest, scan_manifest, write_reject_report
from retention.models import ImageKind
from retention.services import Services, open_services
from retention.settings import Settings


def utcnow() -> dt.datetime:
    """The one clock of the CLI process."""
    return dt.datetime.now(dt.UTC)


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    assert settings is not None
    return settings


@contextmanager
def _services(ctx: click.Context) -> Iterator[Services]:
    services = open_services(_settings(ctx))
    try:
        yield services
    finally:
        services.close()


@contextmanager
def _progress(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; silent otherwise (logs and pipes stay clean)."""
    if length and sys.stderr.isatty():
        with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
            yield bar.update
    else:
        yield lambda _n: None


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


# -- init ---------------------------------------------------------------------------------


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the data directory and keyring, and migrate the database to the latest schema."""
    from retention.db import make_engine
    from retention.keys import Keyring
    from retention.schema import upgrade

    settings = _settings(ctx)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
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
    store = open_blob_store(settings.blob_store)
    if isinstance(store, LocalBlobStore):
        store.ensure_layout()
    with _services(ctx) as services:
        if created:
            with services.sessions() as session, session.begin():
                audit.append(
                    session,
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
    settings = _settings(ctx)
    _, rows = scan_manifest(manifest)
    with _services(ctx) as services, _progress(rows, "importing") as tick:
        report = import_manifest(
            manifest, services, actor=settings.actor, clock=utcnow, progress=tick
        )
    click.echo(
        f"{report.rows} rows: {report.imported} imported, {report.skipped} already present, "
        f"{len(report.rejected)} rejected"
    )
    if report.rejected:
        target = rejects or manifest.with_name(manifest.name + ".rejects.csv")
        write_reject_report(report, target)
        for r in report.rejected[:20]:
            click.echo(f"  line {r.line}: {r.reason}", err=True)
        if len(report.rejected) > 20:
            click.echo(f"  … and {len(report.rejected) - 20} more", err=True)
        click.echo(f"reject report: {target}", err=True)
        sys.exit(1)


# -- records ------------------------------------------------------------------------------


@cli.group()
def record() -> None:
    """Look at records."""


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@record.command("show")
@click.argument("ref")
@click.option("--agency", default=None, help="Agency, when a booking number is not unique.")
@click.option("--reveal", is_flag=True, help="Decrypt identity fields (audited; needs --reason).")
@click.option("--reason", default="", help="Why the identity is revealed (recorded in the audit).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def record_show(
    ctx: click.Context, ref: str, agency: str | None, reveal: bool, reason: str, as_json: bool
) -> None:
    """Metadata, legal basis, images and provenance timeline of a record (by booking or id)."""
    settings = _settings(ctx)
    with _services(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        v = records.view(session, rec)
        identity = None
        if reveal:
            identity = records.reveal_identity(
                session, services.keyring, rec, actor=settings.actor, reason=reason, now=utcnow()
            )
        doc: dict[str, Any] = {
            "id": rec.id,
            "booking_number": rec.booking_number,
            "agency": rec.agency,
            "jurisdiction": rec.jurisdiction,
            "holder": rec.holder,
            "data_kind": rec.data_kind,
            "status": rec.status,
            "legal_basis": rec.legal_basis,
            "arrest_date": _iso(rec.arrest_date),
            "captured_on": _iso(rec.captured_on),
            "age_at_capture": rec.age_at_capture,
            "offence": rec.offence,
            "offence_class": rec.offence_class,
            "mopi_group": rec.mopi_group,
            "outcome": rec.outcome,
            "outcome_on": _iso(rec.outcome_on),
            "next_action": rec.next_action,
            "next_action_due": _iso(rec.next_action_due),
            "decision_rule": rec.decision_rule,
            "source_system": rec.source_system,
            "data_key": "present" if v.has_key else "destroyed",
            "created_at": _iso(rec.created_at),
            "purged_at": _iso(rec.purged_at),
            "images": [
                {
                    "id": i.id,
                    "kind": i.kind,
                    "derived_from": i.derived_from,
                    "media_type": i.media_type,
                    "bytes": i.byte_size,
                    "width": i.width,
                    "height": i.height,
                    "sealed_sha256": i.sealed_sha256,
                }
                for i in v.images
            ],
            "holds": [
                {"id": h.id, "kind": h.kind, "state": h.state, "case_reference": h.case_reference}
                for h in v.holds
            ],
            "consents": [
                {
                    "purposes": c.purposes,
                    "given_on": _iso(c.given_on),
                    "expires_on": _iso(c.expires_on),
                    "withdrawn_on": _iso(c.withdrawn_on),
                }
                for c in v.consents
            ],
            "provenance": [
                {
                    "at": _iso(p.occurred_at),
                    "kind": p.kind,
                    "actor": p.actor,
                    "image_id": p.image_id,
                    "details": p.details,
                }
                for p in v.provenance
            ],
        }
        if identity is not None:
            doc["identity"] = identity
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    _print_record(doc)


def _print_record(doc: dict[str, Any]) -> None:
    click.echo(f"Record {doc['id']}  [{doc['status']}]")
    for key in (
        "booking_number",
        "agency",
        "jurisdiction",
        "holder",
        "data_kind",
        "legal_basis",
        "arrest_date",
        "captured_on",
        "age_at_capture",
        "offence",
        "offence_class",
        "mopi_group",
        "outcome",
        "outcome_on",
        "next_action",
        "next_action_due",
        "decision_rule",
        "source_system",
        "data_key",
        "created_at",
        "purged_at",
    ):
        if doc.get(key) is not None:
            click.echo(f"  {key:<16} {doc[key]}")
    if "identity" in doc:
        click.echo("  identity (revealed, audited):")
        for key, value in doc["identity"].items():
            click.echo(f"    {key:<14} {value}")
    click.echo("Images:")
    for i in doc["images"]:
        src = f" from {i['derived_from']}" if i["derived_from"] else ""
        click.echo(
            f"  {i['id']}  {i['kind']:<9} {i['media_type']:<10} {i['width']}x{i['height']} "
            f"{i['bytes']} B{src}"
        )
    if doc["holds"]:
        click.echo("Holds:")
        for h in doc["holds"]:
            click.echo(f"  {h['id']}  {h['kind']} {h['state']} {h['case_reference'] or ''}")
    click.echo("Provenance:")
    for p in doc["provenance"]:
        details = ", ".join(f"{k}={v}" for k, v in p["details"].items() if v is not None)
        click.echo(f"  {p['at']}  {p['kind']:<9} by {p['actor']}  {details}")


@cli.group()
def image() -> None:
    """Work with images."""


@image.command("export")
@click.argument("ref")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reason", required=True, help="Why the image is exported (audited).")
@click.option("--agency", default=None, help="Agency, when a booking number is not unique.")
@click.option("--image", "image_id", default=None, help="A specific image id.")
@click.option("--thumbnail", is_flag=True, help="Export the thumbnail instead of the original.")
@click.pass_context
def image_export(
    ctx: click.Context,
    ref: str,
    out: Path,
    reason: str,
    agency: str | None,
    image_id: str | None,
    thumbnail: bool,
) -> None:
    """Decrypt an image of a record to a file (mode 0600; audited as a disclosure)."""
    settings = _settings(ctx)
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite it")
    with _services(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        img, data = records.read_image(
            session,
            services.keyring,
            services.store,
            rec,
            actor=settings.actor,
            reason=reason,
            now=utcnow(),
            image_id=image_id,
            kind=ImageKind.THUMBNAIL if thumbnail else ImageKind.ORIGINAL,
            disclosed_to=f"file export by {settings.actor}",
        )
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    click.echo(f"wrote image {img.id} ({img.media_type}, {len(data)} bytes) to {out}")


# -- keys ---------------------------------------------------------------------------------


@cli.group()
def keys() -> None:
    """Key-encryption keys: status, rotation, retirement."""


@keys.command("status")
@click.pass_context
def keys_status(ctx: click.Context) -> None:
    """Every KEK version, how many data keys it wraps, and whether it can be retired."""
    with _services(ctx) as services:
        for s in keyops.status(services):
            state = (
                "active" if s.active else (f"retired {s.retired_at}" if s.retired_at else "live")
            )
            hint = "  (can be retired)" if s.retirable else ""
            click.echo(f"v{s.version}  {state:<10} data keys: {s.data_keys}{hint}")


@keys.command("rotate")
@click.pass_context
def keys_rotate(ctx: click.Context) -> None:
    """Add a KEK version and rewrap every data key under it (no blob is rewritten)."""
    settings = _settings(ctx)
    with _services(ctx) as services:
        total = sum(s.data_keys for s in keyops.status(services))
        with _progress(total, "rewrapping") as tick:
            report = keyops.rotate(services, actor=settings.actor, clock=utcnow, progress=tick)
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
    settings = _settings(ctx)
    with _services(ctx) as services:
        keyops.retire(services, version, actor=settings.actor, clock=utcnow)
    click.echo(
        f"v{version} retired: backups taken while it was live can no longer open records "
        "purged since."
    )


# -- audit --------------------------------------------------------------------------------


@cli.group("audit")
def audit_group() -> None:
    """The audit chain: verify, checkpoint, read."""


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Also check a previously exported checkpoint against the chain.",
)
@click.pass_context
def audit_verify(ctx: click.Context, checkpoint: Path | None) -> None:
    """Walk the whole chain; name the first entry that does not verify."""
    with _services(ctx) as services, services.readers() as session:
        result = audit.verify(session)
        problem = None
        if checkpoint is not None and result.ok:
            try:
                doc = json.loads(checkpoint.read_text())
            except ValueError:
                raise click.ClickException(f"{checkpoint} is not a JSON checkpoint") from None
            problem = audit.verify_checkpoint(
                session, doc, services.keyring.signing_public_key_pem()
            )
    if not result.ok:
        click.echo(
            f"FAILED at entry {result.first_bad_seq}: {result.problem} "
            f"({result.checked} entries verified before it)",
            err=True,
        )
        sys.exit(1)
    if problem is not None:
        click.echo(f"FAILED: checkpoint {checkpoint}: {problem}", err=True)
        sys.exit(1)
    click.echo(f"OK: {result.checked} entries verified; head {result.head_seq} {result.head_hash}")


@audit_group.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.pass_context
def audit_checkpoint(ctx: click.Context, out: Path | None) -> None:
    """Export a signed (seq, head hash) checkpoint to keep outside the database."""
    with _services(ctx) as services, services.readers() as session:
        doc = audit.export_checkpoint(session, services.keyring, utcnow())
    text = json.dumps(doc, indent=2)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n")
        click.echo(f"checkpoint at entry {doc['seq']} written to {out}")


@audit_group.command("log")
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_context
def audit_log(ctx: click.Context, limit: int) -> None:
    """The most recent audit entries (no personal data is ever in them)."""
    from sqlalchemy import select

    from retention.models import AuditEntry

    with _services(ctx) as services, services.readers() as session:
        rows = session.execute(
            select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
        ).scalars()
        for e in reversed(list(rows)):
            click.echo(
                f"{e.seq:>7}  {e.occurred_at.isoformat(timespec='seconds')}  {e.actor:<16} "
                f"{e.action:<26} {e.object_type or ''}:{e.object_id or ''} "
                f"{json.dumps(e.details, sort_keys=True)}"
            )


# -- demo ---------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--records", "count", type=click.IntRange(1, 1_000_000), default=200, show_default=True
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.pass_context
def demo(ctx: click.Context, count: int, seed: int) -> None:
    """Load a synthetic demo set: drawn, obviously fake portraits (never real people)."""
    from retention.demo import write_demo_set

    settings = _settings(ctx)
    ctx.invoke(init)
    # The plaintext demo files live only in a temporary folder for the length of the import.
    with tempfile.TemporaryDirectory(prefix="mugshot-demo-") as tmp:
        with _progress(count, "drawing portraits") as tick:
            manifest = write_demo_set(Path(tmp), count, seed, progress=tick)
        with _services(ctx) as services, _progress(count, "importing") as tick:
            report = import_manifest(
                manifest, services, actor=settings.actor, clock=utcnow, progress=tick
            )
    click.echo(
        f"demo set: {report.imported} records imported, {report.skipped} already present, "
        f"{len(report.rejected)} rejected"
    )
    if report.rejected:
        for r in report.rejected[:10]:
            click.echo(f"  line {r.line}: {r.reason}", err=True)
        sys.exit(1)
    from sqlalchemy import select

    from retention.models import Record

    with _services(ctx) as services, services.readers() as session:
        samples = session.execute(
            select(Record.booking_number).order_by(Record.created_at, Record.id).limit(3)
        ).scalars()
        for booking in samples:
            click.echo(f"try: mugshot record show {booking}")


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
