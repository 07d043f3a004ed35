"""Holds with context: a review date and the sealed comments of approval and release.

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-29

Reviewed by hand. ``legal_holds.review_on`` puts a hold in front of a supervisor on that day
(indexed: the holds list and the dashboard ask for holds whose day has come); the three comment
columns hold text sealed under the record's data key (``retention.engine.sealing``), like the
hold's reason. Existing holds get no review date and no comments.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("legal_holds") as batch:
        batch.add_column(sa.Column("review_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("approval_comment_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(
            sa.Column("release_request_comment_sealed", sa.LargeBinary(), nullable=True)
        )
        batch.add_column(sa.Column("release_comment_sealed", sa.LargeBinary(), nullable=True))
    op.create_index("ix_legal_holds_review_on", "legal_holds", ["review_on"])


def downgrade() -> None:
    op.drop_index("ix_legal_holds_review_on", table_name="legal_holds")
    with op.batch_alter_table("legal_holds") as batch:
        batch.drop_column("release_comment_sealed")
        batch.drop_column("release_request_comment_sealed")
        batch.drop_column("approval_comment_sealed")
        batch.drop_column("review_on")
