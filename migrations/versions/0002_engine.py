"""Retention engine: stored decisions, review queue, certificates, job runs, enacted packs,
scheduler lease.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Reviewed by hand. Adds to ``records`` the stored decision trace and the disposition-review
columns (batch mode, so SQLite can alter the table), and the tables the sweep, the certificates,
``policy enact`` and the scheduler lease need. The lease row is seeded empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("decision_trace", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("permitted_purposes", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("evaluated_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("review_due_on", sa.Date(), nullable=True))
        batch.add_column(_ts("review_queued_at", nullable=True))
        batch.add_column(sa.Column("reviewed_on", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("exceptional_reason", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index(op.f("ix_records_review_due_on"), ["review_due_on"])

    op.create_table(
        "review_decisions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False),
        _ts("decided_at"),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_review_decisions_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decisions")),
    )
    op.create_index(op.f("ix_review_decisions_record_id"), "review_decisions", ["record_id"])

    op.create_table(
        "certificates",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("request_reference", sa.String(64), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_certificates_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("record_id", name=op.f("uq_certificates_record_id")),
    )
    op.create_index(
        op.f("ix_certificates_request_reference"), "certificates", ["request_reference"]
    )

    op.create_table(
        "job_runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index("ix_job_runs_kind_started_at", "job_runs", ["kind", "started_at"])

    op.create_table(
        "enacted_packs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pack_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("enacted_by", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=False),
        _ts("enacted_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enacted_packs")),
        sa.UniqueConstraint("pack_id", "version", name=op.f("uq_enacted_packs_pack_id_version")),
    )

    lease = op.create_table(
        "scheduler_lease",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(128), nullable=True),
        _ts("acquired_at", nullable=True),
        _ts("expires_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_lease")),
        sa.CheckConstraint("id = 1", name=op.f("ck_scheduler_lease_single_row")),
    )
    op.bulk_insert(lease, [{"id": 1, "holder": None}])


def downgrade() -> None:
    op.drop_table("scheduler_lease")
    op.drop_table("enacted_packs")
    op.drop_index("ix_job_runs_kind_started_at", table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_table("certificates")
    op.drop_table("review_decisions")
    with op.batch_alter_table("records") as batch:
        batch.drop_index(op.f("ix_records_review_due_on"))
        batch.drop_column("exceptional_reason")
        batch.drop_column("reviewed_on")
        batch.drop_column("review_queued_at")
        batch.drop_column("review_due_on")
        batch.drop_column("evaluated_on")
        batch.drop_column("permitted_purposes")
        batch.drop_column("decision_trace")
