"""The schema is built only by migrations, which round-trip and agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from retention.db.models import Base
from retention.db.schema import downgrade, upgrade
from retention.db.sessions import make_engine
from retention.settings import Settings


def _diff(settings: Settings) -> list[object]:
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trips_and_matches_the_models(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        upgrade(engine)
        assert _diff(settings) == []
        downgrade(engine, "base")
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade(engine)
        assert _diff(settings) == []
        with engine.connect() as conn:
            head = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
        assert tuple(head) == (0, "0" * 64)
    finally:
        engine.dispose()


def test_constraint_names_follow_the_convention(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        upgrade(engine)
        insp = inspect(engine)
        uniques = {u["name"] for u in insp.get_unique_constraints("records")}
        assert "uq_records_agency_booking_bidx" in uniques
        fks = {f["name"] for f in insp.get_foreign_keys("images")}
        assert fks == {"fk_images_record_id_records", "fk_images_derived_from_images"}
    finally:
        engine.dispose()


def test_revision_0013_marks_old_deadlines_statutory_and_gives_open_us_requests_a_target(
    settings: Settings,
) -> None:
    """Migration 0013 (issue 13 item 1): deadlines stored before it all came from statutes; open
    requests that had none (California: no statute sets one) get the 30-day service target, while
    an English request whose s.54(2) clock is stopped and a closed request keep none."""
    engine = make_engine(settings)
    rows = [
        ("gb-open", "GB-ENG", "under_review", "2026-11-21"),
        ("gb-info", "GB-ENG", "needs_info", None),
        ("ca-open", "US-CA", "received", None),
        ("ca-done", "US-CA", "completed", None),
    ]
    try:
        upgrade(engine, "0006")
        with engine.begin() as conn:
            for n, (rid, where, state, due) in enumerate(rows):
                conn.execute(
                    text(
                        "INSERT INTO removal_requests (id, reference_sha256, kind, jurisdiction,"
                        " grounds, state, received_on, respond_by, created_at, updated_at) VALUES"
                        " (:id, :ref, 'erasure', :j, '[]', :state, :received, :due, :at, :at)"
                    ),
                    {
                        "id": rid.ljust(32, "0"),
                        "ref": str(n) * 64,
                        "j": where,
                        "state": state,
                        "received": "2026-10-21",
                        "due": due,
                        "at": "2026-10-21 12:00:00+00:00",
                    },
                )
        upgrade(engine)
        with engine.connect() as conn:
            got = {
                r[0].rstrip("0"): (str(r[1]) if r[1] else None, r[2])
                for r in conn.execute(
                    text("SELECT id, respond_by, deadline_basis FROM removal_requests")
                )
            }
        assert got == {
            "gb-open": ("2026-11-21", "statutory"),
            "gb-info": (None, None),
            "ca-open": ("2026-11-20", "service_target"),
            "ca-done": (None, None),
        }
        downgrade(engine, "0006")
        with engine.connect() as conn:
            kept = dict(conn.execute(text("SELECT id, respond_by FROM removal_requests")).all())
        assert {k.rstrip("0"): (str(v) if v else None) for k, v in kept.items()}["ca-open"] is None
    finally:
        engine.dispose()
