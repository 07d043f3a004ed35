"""Notification outbox: e-mails to requesters when their request changes, and the sealed contact.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

Reviewed by hand. ``removal_requests.contact_sealed`` holds the requester's contact, when it is
an e-mail address, sealed under the request's own data key; requests filed before this revision
keep their contact only inside the sealed claims (the migration has no keyring to open them), so
their notifications are recorded as ``manual``: the clerk tells the requester. ``notifications``
is the outbox the scheduler's ``notify`` job sends from (``retention.notify``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("removal_requests") as batch:
        batch.add_column(sa.Column("contact_sealed", sa.LargeBinary(), nullable=True))
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("recipient_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["removal_requests.id"],
            name="fk_notifications_request_id_removal_requests",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_index("ix_notifications_request_id", "notifications", ["request_id"])
    op.create_index(
        "ix_notifications_state_next_attempt_at", "notifications", ["state", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_state_next_attempt_at", table_name="notifications")
    op.drop_index("ix_notifications_request_id", table_name="notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("removal_requests") as batch:
        batch.drop_column("contact_sealed")
