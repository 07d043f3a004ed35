"""Batch disposition review and request triage: assignees, and the review-queue index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

Reviewed by hand. ``records.review_assignee``/``review_assigned_at`` name the reviewer a waiting
review is assigned to; ``removal_requests.assigned_to``/``assigned_at`` the clerk working on a
request (both nullable: existing rows are unassigned). ``ix_records_review_queue`` covers the
review queue's page (next action, due date) and its counts by jurisdiction, rule and assignee
(and whether the sweep queued it; the id, so that leaving out the reviews waiting for sign-off
reads no table row either),
so the counts are an index-only scan however large the records table grows.
``ix_removal_requests_assigned_to`` serves the request queue's "assigned to" filter.

``removal_requests.candidates_found`` and ``same_identity_requests`` are the request queue's
stored counts (``retention.db.request_counts``): added as 0, then counted for every existing
request by the same correlated counts the application uses, so the queue is right from the
first page after the upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# The counts of ``retention.db.request_counts.live_candidates``, in three index-friendly parts.
BACKFILL = """
UPDATE removal_requests SET
  candidates_found = (
      SELECT count(*) FROM records r
      WHERE r.status <> 'purged' AND r.name_dob_bidx = removal_requests.name_dob_bidx)
    + (SELECT count(*) FROM records r
       WHERE r.status <> 'purged' AND r.booking_bidx = removal_requests.booking_bidx
         AND (r.name_dob_bidx IS NULL OR removal_requests.name_dob_bidx IS NULL
              OR r.name_dob_bidx <> removal_requests.name_dob_bidx))
    + (SELECT count(*) FROM request_search_hits h JOIN records r ON r.id = h.record_id
       WHERE h.request_id = removal_requests.id AND r.status <> 'purged'
         AND (r.name_dob_bidx IS NULL OR removal_requests.name_dob_bidx IS NULL
              OR r.name_dob_bidx <> removal_requests.name_dob_bidx)
         AND (removal_requests.booking_bidx IS NULL
              OR r.booking_bidx <> removal_requests.booking_bidx)),
  same_identity_requests = (
    SELECT count(*) FROM removal_requests o
    WHERE o.name_dob_bidx = removal_requests.name_dob_bidx AND o.id <> removal_requests.id)
"""


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("review_assignee", sa.String(64), nullable=True))
        batch.add_column(sa.Column("review_assigned_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("removal_requests") as batch:
        batch.add_column(sa.Column("assigned_to", sa.String(64), nullable=True))
        batch.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        for name in ("candidates_found", "same_identity_requests"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.execute(BACKFILL)
    with op.batch_alter_table("removal_requests") as batch:
        batch.alter_column("candidates_found", server_default=None)
        batch.alter_column("same_identity_requests", server_default=None)
    op.create_index(
        "ix_records_review_queue",
        "records",
        [
            "next_action",
            "review_due_on",
            "jurisdiction",
            "decision_rule",
            "review_assignee",
            "review_queued_at",
            "id",
        ],
    )
    op.create_index("ix_removal_requests_assigned_to", "removal_requests", ["assigned_to"])


def downgrade() -> None:
    op.drop_index("ix_removal_requests_assigned_to", table_name="removal_requests")
    op.drop_index("ix_records_review_queue", table_name="records")
    with op.batch_alter_table("removal_requests") as batch:
        batch.drop_column("same_identity_requests")
        batch.drop_column("candidates_found")
        batch.drop_column("assigned_at")
        batch.drop_column("assigned_to")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("review_assigned_at")
        batch.drop_column("review_assignee")
