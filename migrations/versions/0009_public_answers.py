"""Public side: an answer-by date, refusal replies, attachments sent after filing, the on-hold state.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

Reviewed by hand. ``removal_requests.answer_by`` is the date a requester asked for information is
asked to answer by; ``removal_requests.replied_on`` the date of their last reply to a refusal
(the reply text is sealed with the claims). ``request_attachments`` holds the files sent with an
answer or a reply, sealed under the request's data key (the blob key is the row id). The new
request state ``on_hold`` is a plain string (no constraint to change). Existing requests keep
NULL in both new columns: none was asked with an answer-by date or replied to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("removal_requests") as batch:
        batch.add_column(sa.Column("answer_by", sa.Date(), nullable=True))
        batch.add_column(sa.Column("replied_on", sa.Date(), nullable=True))
    op.create_table(
        "request_attachments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sent_with", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["removal_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_request_attachments_request_id", "request_attachments", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_request_attachments_request_id", table_name="request_attachments")
    op.drop_table("request_attachments")
    with op.batch_alter_table("removal_requests") as batch:
        batch.drop_column("replied_on")
        batch.drop_column("answer_by")
