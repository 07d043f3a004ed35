"""``mugshot review list|decide|confirm|refuse``: the disposition-review queue, where a person
decides, and a second person confirms what goes beyond the rules.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.engine``, ``retention.db``); no other command module.
"""

from __future__ import annotations

import click

from retention.cli.context import (
    next_step,
    second_person,
    second_person_options,
    services_of,
    settings_of,
    utcnow,
)
from retention.engine import records


@click.group()
def review() -> None:
    """The disposition-review queue."""


@review.command("list")
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_context
def review_list(ctx: click.Context, limit: int) -> None:
    """Records whose rule says a person must decide, oldest first."""
    from sqlalchemy import select

    from retention.db.models import Record

    with services_of(ctx) as services, services.readers() as session:
        rows = session.execute(
            select(Record)
            .where(Record.next_action == "review", Record.review_queued_at.is_not(None))
            .order_by(Record.review_due_on, Record.id)
            .limit(limit)
        ).scalars()
        for r in rows:
            click.echo(
                f"{r.id}  {r.booking_ref:<18} {r.jurisdiction:<7} due {r.review_due_on}  "
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
    from retention.engine import reviews
    from retention.engine.purge import delete_blobs

    settings = settings_of(ctx)
    with services_of(ctx) as services:
        with services.sessions() as session, session.begin():
            rec = records.resolve(session, services.keyring, ref, agency)
            result = reviews.decide_review(
                session,
                services.keyring,
                rec.id,
                outcome=reviews.ReviewOutcome(value),
                reason=reason,
                actor=settings.actor,
                now=utcnow(),
            )
        if result.purged is not None:
            delete_blobs(services.store, result.purged.blob_keys)
            click.echo(f"record purged; certificate {result.purged.certificate.id}")
        elif result.waiting is not None:
            click.echo(
                f"decided {value}; it goes beyond the record's rule, so it waits for a "
                f"supervisor's confirmation (approval {result.waiting.id})"
            )
        elif result.decision is not None:
            click.echo(f"decided {value}; {next_step(result.decision)}")


def _second(
    ctx: click.Context,
    ref: str,
    agency: str | None,
    supervisor: str | None,
    reason: str,
    credentials_stdin: bool,
    *,
    confirm: bool,
) -> None:
    from retention.engine import reviews
    from retention.engine.authority import Person
    from retention.engine.purge import delete_blobs

    settings = settings_of(ctx)
    with services_of(ctx) as services:
        with services.readers() as session:
            rec = records.resolve(session, services.keyring, ref, agency)
            waiting = reviews.waiting_review(session, rec.id)
            if waiting is None:
                raise click.ClickException(
                    f"record {rec.id} has no review decision waiting for a second person"
                )
            record_id, decided_by, approval = rec.id, waiting.requested_by, waiting.id
        name = second_person(
            services,
            supervisor or settings.actor,
            purpose="review.confirm" if confirm else "review.refuse",
            subject=approval,
            first=decided_by,
            first_did="made the review decision",
            credentials_stdin=credentials_stdin,
        )
        person = Person(name, "supervisor")  # second_person admits supervisors only
        with services.sessions() as session, session.begin():
            if not confirm:
                reviews.refuse_review(
                    session,
                    services.keyring,
                    record_id,
                    supervisor=person,
                    reason=reason,
                    now=utcnow(),
                )
                click.echo(f"refused by {name}; the record stays in review")
                return
            result = reviews.confirm_review(
                session, services.keyring, record_id, supervisor=person, reason=reason, now=utcnow()
            )
        if result.purged is not None:
            delete_blobs(services.store, result.purged.blob_keys)
            click.echo(
                f"confirmed by {name}; record purged; certificate {result.purged.certificate.id}"
            )
        elif result.decision is not None:
            click.echo(f"confirmed by {name}; {next_step(result.decision)}")


def _second_step(name: str, *, confirm: bool, why: str, doc: str) -> None:
    """Add ``review NAME``, where the second person confirms (or refuses) a waiting decision."""

    @review.command(name, help=doc)
    @click.argument("ref")
    @click.option("--reason", required=True, help=why)
    @click.option("--agency", default=None)
    @second_person_options(
        "--supervisor",
        "The supervisor confirming, who signs in here (default: the --actor). Never the "
        "account that made the decision.",
    )
    @click.pass_context
    def command(
        ctx: click.Context,
        ref: str,
        reason: str,
        agency: str | None,
        supervisor: str | None,
        credentials_stdin: bool,
    ) -> None:
        _second(ctx, ref, agency, supervisor, reason, credentials_stdin, confirm=confirm)


_second_step(
    "confirm",
    confirm=True,
    why="Why you confirm it (recorded in the audit log).",
    doc="""Confirm a review purge or exceptional keep that waits for a second person: a supervisor
    other than the decider signs in (password and TOTP code); then it takes effect.""",
)
_second_step(
    "refuse",
    confirm=False,
    why="Why you refuse it (recorded in the audit log).",
    doc="Refuse a review decision that waits for a second person; nothing happens.",
)
