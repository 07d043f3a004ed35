"""Web app: staff users, API tokens, removal requests and their matched records.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Reviewed by hand. Requesters' claims are sealed (``claims_sealed`` under the request's own
wrapped data key) and matched through blind indexes; the public reference is stored only as a
SHA-256; API tokens likewise.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("totp_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        _ts("locked_until", nullable=True),
        _ts("last_login_at", nullable=True),
        sa.Column("last_totp_step", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    op.create_table(
        "removal_requests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("reference_sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("jurisdiction", sa.String(8), nullable=False),
        sa.Column("grounds", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("respond_by", sa.Date(), nullable=True),
        sa.Column("extension_notice_on", sa.Date(), nullable=True),
        sa.Column("info_requested_on", sa.Date(), nullable=True),
        sa.Column("info_received_on", sa.Date(), nullable=True),
        sa.Column("claims_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("kek_version", sa.Integer(), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("name_dob_bidx", sa.String(64), nullable=True),
        sa.Column("booking_bidx", sa.String(64), nullable=True),
        sa.Column("evidence_blob", sa.String(32), nullable=True),
        sa.Column("evidence_media_type", sa.String(32), nullable=True),
        sa.Column("evidence_bytes", sa.Integer(), nullable=True),
        sa.Column("decision_reasons", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        _ts("decided_at", nullable=True),
        _ts("completed_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_removal_requests")),
        sa.UniqueConstraint("reference_sha256", name=op.f("uq_removal_requests_reference_sha256")),
    )
    op.create_index(
        op.f("ix_removal_requests_name_dob_bidx"), "removal_requests", ["name_dob_bidx"]
    )
    op.create_index(op.f("ix_removal_requests_booking_bidx"), "removal_requests", ["booking_bidx"])
    op.create_index(
        "ix_removal_requests_state_respond_by", "removal_requests", ["state", "respond_by"]
    )
    op.create_table(
        "request_matches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("matched_by", sa.String(64), nullable=False),
        _ts("matched_at"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["removal_requests.id"],
            name=op.f("fk_request_matches_request_id_removal_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_request_matches_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_matches")),
        sa.UniqueConstraint(
            "request_id", "record_id", name=op.f("uq_request_matches_request_id_record_id")
        ),
    )
    op.create_index(op.f("ix_request_matches_request_id"), "request_matches", ["request_id"])
    op.create_index(op.f("ix_request_matches_record_id"), "request_matches", ["record_id"])


def downgrade() -> None:
    op.drop_table("request_matches")
    op.drop_table("removal_requests")
    op.drop_table("api_tokens")
    op.drop_table("users")
