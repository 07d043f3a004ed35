"""Transparency report: indexes on audit entries by action and time and on holds by placement
time, and the table of frozen monthly figures.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

Reviewed by hand. The public transparency report (``retention.engine.transparency``) counts one
month's events from the append-only audit log — requests granted and refused, records purged and
restricted — and the holds placed that month. ``ix_audit_entries_action_occurred_at`` turns each
of those counts into a range scan over one action's entries in one month instead of a scan of
every entry of that action ever written (millions at a million records); it replaces nothing
(``ix_audit_entries_action`` still serves equality look-ups by action alone).
``ix_legal_holds_placed_at`` does the same for holds. ``transparency_months`` keeps the figures
of a month that has been over for a day and cannot change any more (events of the append-only
log), so a report at a million records reads one row instead of joining a month of audit entries
to the records; it starts empty and fills itself on the first report of each month. No existing
data changes.

``ix_records_review_waiting`` is a partial index of the records waiting in the disposition-review
queue (a few thousand among a million): the staff navigation counts that queue on every page, and
the dashboard, ``mugshot status`` and the metrics by jurisdiction and age; without it each count
scans the whole table (about 250 ms at a million records).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# The review queue, as ``retention.db.models.REVIEW_WAITING`` says (copied: a revision must not
# change when the models do).
REVIEW_WAITING = "review_queued_at IS NOT NULL AND status <> 'purged'"

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_entries_action_occurred_at", "audit_entries", ["action", "occurred_at"]
    )
    op.create_index("ix_legal_holds_placed_at", "legal_holds", ["placed_at"])
    op.create_index(
        "ix_records_review_waiting",
        "records",
        ["next_action", "jurisdiction", "review_due_on"],
        postgresql_where=sa.text(REVIEW_WAITING),
        sqlite_where=sa.text(REVIEW_WAITING),
    )
    op.create_table(
        "transparency_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("month", name="pk_transparency_months"),
    )


def downgrade() -> None:
    op.drop_table("transparency_months")
    op.drop_index("ix_records_review_waiting", table_name="records")
    op.drop_index("ix_legal_holds_placed_at", table_name="legal_holds")
    op.drop_index("ix_audit_entries_action_occurred_at", table_name="audit_entries")
