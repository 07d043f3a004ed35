"""Job heartbeats: ``job_runs.heartbeat_at``, and the indexes the stale-run check and the janitor use.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Reviewed by hand. A long job (sweep, janitor) records a heartbeat with its counts after each
batch; a ``running`` run whose heartbeat (or start) is older than the stale threshold is marked
``abandoned`` (the statuses are plain strings: no constraint to change). ``ix_job_runs_status``
lets that check find the few running rows among every run ever; the janitor asks which blob keys
are removal-request evidence a chunk at a time (``ix_removal_requests_evidence_blob``) instead of
scanning the requests table once per chunk.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_job_runs_status", "job_runs", ["status"])
    op.create_index("ix_removal_requests_evidence_blob", "removal_requests", ["evidence_blob"])


def downgrade() -> None:
    op.drop_index("ix_removal_requests_evidence_blob", table_name="removal_requests")
    op.drop_index("ix_job_runs_status", table_name="job_runs")
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_column("heartbeat_at")
