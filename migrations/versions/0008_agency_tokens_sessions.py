"""API tokens belong to agencies; staff sessions are held on the server.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

Reviewed by hand. Two new tables, nothing else changes:

- ``api_token_agencies`` (token id, agency): the agencies whose records a token may create and
  read. Existing tokens get **no** rows: they still authenticate, but every push is refused
  (403, saying the token must be re-issued with ``--agency``) and every read answers "no such
  record", until an administrator issues a new token with ``mugshot token add NAME --agency A``.
  They are not scoped to the agencies of records they created: tokens are named, not bound, to
  a booking system (two tokens may share a name, and the audit actor is the name), and before
  this revision any token could write under any agency's name — past writes are exactly what
  cannot be trusted as evidence of what a token is entitled to.
- ``staff_sessions``: one row per signed-in (or half signed-in) staff session, keyed by the
  SHA-256 of the random id in the cookie. Sessions that existed before the upgrade were signed
  cookies with no row: they end, and staff sign in again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_token_agencies",
        sa.Column("token_id", sa.String(32), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_api_token_agencies_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_id", "agency", name=op.f("pk_api_token_agencies")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staff_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_staff_sessions")),
    )
    op.create_index(op.f("ix_staff_sessions_user_id"), "staff_sessions", ["user_id"], unique=False)
    op.create_index(
        op.f("ix_staff_sessions_expires_at"), "staff_sessions", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_sessions_expires_at"), table_name="staff_sessions")
    op.drop_index(op.f("ix_staff_sessions_user_id"), table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("api_token_agencies")
