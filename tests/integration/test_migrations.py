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
