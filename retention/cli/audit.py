"""``mugshot audit verify|checkpoint|log``: verify, checkpoint and read the audit chain.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.audit``, ``retention.db``); no other command module.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from policies.bounded import StructureError, loads_json
from retention.audit import chain
from retention.cli.context import services_of, utcnow


@click.group("audit")
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
    with services_of(ctx) as services, services.readers() as session:
        result = chain.verify(session)
        problem = None
        if checkpoint is not None and result.ok:
            try:
                doc = loads_json(checkpoint.read_bytes(), what=str(checkpoint), max_bytes=1 << 20)
            except StructureError as exc:
                raise click.ClickException(str(exc)) from None
            except ValueError:
                raise click.ClickException(f"{checkpoint} is not a JSON checkpoint") from None
            problem = chain.verify_checkpoint(
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
    with services_of(ctx) as services, services.readers() as session:
        doc = chain.export_checkpoint(session, services.keyring, utcnow())
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

    with services_of(ctx) as services, services.readers() as session:
        rows = session.execute(
            select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
        ).scalars()
        for e in reversed(list(rows)):
            click.echo(
                f"{e.seq:>7}  {e.occurred_at.isoformat(timespec='seconds')}  {e.actor:<16} "
                f"{e.action:<26} {e.object_type or ''}:{e.object_id or ''} "
                f"{json.dumps(e.details, sort_keys=True)}"
            )
