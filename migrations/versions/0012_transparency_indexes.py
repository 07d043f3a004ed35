"""Transparency report indexes: audit entries by action and time, holds by placement time.

Revision ID: 0012
Revises: 0006
Create Date: 2026-11-29

Reviewed by hand. The public transparency report (``retention.engine.transparency``) counts one
month's events from the append-only audit log — requests granted and refused, records purged and
restricted — and the holds placed that month. ``ix_audit_entries_action_occurred_at`` turns each
of those counts into a range scan over one action's entries in one month instead of a scan of
every entry of that action ever written (millions at a million records); it replaces nothing
(``ix_audit_entries_action`` still serves equality look-ups by action alone).
``ix_legal_holds_placed_at`` does the same for holds. Indexes only: no data changes.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_entries_action_occurred_at", "audit_entries", ["action", "occurred_at"]
    )
    op.create_index("ix_legal_holds_placed_at", "legal_holds", ["placed_at"])


def downgrade() -> None:
    op.drop_index("ix_legal_holds_placed_at", table_name="legal_holds")
    op.drop_index("ix_audit_entries_action_occurred_at", table_name="audit_entries")
