"""Two-person destruction: match provenance and confirmation, request searches, second approvals.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

Existing matches were all made from candidates under the old one-clerk rule; they are kept as
confirmed candidate matches of the same identity (nothing already decided is reopened).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_matches") as batch:
        batch.add_column(
            sa.Column("source", sa.String(12), nullable=False, server_default="candidate")
        )
        batch.add_column(
            sa.Column("same_identity", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column("needs_confirmation", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("confirmed_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("confirm_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("request_matches") as batch:
        batch.alter_column("source", server_default=None)
        batch.alter_column("same_identity", server_default=None)
        batch.alter_column("needs_confirmation", server_default=None)

    op.create_table(
        "request_search_hits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("searched_by", sa.String(64), nullable=False),
        sa.Column("searched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["removal_requests.id"],
            name="fk_request_search_hits_request_id_removal_requests",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name="fk_request_search_hits_record_id_records"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_request_search_hits"),
        sa.UniqueConstraint(
            "request_id", "record_id", name="uq_request_search_hits_request_id_record_id"
        ),
    )
    op.create_index("ix_request_search_hits_request_id", "request_search_hits", ["request_id"])

    op.create_table(
        "second_approvals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_second_approvals"),
    )
    op.create_index(
        "ix_second_approvals_state_subject", "second_approvals", ["state", "subject_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_second_approvals_state_subject", table_name="second_approvals")
    op.drop_table("second_approvals")
    op.drop_index("ix_request_search_hits_request_id", table_name="request_search_hits")
    op.drop_table("request_search_hits")
    with op.batch_alter_table("request_matches") as batch:
        for column in (
            "confirm_reason",
            "confirmed_at",
            "confirmed_by",
            "reason",
            "needs_confirmation",
            "same_identity",
            "source",
        ):
            batch.drop_column(column)
