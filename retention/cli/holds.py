"""``mugshot hold place|approve|release|review|list``: legal holds, under four eyes.

The second person — the approver, and the one who confirms a release — is a supervisor who signs
in on the spot (``retention.cli.context.second_person``), not a name: ``--actor`` alone never
approves or releases anything. That account is recorded as the approver or releaser.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.engine``, ``retention.db``, ``policies``); no other command module.
"""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from policies.vocabulary import HoldKind
from retention.cli.context import (
    next_step,
    parse_date,
    second_person,
    second_person_options,
    services_of,
    settings_of,
    utcnow,
)
from retention.db.models import HoldState, LegalHold
from retention.engine import records
from retention.errors import HoldError, NotFoundError


@click.group()
def hold() -> None:
    """Legal holds (four eyes: place then approve; request release then confirm)."""


@hold.command("place")
@click.argument("ref")
@click.option("--kind", required=True, type=click.Choice([k.value for k in HoldKind]))
@click.option("--reason", required=True)
@click.option("--case", "case_reference", default=None)
@click.option("--agency", default=None)
@click.option(
    "--review-on",
    default=None,
    help="YYYY-MM-DD: the day a supervisor should look at the hold again.",
)
@click.pass_context
def hold_place(
    ctx: click.Context,
    ref: str,
    kind: str,
    reason: str,
    case_reference: str | None,
    agency: str | None,
    review_on: str | None,
) -> None:
    """Place a hold; it blocks purge at once, pending a second person's approval."""
    from retention.engine import changes

    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        rec = records.resolve(session, services.keyring, ref, agency)
        placed = changes.place_hold(
            session,
            services.keyring,
            rec.id,
            kind=HoldKind(kind),
            reason=reason,
            case_reference=case_reference,
            actor=settings.actor,
            now=utcnow(),
            review_on=parse_date(review_on, "--review-on"),
        )
    click.echo(f"hold {placed.id} placed (pending approval by someone other than {settings.actor})")


def _hold_now(session: Session, hold_id: str, *, lock: bool = False) -> LegalHold:
    """The hold as stored now (locked when ``lock``), or ``NotFoundError``."""
    stmt = select(LegalHold).where(LegalHold.id == hold_id)
    if lock:
        stmt = stmt.with_for_update()
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"no hold {hold_id}")
    return found


@hold.command("approve")
@click.argument("hold_id")
@second_person_options(
    "--approved-by",
    "The supervisor approving, who signs in here (default: the --actor). Never the "
    "account that placed the hold.",
)
@click.option("--comment", default=None, help="The approver's comment (sealed, audited).")
@click.pass_context
def hold_approve(
    ctx: click.Context,
    hold_id: str,
    approved_by: str | None,
    credentials_stdin: bool,
    comment: str | None,
) -> None:
    """Approve a pending hold: a supervisor other than the placer signs in (password and TOTP
    code) and becomes its approver."""
    from retention.engine import changes

    settings = settings_of(ctx)
    with services_of(ctx) as services:
        with services.readers() as session:
            pending = _hold_now(session, hold_id)
            if pending.state != HoldState.PENDING.value:
                raise HoldError(f"hold {hold_id} is {pending.state}, not pending")
            placed_by = pending.placed_by
        approver = second_person(
            services,
            approved_by or settings.actor,
            purpose="hold.approve",
            subject=hold_id,
            first=placed_by,
            first_did="placed the hold",
            credentials_stdin=credentials_stdin,
        )
        with services.sessions() as session, session.begin():
            changes.approve_hold(
                session,
                hold_id,
                actor=approver,
                now=utcnow(),
                comment=comment,
                keyring=services.keyring,
            )
    click.echo(f"hold {hold_id} approved by {approver}")


@hold.command("release")
@click.argument("hold_id")
@second_person_options(
    "--confirm-by",
    "On the confirming call: the supervisor confirming, who signs in here (default: the "
    "--actor). Never the account that asked for the release.",
)
@click.option("--comment", default=None, help="Why release it (sealed, audited).")
@click.pass_context
def hold_release(
    ctx: click.Context,
    hold_id: str,
    confirm_by: str | None,
    credentials_stdin: bool,
    comment: str | None,
) -> None:
    """Ask for a hold's release (as the --actor); run again to confirm it, as a supervisor
    other than the one who asked, who signs in (password and TOTP code)."""
    from retention.engine import changes

    settings = settings_of(ctx)
    with services_of(ctx) as services:
        with services.readers() as session:
            held = _hold_now(session, hold_id)
            if held.state == HoldState.RELEASED.value:
                raise HoldError(f"hold {hold_id} is already released")
            requested_by = held.release_requested_by
        if requested_by is None:
            if confirm_by is not None or credentials_stdin:
                raise click.UsageError(
                    f"the release of hold {hold_id} has not been requested yet: run without "
                    "--confirm-by to request it, then confirm it as a second person"
                )
            with services.sessions() as session, session.begin():
                if _hold_now(session, hold_id, lock=True).release_requested_by is not None:
                    # Requested meanwhile: this call must not become an unauthenticated confirm.
                    raise click.ClickException(
                        f"the release of hold {hold_id} was requested meanwhile; run again, "
                        "signed in as a second person, to confirm it"
                    )
                changes.release_hold(
                    session,
                    hold_id,
                    actor=settings.actor,
                    now=utcnow(),
                    comment=comment,
                    keyring=services.keyring,
                )
            click.echo(f"release of hold {hold_id} requested; a second person must confirm it")
            return
        confirmer = second_person(
            services,
            confirm_by or settings.actor,
            purpose="hold.release",
            subject=hold_id,
            first=requested_by,
            first_did="asked for the release",
            credentials_stdin=credentials_stdin,
        )
        with services.sessions() as session, session.begin():
            _, decision = changes.release_hold(
                session,
                hold_id,
                actor=confirmer,
                now=utcnow(),
                comment=comment,
                keyring=services.keyring,
            )
    after = f"; {next_step(decision)}" if decision is not None else ""
    click.echo(f"hold {hold_id} released by {confirmer}{after}")


@hold.command("review")
@click.argument("hold_id")
@click.option("--comment", required=True, help="Why the hold still stands (sealed, audited).")
@click.option("--next-review-on", default=None, help="YYYY-MM-DD: the next review (omit for none).")
@click.pass_context
def hold_review(ctx: click.Context, hold_id: str, comment: str, next_review_on: str | None) -> None:
    """Record that the hold was looked at again and still stands; set the next review date."""
    from retention.engine import changes

    settings = settings_of(ctx)
    with services_of(ctx) as services, services.sessions() as session, session.begin():
        changes.review_hold(
            session,
            services.keyring,
            hold_id,
            comment=comment,
            next_review_on=parse_date(next_review_on, "--next-review-on"),
            actor=settings.actor,
            now=utcnow(),
        )
    click.echo(f"hold {hold_id} reviewed; next review {next_review_on or 'none'}")


@hold.command("list")
@click.argument("ref", required=False)
@click.option("--agency", default=None)
@click.pass_context
def hold_list(ctx: click.Context, ref: str | None, agency: str | None) -> None:
    """Holds not yet released (of one record, or all)."""
    with services_of(ctx) as services, services.readers() as session:
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
                + (f"  review on {h.review_on.isoformat()}" if h.review_on else "")
            )
