"""``mugshot record show|why`` and ``mugshot image export``: read one record, its decision trace
and its images.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.engine``, ``retention.db``, ``policies``); no other command module.
Revealing an identity and exporting an image are audited as disclosures by the engine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from policies.vocabulary import Purpose
from retention.cli.context import echo_json, iso, parse_date, services_of, settings_of, utcnow
from retention.db.models import ImageKind
from retention.engine import records, sealing


@click.group()
def record() -> None:
    """Look at records."""


@record.command("show")
@click.argument("ref")
@click.option("--agency", default=None, help="Agency, when a booking number is not unique.")
@click.option(
    "--reveal",
    is_flag=True,
    help="Decrypt the booking number, identity fields and offence (audited; needs --reason).",
)
@click.option("--reason", default="", help="Why the identity is revealed (recorded in the audit).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def record_show(
    ctx: click.Context, ref: str, agency: str | None, reveal: bool, reason: str, as_json: bool
) -> None:
    """Metadata, legal basis, images and provenance timeline of a record (by booking number,
    its short form ``bk-…`` or id). The booking shows as its short form: the number itself is
    sealed with the identity and printed only with ``--reveal`` (audited)."""
    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        v = records.view(session, rec)
        opener = sealing.Opener(session, services.keyring)
        identity = None
        if reveal:
            identity = records.reveal_identity(
                session, services.keyring, rec, actor=settings.actor, reason=reason, now=utcnow()
            )
        doc: dict[str, Any] = {
            "id": rec.id,
            "booking": rec.booking_ref,
            "agency": rec.agency,
            "jurisdiction": rec.jurisdiction,
            "holder": rec.holder,
            "data_kind": rec.data_kind,
            "status": rec.status,
            "legal_basis": rec.legal_basis,
            "arrest_date": iso(rec.arrest_date),
            "captured_on": iso(rec.captured_on),
            "age_at_capture": rec.age_at_capture,
            "offence_class": rec.offence_class,
            "mopi_group": rec.mopi_group,
            "outcome": rec.outcome,
            "outcome_on": iso(rec.outcome_on),
            "next_action": rec.next_action,
            "next_action_due": iso(rec.next_action_due),
            "decision_rule": rec.decision_rule,
            "source_system": rec.source_system,
            "data_key": "present" if v.has_key else "destroyed",
            "created_at": iso(rec.created_at),
            "purged_at": iso(rec.purged_at),
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
                {
                    "id": h.id,
                    "kind": h.kind,
                    "state": h.state,
                    "case_reference": opener.record(
                        rec.id,
                        sealing.row_field("legal_holds", h.id, "case_reference"),
                        h.case_reference_sealed,
                    ),
                }
                for h in v.holds
            ],
            "consents": [
                {
                    "purposes": c.purposes,
                    "given_on": iso(c.given_on),
                    "expires_on": iso(c.expires_on),
                    "withdrawn_on": iso(c.withdrawn_on),
                }
                for c in v.consents
            ],
            "provenance": [
                {
                    "at": iso(p.occurred_at),
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
        echo_json(doc)
        return
    _print_record(doc)


def _print_record(doc: dict[str, Any]) -> None:
    click.echo(f"Record {doc['id']}  [{doc['status']}]")
    for key in (
        "booking",
        "agency",
        "jurisdiction",
        "holder",
        "data_kind",
        "legal_basis",
        "arrest_date",
        "captured_on",
        "age_at_capture",
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


@click.group()
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
    settings = settings_of(ctx)
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite it")
    with services_of(ctx) as services, services.sessions() as session, session.begin():
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

    today = parse_date(on, "--on") or utcnow().date()
    with services_of(ctx) as services, services.readers() as session:
        rec = records.resolve(session, services.keyring, ref, agency)
        if rec.status == "purged":
            doc: dict[str, Any] = {
                "id": rec.id,
                "status": "purged",
                "purged_at": iso(rec.purged_at),
            }
            # The tombstone keeps the rule or decision that purged it, not the trace.
            doc["purged_by"] = {
                "rule": rec.decision_rule,
                "pack": rec.policy_pack,
                "version": rec.policy_version,
            }
        else:
            decision = decisions.evaluate_only(session, rec, today)
            sched = decisions.schedule_for(decision, status=rec.status)
            doc = decision.to_json() | {
                "status": rec.status,
                "evaluated_on": today.isoformat(),
                "scheduled_action": sched.action,
                "scheduled_due_on": iso(sched.due_on),
            }
    if as_json:
        echo_json(doc)
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
