"""The ``mugshot`` console script: the one entry point for every job.

Layer: ``retention.cli`` (outermost edge). Reads settings and the clock once, builds what a command
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

from policies.vocabulary import HoldKind, Jurisdiction, Outcome, Purpose
from retention.audit import chain as audit
from retention.cli.context import services_of, settings_of
from retention.cli.policy import policy
from retention.cli.users import user
from retention.db.models import ImageKind
from retention.engine import records
from retention.errors import KeyringError, RetentionError
from retention.ingest.importer import import_manifest, scan_manifest, write_reject_report
from retention.jobs import rotation
from retention.settings import Settings
from retention.storage.factory import open_blob_store
from retention.storage.local import LocalBlobStore


def utcnow() -> dt.datetime:
    """The one clock of the CLI process."""
    return dt.datetime.now(dt.UTC)


_settings = settings_of
_services = services_of


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


cli.add_command(policy)
cli.add_command(user)


# -- init ---------------------------------------------------------------------------------


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the data directory and keyring, and migrate the database to the latest schema."""
    from retention.db.schema import upgrade
    from retention.db.sessions import make_engine
    from retention.keys.keyring import Keyring

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
    store = open_blob_store(
        settings.blob_store, s3_endpoint_url=settings.s3_endpoint_url, region=settings.aws_region
    )
    if isinstance(store, LocalBlobStore):
        store.ensure_layout()
    else:
        ensure = getattr(store, "ensure_bucket", None)
        if ensure is not None:
            ensure()
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
@click.option(
    "--purpose",
    default=Purpose.IDENTIFICATION.value,
    show_default=True,
    type=click.Choice([p.value for p in Purpose]),
    help="What the image is for; a restricted record opens only for a purpose its rule allows.",
)
@click.pass_context
def image_export(
    ctx: click.Context,
    ref: str,
    out: Path,
    reason: str,
    agency: str | None,
    image_id: str | None,
    thumbnail: bool,
    purpose: str,
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
            purpose=purpose,
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
    settings = _settings(ctx)
    with _services(ctx) as services:
        total = sum(s.data_keys for s in rotation.status(services))
        with _progress(total, "rewrapping") as tick:
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
    settings = _settings(ctx)
    with _services(ctx) as services:
        rotation.retire(services, version, actor=settings.actor, clock=utcnow)
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

    from retention.db.models import AuditEntry

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


@cli.command("demo")
@click.option(
    "--records", "count", type=click.IntRange(1, 1_000_000), default=200, show_default=True
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.pass_context
def demo_cmd(ctx: click.Context, count: int, seed: int) -> None:
    """Load a synthetic demo set: drawn, obviously fake portraits (never real people)."""
    from retention.ingest.demo import write_demo_set

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

    from retention.db.models import Record

    with _services(ctx) as services, services.readers() as session:
        samples = session.execute(
            select(Record.booking_number).order_by(Record.created_at, Record.id).limit(3)
        ).scalars()
        for booking in samples:
            click.echo(f"try: mugshot record show {booking}")


# -- decisions and fact changes ------------------------------------------------------------


def _date(value: str | None, what: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=what) from None


@record.command("why")
@click.argument("ref")
@click.option("--agency", default=None)
@click.option("--on", "on", default=None, help="Evaluate as of this date (default: today).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def record_why(
    ctx: click.Context, ref: str, agency: str | None, on: str | None, as_json: bool
) -> None:
    """The decision trace: pack, version, rule, citation, facts used, dates, purposes."""
    from retention.engine import decisions

    today = _date(on, "--on") or utcnow().date()
    with _services(ctx) as services, services.readers() as session:
        rec = records.resolve(session, services.keyring, ref, agency)
        if rec.status == "purged":
            doc: dict[str, Any] = {
                "id": rec.id,
                "status": "purged",
                "purged_at": _iso(rec.purged_at),
            }
            doc["last_decision"] = rec.decision_trace
        else:
            decision = decisions.evaluate_only(session, rec, today)
            sched = decisions.schedule_for(decision, status=rec.status)
            doc = decision.to_json() | {
                "status": rec.status,
                "evaluated_on": today.isoformat(),
                "scheduled_action": sched.action,
                "scheduled_due_on": _iso(sched.due_on),
            }
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    if doc.get("status") == "purged":
        click.echo(f"Record {doc['id']} was purged at {doc['purged_at']}.")
        return
    click.echo(f"Record {doc['id']}  [{doc['status']}]  as of {doc['evaluated_on']}")
    click.echo(f"  decision     {doc['action']} due {doc['due_on']}")
    if doc.get("next_action"):
        click.echo(f"  then         {doc['next_action']} due {doc['next_due_on']}")
    for key in ("retain_until", "respond_by"):
        if doc.get(key):
            click.echo(f"  {key:<12} {doc[key]}")
    click.echo(f"  scheduled    {doc['scheduled_action']} {doc['scheduled_due_on'] or ''}")
    click.echo(f"  pack         {doc['pack']} version {doc['pack_version']}")
    click.echo(f"  rule         {doc['rule']}")
    click.echo(f"  citation     {doc['citation']}")
    click.echo(f"  why          {doc['explanation']}")
    click.echo(f"  purposes     {', '.join(doc['purposes']) or '(none)'}")
    click.echo("  facts used:")
    for name, value in doc["facts_used"].items():
        click.echo(f"    {name:<24} {value}")


@cli.group()
def outcome() -> None:
    """Case outcomes."""


@outcome.command("set")
@click.argument("ref")
@click.option("--outcome", "value", required=True, type=click.Choice([o.value for o in Outcome]))
@click.option("--on", "on", default=None, help="Date of the outcome (YYYY-MM-DD).")
@click.option("--agency", default=None)
@click.pass_context
def outcome_set(
    ctx: click.Context, ref: str, value: str, on: str | None, agency: str | None
) -> None:
    """Record the outcome of the case the image was taken for; the record is re-evaluated."""
    from retention.engine import changes

    settings = _settings(ctx)
    with _services(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        decision = changes.set_outcome(
            session,
            rec.id,
            outcome=Outcome(value),
            on=_date(on, "--on"),
            actor=settings.actor,
            now=utcnow(),
        )
    click.echo(
        f"outcome {value}; next: {decision.action.value} due {decision.due_on} ({decision.rule})"
    )


@cli.group()
def consent() -> None:
    """Consent for consent-based records."""


@consent.command("record")
@click.argument("ref")
@click.option("--given", required=True, help="Date consent was given.")
@click.option("--purposes", required=True, help="Comma-separated purposes.")
@click.option("--expires", default=None)
@click.option("--evidence", default=None, help="Reference to the signed release.")
@click.option("--agency", default=None)
@click.pass_context
def consent_record(
    ctx: click.Context,
    ref: str,
    given: str,
    purposes: str,
    expires: str | None,
    evidence: str | None,
    agency: str | None,
) -> None:
    """Record a consent."""
    from retention.engine import changes

    try:
        wanted = [Purpose(p.strip()) for p in purposes.split(",") if p.strip()]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--purposes") from None
    settings = _settings(ctx)
    with _services(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        given_on = _date(given, "--given")
        assert given_on is not None
        decision = changes.record_consent(
            session,
            rec.id,
            given_on=given_on,
            purposes=wanted,
            expires_on=_date(expires, "--expires"),
            evidence_ref=evidence,
            actor=settings.actor,
            now=utcnow(),
        )
    click.echo(f"consent recorded; next: {decision.action.value} due {decision.due_on}")


@consent.command("withdraw")
@click.argument("ref")
@click.option("--on", "on", default=None, help="Date of withdrawal (default: today).")
@click.option("--agency", default=None)
@click.pass_context
def consent_withdraw(ctx: click.Context, ref: str, on: str | None, agency: str | None) -> None:
    """Withdraw consent; consent-based data falls due for purge, other data is unaffected."""
    from retention.engine import changes

    settings = _settings(ctx)
    now = utcnow()
    with _services(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        decision = changes.withdraw_consent(
            session, rec.id, on=_date(on, "--on") or now.date(), actor=settings.actor, now=now
        )
    click.echo(
        f"consent withdrawn; next: {decision.action.value} due {decision.due_on} ({decision.rule})"
    )


@cli.group()
def hold() -> None:
    """Legal holds (four eyes: place then approve; request release then confirm)."""


@hold.command("place")
@click.argument("ref")
@click.option("--kind", required=True, type=click.Choice([k.value for k in HoldKind]))
@click.option("--reason", required=True)
@click.option("--case", "case_reference", default=None)
@click.option("--agency", default=None)
@click.pass_context
def hold_place(
    ctx: click.Context,
    ref: str,
    kind: str,
    reason: str,
    case_reference: str | None,
    agency: str | None,
) -> None:
    """Place a hold; it blocks purge at once, pending a second person's approval."""
    from retention.engine import changes

    settings = _settings(ctx)
    with _services(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        placed = changes.place_hold(
            session,
            rec.id,
            kind=HoldKind(kind),
            reason=reason,
            case_reference=case_reference,
            actor=settings.actor,
            now=utcnow(),
        )
    click.echo(f"hold {placed.id} placed (pending approval by someone other than {settings.actor})")


@hold.command("approve")
@click.argument("hold_id")
@click.pass_context
def hold_approve(ctx: click.Context, hold_id: str) -> None:
    """Approve a pending hold (not by the person who placed it)."""
    from retention.engine import changes

    settings = _settings(ctx)
    with _services(ctx) as services, services.sessions() as session, session.begin():
        changes.approve_hold(session, hold_id, actor=settings.actor, now=utcnow())
    click.echo(f"hold {hold_id} approved")


@hold.command("release")
@click.argument("hold_id")
@click.pass_context
def hold_release(ctx: click.Context, hold_id: str) -> None:
    """Ask for a hold's release; run again as a second person to confirm it."""
    from retention.engine import changes

    settings = _settings(ctx)
    with _services(ctx) as services, services.sessions() as session, session.begin():
        _, decision = changes.release_hold(session, hold_id, actor=settings.actor, now=utcnow())
    if decision is None:
        click.echo(f"release of hold {hold_id} requested; a second person must confirm it")
    else:
        click.echo(f"hold {hold_id} released; next: {decision.action.value} due {decision.due_on}")


@hold.command("list")
@click.argument("ref", required=False)
@click.option("--agency", default=None)
@click.pass_context
def hold_list(ctx: click.Context, ref: str | None, agency: str | None) -> None:
    """Holds not yet released (of one record, or all)."""
    from sqlalchemy import select

    from retention.db.models import LegalHold

    with _services(ctx) as services, services.readers() as session:
        stmt = select(LegalHold).where(LegalHold.state != "released")
        if ref:
            stmt = stmt.where(
                LegalHold.record_id == records.resolve(session, services.keyring, ref, agency).id
            )
        for h in session.execute(stmt.order_by(LegalHold.placed_at)).scalars():
            asked = h.release_requested_by
            click.echo(
                f"{h.id}  record {h.record_id}  {h.kind:<10} {h.state:<8} placed by {h.placed_by}"
                + (f"  release requested by {asked}" if asked else "")
            )


@cli.group()
def review() -> None:
    """The disposition-review queue."""


@review.command("list")
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_context
def review_list(ctx: click.Context, limit: int) -> None:
    """Records whose rule says a person must decide, oldest first."""
    from sqlalchemy import select

    from retention.db.models import Record

    with _services(ctx) as services, services.readers() as session:
        rows = session.execute(
            select(Record)
            .where(Record.next_action == "review", Record.review_queued_at.is_not(None))
            .order_by(Record.review_due_on, Record.id)
            .limit(limit)
        ).scalars()
        for r in rows:
            click.echo(
                f"{r.id}  {r.booking_number or '':<18} {r.jurisdiction:<7} due {r.review_due_on}  "
                f"{r.decision_rule}"
            )


@review.command("decide")
@click.argument("ref")
@click.option(
    "--decision",
    "value",
    required=True,
    type=click.Choice(["keep", "keep_exceptional", "restrict", "purge"]),
)
@click.option("--reason", required=True)
@click.option("--agency", default=None)
@click.pass_context
def review_decide(
    ctx: click.Context, ref: str, value: str, reason: str, agency: str | None
) -> None:
    """Decide a review: keep, keep for an exceptional reason, restrict now, or purge now."""
    from retention.engine import changes
    from retention.engine.purge import delete_blobs

    settings = _settings(ctx)
    with _services(ctx) as services:
        with services.sessions() as session, session.begin():
            rec = records.resolve(session, services.keyring, ref, agency)
            result = changes.decide_review(
                session,
                services.keyring,
                rec.id,
                outcome=changes.ReviewOutcome(value),
                reason=reason,
                actor=settings.actor,
                now=utcnow(),
            )
        if result.purged is not None:
            delete_blobs(services.store, result.purged.blob_keys)
            click.echo(f"record purged; certificate {result.purged.certificate.id}")
        elif result.decision is not None:
            d = result.decision
            click.echo(f"decided {value}; next: {d.action.value} due {d.due_on}")


# -- sweep, janitor --------------------------------------------------------------------------


@cli.command()
@click.option("--dry-run", is_flag=True, help="Show exactly what would happen; change nothing.")
@click.option("--on", "on", default=None, help="Sweep as of this date (default: today).")
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--confirm-by", default=None, help="Supervisor confirming a mass purge (safety belt)."
)
@click.pass_context
def sweep(
    ctx: click.Context, dry_run: bool, on: str | None, as_json: bool, confirm_by: str | None
) -> None:
    """Purge, restrict or queue for review every record whose next action is due."""
    from retention.jobs.sweep import run_sweep

    settings = _settings(ctx)
    if confirm_by is not None and confirm_by == settings.actor:
        raise click.UsageError("--confirm-by must name a supervisor other than the actor")
    today = _date(on, "--on") or utcnow().date()
    with _services(ctx) as services:
        report = run_sweep(
            services,
            today=today,
            clock=utcnow,
            actor=settings.actor,
            dry_run=dry_run,
            confirmed_by=confirm_by,
        )
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        verb = "would" if dry_run else "did"
        click.echo(
            f"sweep {today} ({'dry run' if dry_run else 'real'}): {verb} purge "
            f"{report.counts['purged']}, restrict {report.counts['restricted']}, queue "
            f"{report.counts['review_queued']} for review; {report.counts['rescheduled']} no "
            f"longer due; {report.seconds:.2f}s"
        )
        for a in report.actions[:200]:
            click.echo(f"  {a.action:<8} {a.record_id}  due {a.due_on}  {a.rule}")
        for err in report.errors:
            click.echo(f"  ! {err}", err=True)
    if report.blocked:
        sys.exit(3)
    if report.errors:
        sys.exit(1)


@cli.command()
@click.pass_context
def janitor(ctx: click.Context) -> None:
    """Delete blobs no key can open any more, and leftovers of interrupted writes."""
    from retention.jobs.janitor import run_janitor

    settings = _settings(ctx)
    with _services(ctx) as services:
        report = run_janitor(services, clock=utcnow, actor=settings.actor)
    click.echo(
        f"checked {report.checked} blobs: removed {report.shredded} of purged records, "
        f"{report.orphans} orphans, {report.temp_files} temp files"
    )


# -- certificates, purposes, gallery, enact -------------------------------------------------


@cli.group()
def cert() -> None:
    """Deletion certificates."""


@cert.command("pubkey")
@click.pass_context
def cert_pubkey(ctx: click.Context) -> None:
    """Print the public key that verifies certificates (PEM)."""
    from retention.keys.keyring import Keyring

    click.echo(
        Keyring.load(_settings(ctx).keyring_file).signing_public_key_pem().decode(), nl=False
    )


@cert.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--pubkey",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PEM public key (default: this installation's). Nothing else is needed.",
)
@click.pass_context
def cert_verify(ctx: click.Context, file: Path, pubkey: Path | None) -> None:
    """Verify a deletion certificate's signature."""
    from retention.engine import certificates
    from retention.keys.keyring import Keyring

    pem = (
        pubkey.read_bytes()
        if pubkey
        else Keyring.load(_settings(ctx).keyring_file).signing_public_key_pem()
    )
    try:
        doc = json.loads(file.read_text())
    except ValueError:
        click.echo(f"INVALID: {file} is not JSON", err=True)
        sys.exit(1)
    problem = certificates.verify(doc, pem)
    if problem:
        click.echo(f"INVALID: {problem}", err=True)
        sys.exit(1)
    body = doc["certificate"]
    click.echo(
        f"VALID: certificate {body['certificate_id']} — record {body['record_id']} destroyed at "
        f"{body['destroyed_at']} ({len(body['destroyed']['images'])} images, data key "
        f"{body['destroyed']['data_key']['id']}); audit entry {body['audit']['seq']}"
    )


@cert.command("export")
@click.argument("ref")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def cert_export(ctx: click.Context, ref: str, out: Path) -> None:
    """Write the certificate of a purged record (by record id or certificate id)."""
    from sqlalchemy import or_, select

    from retention.db.models import Certificate
    from retention.engine import certificates

    with _services(ctx) as services, services.readers() as session:
        found = session.execute(
            select(Certificate).where(or_(Certificate.record_id == ref, Certificate.id == ref))
        ).scalar_one_or_none()
        if found is None:
            raise click.ClickException(f"no certificate for {ref!r}")
        doc = certificates.document(found, services.keyring.signing_public_key_pem())
    out.write_text(json.dumps(doc, indent=2) + "\n")
    click.echo(f"certificate {found.id} written to {out}")


@cli.group()
def purpose() -> None:
    """Purpose gates."""


@purpose.command("check")
@click.argument("ref")
@click.option("--purpose", "value", required=True, type=click.Choice([p.value for p in Purpose]))
@click.option("--agency", default=None)
@click.pass_context
def purpose_check(ctx: click.Context, ref: str, value: str, agency: str | None) -> None:
    """May this record be used for this purpose today? Answers yes or no, with the rule."""
    from retention.engine import decisions

    with _services(ctx) as services, services.readers() as session:
        rec = records.resolve(session, services.keyring, ref, agency)
        if rec.status == "purged":
            click.echo("no: the record was purged")
            sys.exit(1)
        decision = decisions.evaluate_only(session, rec, utcnow().date())
    allowed = Purpose(value) in decision.purposes
    click.echo(f"{'yes' if allowed else 'no'}: {decision.rule} — {decision.explanation}")
    if not allowed:
        sys.exit(1)


@cli.group()
def gallery() -> None:
    """Purpose-gated gallery export."""


@gallery.command("export")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--purpose", "value", required=True, type=click.Choice([p.value for p in Purpose]))
@click.option("--jurisdiction", required=True, type=click.Choice([j.value for j in Jurisdiction]))
@click.pass_context
def gallery_export(ctx: click.Context, out: Path, value: str, jurisdiction: str) -> None:
    """Export the records permitted for a purpose today into a new folder (see README)."""
    from retention.engine.gallery import export_gallery

    settings = _settings(ctx)
    with _services(ctx) as services:
        report = export_gallery(
            services,
            purpose=Purpose(value),
            jurisdiction=Jurisdiction(jurisdiction),
            out=out,
            today=utcnow().date(),
            clock=utcnow,
            actor=settings.actor,
        )
    click.echo(
        f"export {report.export_id}: {report.exported} records ({report.files} images) written "
        f"to {out}; {report.withheld} withheld"
    )
    for rule, n in sorted(report.withheld_by_rule.items(), key=lambda kv: -kv[1])[:10]:
        click.echo(f"  withheld {n:>6} by {rule}")


@policy.command("enact")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--approved-by", required=True, help="The supervisor approving (not the actor).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation after the difference.")
@click.pass_context
def policy_enact(ctx: click.Context, file: Path, approved_by: str, yes: bool) -> None:
    """Enact a new pack version: show how many records change fate, then apply it."""
    from policies import PackError
    from retention.engine import enact

    settings = _settings(ctx)
    if approved_by == settings.actor:
        raise click.UsageError("--approved-by must name a second person")
    with _services(ctx) as services:
        try:
            diff = enact.preview(services, file, today=utcnow().date())
        except PackError as exc:
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            raise click.ClickException(f"{file} is not a valid pack") from None
        click.echo(
            f"{diff.pack_id} {diff.version} ({', '.join(diff.jurisdictions)}): {diff.records} "
            f"records evaluated in {diff.seconds:.1f}s, {diff.changed} change their next action"
        )
        for transition, n in diff.transitions.most_common():
            click.echo(f"  {transition:<22} {n}")
        if not yes and not click.confirm("Enact this version?", default=False):
            raise click.exceptions.Abort()
        done = enact.enact(
            services, file, actor=settings.actor, approved_by=approved_by, clock=utcnow
        )
    click.echo(
        f"enacted {done.pack_id} {done.version}; {done.records} records re-evaluated "
        f"in {done.seconds:.1f}s"
    )


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
    with _services(ctx) as services:
        build_scheduler(services, clock=utcnow).run_forever()


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Health: last sweep (warns when stale), janitor, checkpoint, lease, due and overdue work."""
    from retention.jobs.status import status as build_status

    with _services(ctx) as services:
        report = build_status(services, utcnow())
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo("\n".join(report.lines()))
    if not report.healthy:
        sys.exit(1)


# -- API tokens, the web server --------------------------------------------------------------


@cli.group()
def token() -> None:
    """API tokens for booking systems."""


@token.command("add")
@click.argument("name")
@click.pass_context
def token_add(ctx: click.Context, name: str) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    from retention.accounts import tokens

    settings = _settings(ctx)
    with _services(ctx) as services, services.sessions() as session, session.begin():
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

    with _services(ctx) as services, services.readers() as session:
        for t in session.execute(select(ApiToken).order_by(ApiToken.created_at)).scalars():
            state = f"revoked {t.revoked_at.isoformat()}" if t.revoked_at else "live"
            click.echo(f"{t.id}  {t.name:<24} {state}  created by {t.created_by}")


@token.command("revoke")
@click.argument("token_id")
@click.pass_context
def token_revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke a token at once."""
    from retention.accounts import tokens

    settings = _settings(ctx)
    with _services(ctx) as services, services.sessions() as session, session.begin():
        tokens.revoke(session, token_id, actor=settings.actor, now=utcnow())
    click.echo(f"token {token_id} revoked")


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
