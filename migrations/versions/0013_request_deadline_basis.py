"""Request deadlines: their basis, the extension's reason, and a restriction request's ground.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

Reviewed by hand. ``removal_requests.deadline_basis`` says whether ``respond_by`` is a statute's
deadline ("statutory") or the agency's service target ("service_target", shown as "we aim to
answer by"); ``extension_reason_sealed`` is the reason the requester sees for an extension (staff's free
text, sealed under the request's key);
``restriction_ground`` is the GDPR Art 18(1) / DPA 2018 s.47(3) / LED Art 16(3)(a) ground of a
restriction request, which decides whether it prevails over erasure rules.

Existing data: every deadline stored before this revision came from a statutory rule (DPA 2018
s.54, GDPR Art 12(3), PC 13665), so those are marked "statutory". Open requests that had no
deadline at all (California, Illinois, Texas and unknown jurisdictions: no statute sets one) get
the bundled packs' service target as it stood when this revision was written, 30 days from
receipt with no roll; England & Wales and EU requests without one are waiting for clarifying
information (DPA 2018 s.54(2)) and keep none.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_SERVICE_TARGET_DAYS = 30
_OPEN = ("received", "under_review", "needs_info", "confirming")
_STATUTE_SETS_DEADLINE = ("GB-ENG", "EU")


def upgrade() -> None:
    with op.batch_alter_table("removal_requests") as batch:
        batch.add_column(sa.Column("deadline_basis", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("extension_reason_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("restriction_ground", sa.String(length=32), nullable=True))
    requests = sa.table(
        "removal_requests",
        sa.column("id", sa.String),
        sa.column("jurisdiction", sa.String),
        sa.column("state", sa.String),
        sa.column("received_on", sa.Date),
        sa.column("respond_by", sa.Date),
        sa.column("deadline_basis", sa.String),
    )
    bind = op.get_bind()
    bind.execute(
        requests.update()
        .where(requests.c.respond_by.is_not(None))
        .values(deadline_basis="statutory")
    )
    rows = bind.execute(
        sa.select(requests.c.id, requests.c.received_on).where(
            requests.c.respond_by.is_(None),
            requests.c.state.in_(_OPEN),
            requests.c.jurisdiction.not_in(_STATUTE_SETS_DEADLINE),
        )
    ).all()
    for request_id, received in rows:
        day = received if isinstance(received, dt.date) else dt.date.fromisoformat(str(received))
        bind.execute(
            requests.update()
            .where(requests.c.id == request_id)
            .values(
                respond_by=day + dt.timedelta(days=_SERVICE_TARGET_DAYS),
                deadline_basis="service_target",
            )
        )


def downgrade() -> None:
    requests = sa.table(
        "removal_requests",
        sa.column("respond_by", sa.Date),
        sa.column("deadline_basis", sa.String),
    )
    # A service target was not a deadline before this revision: drop it with its basis.
    op.get_bind().execute(
        requests.update()
        .where(requests.c.deadline_basis == "service_target")
        .values(respond_by=None)
    )
    with op.batch_alter_table("removal_requests") as batch:
        batch.drop_column("restriction_ground")
        batch.drop_column("extension_reason_sealed")
        batch.drop_column("deadline_basis")
