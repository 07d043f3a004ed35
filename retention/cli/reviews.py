"""``mugshot review list|decide``: the disposition-review queue, where a person decides.

Layer: ``retention.cli`` (CLI edge). Imports ``retention.cli.context`` and the layers below
``retention.cli`` (``retention.engine``, ``retention.db``); no other command module.
"""

from __future__ import annotations

import click

from retention.cli.context import next_step, services_of, settings_of, utcnow
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
