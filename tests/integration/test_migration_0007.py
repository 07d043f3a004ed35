"""Revision 0007 seals what older revisions stored in plaintext and drops those columns."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from retention.db.models import (
    LegalHold,
    ProvenanceEvent,
    Record,
    RemovalRequest,
    ReviewDecision,
    SecondApproval,
)
from retention.db.schema import (
    SEALED_BY_0007,
    compact,
    downgrade,
    has_plaintext_columns,
    upgrade,
)
from retention.db.sessions import make_engine, make_session_factory
from retention.engine import sealing
from retention.keys import crypto
from retention.keys.keyring import Keyring
from retention.settings import Settings
from tests.conftest import FIXED_NOW

OLD_TEXT = {
    "booking": "MIG-BK-0007",
    "offence": "theft of a MIGOFF bicycle",
    "restriction": "MIGRES restriction",
    "hold": "MIGHOLD exhibit",
    "case": "MIGCASE-1",
    "review": "MIGREV keep it",
    "view": "MIGVIEW reason for a view",
    "decision": "MIGDEC reasons",
    "approval": "MIGAPP reason",
    "gone": "MIGGONE released hold of a purged record",
}


def _filler(column: sa.Column[Any]) -> Any:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 0
    if isinstance(kind, sa.DateTime):
        return FIXED_NOW
    if isinstance(kind, sa.Date):
        return FIXED_NOW.date()
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.LargeBinary):
        return b""
    return "x"


def _insert(conn: sa.Connection, meta: sa.MetaData, table: str, **values: Any) -> None:
    t = meta.tables[table]
    row = {
        c.name: _filler(c)
        for c in t.columns
        if not c.nullable
        and c.name not in values
        and not (c.primary_key and isinstance(c.type, sa.Integer))
    }
    if "id" in t.c and "id" not in values and isinstance(t.c["id"].type, sa.String):
        row["id"] = uuid.uuid4().hex
    conn.execute(t.insert().values(**{**row, **values}))


def _old_database(settings: Settings, ring: Keyring) -> dict[str, str]:
    """A database at revision 0006 holding plaintext the way that schema stored it."""
    engine = make_engine(settings)
    upgrade(engine, "0006")
    live, purged, request = (uuid.uuid4().hex for _ in range(3))
    key_id, req_key_id = uuid.uuid4().hex, uuid.uuid4().hex
    data_key, req_key = crypto.new_data_key(), crypto.new_data_key()
    version, wrapped = ring.wrap(data_key, key_id=key_id)
    req_version, req_wrapped = ring.wrap(req_key, key_id=req_key_id)
    identity = {"name": "Mig Rant", "date_of_birth": "1950-01-01", "state_id": None}
    with engine.begin() as conn:
        meta = sa.MetaData()
        meta.reflect(conn)
        common = {"agency": "MPS", "jurisdiction": "GB-ENG", "created_at": FIXED_NOW}
        _insert(
            conn,
            meta,
            "records",
            id=live,
            booking_number=OLD_TEXT["booking"],
            booking_bidx="a" * 64,
            offence=OLD_TEXT["offence"],
            restriction_reason=OLD_TEXT["restriction"],
            status="restricted",
            identity_sealed=crypto.seal_field(
                data_key, json.dumps(identity).encode(), record_id=live, field="identity"
            ),
            **common,
        )
        _insert(conn, meta, "records", id=purged, booking_bidx="b" * 64, status="purged", **common)
        _insert(
            conn,
            meta,
            "data_keys",
            id=key_id,
            record_id=live,
            kek_version=version,
            wrapped=wrapped,
        )
        _insert(
            conn,
            meta,
            "legal_holds",
            record_id=live,
            reason=OLD_TEXT["hold"],
            case_reference=OLD_TEXT["case"],
        )
        _insert(conn, meta, "legal_holds", record_id=purged, reason=OLD_TEXT["gone"])
        _insert(conn, meta, "review_decisions", record_id=live, reason=OLD_TEXT["review"])
        _insert(
            conn,
            meta,
            "provenance_events",
            record_id=live,
            kind="viewed",
            details={"what": "identity", "reason": OLD_TEXT["view"]},
        )
        _insert(
            conn,
            meta,
            "removal_requests",
            id=request,
            reference_sha256="c" * 64,
            key_id=req_key_id,
            kek_version=req_version,
            wrapped_key=req_wrapped,
            decision_reasons=OLD_TEXT["decision"],
        )
        _insert(
            conn,
            meta,
            "second_approvals",
            subject_type="request",
            subject_id=request,
            reason=OLD_TEXT["approval"],
        )
    engine.dispose()
    return {"live": live, "purged": purged, "request": request}


def _all_text(settings: Settings) -> str:
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            meta = sa.MetaData()
            meta.reflect(conn)
            return repr([list(conn.execute(t.select())) for t in meta.sorted_tables])
    finally:
        engine.dispose()


def test_0007_seals_every_plaintext_value_and_drops_the_columns(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ring = Keyring.create(settings.keyring_file, FIXED_NOW)
    ids = _old_database(settings, ring)
    assert OLD_TEXT["booking"] in _all_text(settings)
    engine = make_engine(settings)
    try:
        # Without the keys it refuses and changes nothing.
        with pytest.raises(RuntimeError, match="needs the keyring"):
            upgrade(engine)
        assert has_plaintext_columns(engine)
        upgrade(engine, keyring=ring)
        assert not has_plaintext_columns(engine)
        columns = {c["name"] for c in inspect(engine).get_columns("records")}
        assert {"booking_number", "offence", "restriction_reason"}.isdisjoint(columns)
        dump = _all_text(settings)
        for value in OLD_TEXT.values():
            assert value not in dump
        sessions = make_session_factory(engine)
        with sessions() as s:
            live = s.get(Record, ids["live"])
            assert live is not None
            key = sealing.record_key(s, ring, live.id)
            assert sealing.open_identity(key, live)["booking_number"] == OLD_TEXT["booking"]
            opener = sealing.Opener(s, ring)
            assert (
                opener.record(live.id, sealing.record_field("offence"), live.offence_sealed)
                == (OLD_TEXT["offence"])
            )
            assert (
                opener.record(live.id, sealing.record_field("restriction"), live.restriction_sealed)
                == OLD_TEXT["restriction"]
            )
            holds = {h.record_id: h for h in s.execute(select(LegalHold)).scalars()}
            hold = holds[live.id]
            assert (
                opener.record(
                    live.id, sealing.row_field("legal_holds", hold.id, "reason"), hold.reason_sealed
                ),
                opener.record(
                    live.id,
                    sealing.row_field("legal_holds", hold.id, "case_reference"),
                    hold.case_reference_sealed,
                ),
            ) == (OLD_TEXT["hold"], OLD_TEXT["case"])
            assert holds[ids["purged"]].reason_sealed is None  # its key is gone: so is the text
            review = s.execute(select(ReviewDecision)).scalar_one()
            assert (
                opener.record(
                    live.id,
                    sealing.row_field("review_decisions", review.id, "reason"),
                    review.reason_sealed,
                )
                == OLD_TEXT["review"]
            )
            event = s.execute(select(ProvenanceEvent)).scalar_one()
            assert "reason" not in event.details
            assert "reason_sealed" in event.details
            req = s.get(RemovalRequest, ids["request"])
            assert req is not None
            assert (
                opener.request(
                    req.id, sealing.request_field("decision_reasons"), req.decision_reasons_sealed
                )
                == OLD_TEXT["decision"]
            )
            wait = s.execute(select(SecondApproval)).scalar_one()
            assert (
                opener.request(
                    req.id,
                    sealing.row_field("second_approvals", wait.id, "reason"),
                    wait.reason_sealed,
                )
                == OLD_TEXT["approval"]
            )
        # `mugshot init` then rewrites those tables: the old row versions leave the files.
        compact(engine)
        engine.dispose()
        raw = _table_bytes(settings)
        assert b"MPS" in raw  # the scan reads the tables' real bytes
        for value in OLD_TEXT.values():
            assert value.encode() not in raw, value
        # Going back would need the plaintext it destroyed: refused, nothing changed.
        with pytest.raises(RuntimeError, match="cannot be downgraded"):
            downgrade(engine, "0006")
        assert "offence_sealed" in {c["name"] for c in inspect(engine).get_columns("records")}
    finally:
        engine.dispose()


def _table_bytes(settings: Settings) -> bytes:
    """The raw bytes of the database file (SQLite, with any WAL) or of the heap and TOAST files
    of the tables 0007 sealed (PostgreSQL, read as the cluster's OS user)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        db = Path(url.database or "")
        return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CHECKPOINT")
            data_dir = Path(conn.exec_driver_sql("SHOW data_directory").scalar_one())
            paths = [
                conn.execute(
                    sa.text("SELECT pg_relation_filepath(CAST(:t AS regclass))"), {"t": table}
                ).scalar_one()
                for table in SEALED_BY_0007
            ] + list(
                conn.execute(
                    sa.text(
                        "SELECT pg_relation_filepath(reltoastrelid) FROM pg_class "
                        "WHERE relname = ANY(:names) AND reltoastrelid <> 0"
                    ),
                    {"names": list(SEALED_BY_0007)},
                ).scalars()
            )
    finally:
        engine.dispose()
    try:
        return b"".join((data_dir / p).read_bytes() for p in paths)
    except OSError as exc:
        pytest.fail(f"cannot read PostgreSQL's table files ({exc}): run as the cluster's owner")


def test_0007_does_not_need_keys_on_an_empty_database(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        upgrade(engine, "0006")
        upgrade(engine)
        downgrade(engine, "0006")
        upgrade(engine)
        assert "booking_number" not in {c["name"] for c in inspect(engine).get_columns("records")}
        assert "audit_notes" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
