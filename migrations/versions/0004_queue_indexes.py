"""Indexes for the staff request queue's keyset pagination (deadline or arrival order).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_removal_requests_respond_by_id", "removal_requests", ["respond_by", "id"])
    op.create_index("ix_removal_requests_received_on_id", "removal_requests", ["received_on", "id"])


def downgrade() -> None:
    op.drop_index("ix_removal_requests_received_on_id", table_name="removal_requests")
    op.drop_index("ix_removal_requests_respond_by_id", table_name="removal_requests")
