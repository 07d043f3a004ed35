"""``mugshot sweep``, ``mugshot janitor`` and ``mugshot cert pubkey|verify|export``: purging
what is due, deleting what no key opens any more, and the signed certificates that prove it.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.jobs``, ``retention.engine``, ``retention.keys``, ``retention.db``);
no other command module. Exit status of ``sweep``: 3 when the safety belt blocked a mass purge,
1 when some records failed or the confirming supervisor (``--confirm-by``, signed in through
``retention.cli.context.second_person``) was refused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from policies.bounded import StructureError, loads_json
from retention.cli.context import (
    echo_json,
    parse_date,
    second_person,
    second_person_options,
    services_of,
    settings_of,
    utcnow,
)


@click.command()
@click.option("--dry-run", is_flag=True, help="Show exactly what would happen; change nothing.")
@click.option("--on", "on", default=None, help="Sweep as of this date (default: today).")
@click.option("--json", "as_json", is_flag=True)
@second_person_options(
    "--confirm-by",
    "Supervisor confirming a mass purge (safety belt), who signs in here; never the actor.",
)
@click.pass_context
def sweep(
    ctx: click.Context,
    dry_run: bool,
    on: str | None,
    as_json: bool,
    confirm_by: str | None,
    credentials_stdin: bool,
) -> None:
    """Purge, restrict or queue for review every record whose next action is due.

    With --confirm-by, the supervisor signs in (password and TOTP code) before anything runs."""
    from retention.jobs.sweep import run_sweep

    settings = settings_of(ctx)
    real_today = utcnow().date()
    today = parse_date(on, "--on") or real_today
    if today > real_today and not dry_run:
        # A date in the future would act on what is not due yet; only a dry run may look ahead.
        raise click.BadParameter(
            f"{today.isoformat()} is in the future; a sweep acts as of today or earlier "
            "(use --dry-run to see what a later date would do)",
            param_hint="--on",
        )
    with services_of(ctx) as services:
        if confirm_by is not None:
            confirm_by = second_person(
                services,
                confirm_by,
                purpose="sweep.confirm",
                subject=today.isoformat(),
                first=settings.actor,
                first_did="runs the sweep (--actor)",
                credentials_stdin=credentials_stdin,
            )
        report = run_sweep(
            services,
            today=today,
            clock=utcnow,
            actor=settings.actor,
            dry_run=dry_run,
            confirmed_by=confirm_by,
        )
    if as_json:
        echo_json(report.to_json())
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


@click.command()
@click.pass_context
def janitor(ctx: click.Context) -> None:
    """Delete blobs no key can open any more, and leftovers of interrupted writes."""
    from retention.jobs.janitor import run_janitor

    settings = settings_of(ctx)
    with services_of(ctx) as services:
        report = run_janitor(services, clock=utcnow, actor=settings.actor)
    click.echo(
        f"checked {report.checked} blobs: removed {report.shredded} of purged records, "
        f"{report.orphans} orphans, {report.temp_files} temp files"
    )


@click.group()
def cert() -> None:
    """Deletion certificates."""


@cert.command("pubkey")
@click.pass_context
def cert_pubkey(ctx: click.Context) -> None:
    """Print the public key that verifies certificates (PEM)."""
    from retention.keys.keyring import Keyring

    click.echo(
        Keyring.load(settings_of(ctx).keyring_file).signing_public_key_pem().decode(), nl=False
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
        else Keyring.load(settings_of(ctx).keyring_file).signing_public_key_pem()
    )
    try:
        doc = loads_json(file.read_bytes(), what=str(file), max_bytes=1024 * 1024)
    except StructureError as exc:
        click.echo(f"INVALID: {exc}", err=True)
        sys.exit(1)
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

    with services_of(ctx) as services, services.readers() as session:
        found = session.execute(
            select(Certificate).where(or_(Certificate.record_id == ref, Certificate.id == ref))
        ).scalar_one_or_none()
        if found is None:
            raise click.ClickException(f"no certificate for {ref!r}")
        doc = certificates.document(found, services.keyring.signing_public_key_pem())
    out.write_text(json.dumps(doc, indent=2) + "\n")
    click.echo(f"certificate {found.id} written to {out}")
