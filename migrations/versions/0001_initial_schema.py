"""Initial schema: records, data keys, images, provenance, consents, holds, audit chain.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Reviewed by hand. Constraint names follow ``retention.db.models.NAMING_CONVENTION``; datetimes
are timezone-aware (``retention.db.models.UTCDateTime`` is ``DateTime(timezone=True)`` at the
database level). The audit chain head is seeded here with the genesis hash so that no writer
ever has to race to create it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("booking_number", sa.String(64), nullable=True),
        sa.Column("booking_bidx", sa.String(64), nullable=False),
        sa.Column("jurisdiction", sa.String(8), nullable=False),
        sa.Column("holder", sa.String(24), nullable=False),
        sa.Column("data_kind", sa.String(24), nullable=False),
        sa.Column("arrest_date", sa.Date(), nullable=True),
        sa.Column("captured_on", sa.Date(), nullable=True),
        sa.Column("offence", sa.String(200), nullable=True),
        sa.Column("offence_class", sa.String(16), nullable=True),
        sa.Column("mopi_group", sa.Integer(), nullable=True),
        sa.Column("age_at_capture", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("outcome_on", sa.Date(), nullable=True),
        sa.Column("legal_basis", sa.String(16), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("restriction_reason", sa.String(200), nullable=True),
        sa.Column("next_action", sa.String(12), nullable=True),
        sa.Column("next_action_due", sa.Date(), nullable=True),
        sa.Column("decision_rule", sa.String(120), nullable=True),
        sa.Column("policy_pack", sa.String(64), nullable=True),
        sa.Column("policy_version", sa.String(32), nullable=True),
        sa.Column("identity_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("name_dob_bidx", sa.String(64), nullable=True),
        sa.Column("state_id_bidx", sa.String(64), nullable=True),
        sa.Column("import_fingerprint", sa.String(64), nullable=True),
        sa.Column("source_system", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("purged_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_records")),
        sa.UniqueConstraint("agency", "booking_bidx", name=op.f("uq_records_agency_booking_bidx")),
        sa.CheckConstraint(
            "status IN ('active', 'restricted', 'purged')", name=op.f("ck_records_status")
        ),
    )
    op.create_index(op.f("ix_records_booking_bidx"), "records", ["booking_bidx"])
    op.create_index(op.f("ix_records_name_dob_bidx"), "records", ["name_dob_bidx"])
    op.create_index(op.f("ix_records_state_id_bidx"), "records", ["state_id_bidx"])
    op.create_index("ix_records_next_action_due_status", "records", ["next_action_due", "status"])

    op.create_table(
        "data_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        _ts("created_at"),
        _ts("rewrapped_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_data_keys_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_keys")),
        sa.UniqueConstraint("record_id", name=op.f("uq_data_keys_record_id")),
    )
    op.create_index(op.f("ix_data_keys_kek_version"), "data_keys", ["kek_version"])

    op.create_table(
        "images",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("derived_from", sa.String(32), nullable=True),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_hmac", sa.String(64), nullable=False),
        sa.Column("sealed_sha256", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("destroyed_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["derived_from"], ["images.id"], name=op.f("fk_images_derived_from_images")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_images_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
    )
    op.create_index(op.f("ix_images_record_id"), "images", ["record_id"])

    op.create_table(
        "provenance_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("image_id", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        _ts("occurred_at"),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_provenance_events_image_id_images")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_provenance_events_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provenance_events")),
    )
    op.create_index(op.f("ix_provenance_events_record_id"), "provenance_events", ["record_id"])

    op.create_table(
        "consents",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("evidence_ref", sa.String(200), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_consents_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(op.f("ix_consents_record_id"), "consents", ["record_id"])

    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("case_reference", sa.String(120), nullable=True),
        sa.Column("placed_by", sa.String(64), nullable=False),
        _ts("placed_at"),
        sa.Column("approved_by", sa.String(64), nullable=True),
        _ts("approved_at", nullable=True),
        sa.Column("release_requested_by", sa.String(64), nullable=True),
        _ts("release_requested_at", nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
        _ts("released_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_legal_holds_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index(op.f("ix_legal_holds_record_id"), "legal_holds", ["record_id"])

    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        _ts("occurred_at"),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=True),
        sa.Column("object_id", sa.String(64), nullable=True),
        sa.Column("rule", sa.String(120), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_entries_hash")),
    )
    op.create_index(op.f("ix_audit_entries_action"), "audit_entries", ["action"])
    op.create_index(op.f("ix_audit_entries_object_id"), "audit_entries", ["object_id"])

    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
    )
    op.bulk_insert(audit_head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_entries")
    op.drop_table("legal_holds")
    op.drop_table("consents")
    op.drop_table("provenance_events")
    op.drop_table("images")
    op.drop_table("data_keys")
    op.drop_table("records")
