"""Destroyed means gone: no identifier or free text in plaintext anywhere at rest, and a purged
record keeps exactly its documented tombstone.

The residue scan imports bookings whose every identifying value and every reason typed about
them is a distinctive marker, purges some (the scheduled sweep and a removal request's
approval), and then reads the raw bytes of everything the database uses — the SQLite file with
its WAL and shared-memory file, or, on PostgreSQL, the heap, TOAST and index files of every
table (``pg_relation_filepath``) and the WAL segments written during the test
(``pg_current_wal_lsn`` before and after, after a ``CHECKPOINT``) — plus every blob, the
captured logs and every audit entry. No marker of any record, purged or not, may appear.

PostgreSQL's files are read directly: the test must run as the OS user that owns the cluster
(or root) on the database's own machine; when they cannot be read the test fails and says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.engine import make_url

from policies.vocabulary import HoldKind
from retention.db.models import (
    AuditEntry,
    AuditNote,
    Consent,
    Image,
    LegalHold,
    ProvenanceEvent,
    Record,
    RequestMatch,
    ReviewDecision,
    SecondApproval,
)
from retention.db.sessions import make_engine
from retention.engine import changes, records, reviews
from retention.engine.authority import Person
from retention.engine.reviews import ReviewOutcome
from retention.jobs.sweep import run_sweep
from retention.requests import approval, workflow
from retention.services import Services
from retention.settings import Settings
from tests.conftest import FIXED_NOW
from tests.integration.engine_helpers import (
    TODAY,
    file_request,
    ingest,
    purge_due,
    review_due,
    state,
)

SUPERVISOR = Person("supervisor:residue", "supervisor")


@dataclass
class Scenario:
    """What was imported and done, and the markers it used."""

    ids: dict[str, str]  # booking number -> record id
    purged_by_sweep: list[str]
    purged_by_request: str
    markers: list[str]
    token: str  # every marker but the dates of birth contains it
    dates: list[str]
    facts: dict[str, list[str]]  # record id -> its plaintext facts that a tombstone drops


def _token() -> str:
    return uuid.uuid4().hex[:10].upper()


def _run(services: Services, tmp_path: Path) -> Scenario:
    tok = _token()
    markers: list[str] = []

    def mark(kind: str, n: int = 0) -> str:
        value = f"Q{kind}{tok}{n}"
        markers.append(value)
        return value

    rows = []
    dobs: list[dt.date] = []
    for n, base in enumerate(
        [purge_due, purge_due, review_due, review_due, review_due, review_due]
    ):
        booking = mark("BK", n)
        name = f"Zorvath {mark('NM', n)} Quillon"
        dob = dt.date(1917, 2, 3 + n)
        dobs.append(dob)
        markers.append(dob.isoformat())
        rows.append(
            base(booking)
            | {
                "name": name,
                "date_of_birth": dob.isoformat(),
                "state_id": mark("SID", n),
                "offence": f"theft of a {mark('OFF', n)} bicycle",
            }
        )
    ids = ingest(services, tmp_path, rows)
    bookings = [r["booking_number"] for r in rows]
    sweep_ids = [ids[bookings[0]], ids[bookings[1]]]
    requested, reviewed, held, read = (ids[b] for b in bookings[2:])
    facts = {
        rid: [r["source_system"], r["captured_by"], r["capture_device"], r["capture_place"]]
        for rid, r in zip((ids[b] for b in bookings), rows, strict=True)
    }

    with services.sessions() as s, s.begin():
        hold = changes.place_hold(
            s,
            services.keyring,
            held,
            kind=HoldKind.EVIDENCE,
            reason=f"exhibit in the {mark('HOLD')} appeal",
            case_reference=mark("CASE"),
            actor="clerk:ann",
            now=FIXED_NOW,
        )
    with services.sessions() as s, s.begin():
        changes.approve_hold(s, hold.id, actor="sup:bo", now=FIXED_NOW)
    with services.sessions() as s, s.begin():
        reviews.decide_review(
            s,
            services.keyring,
            reviewed,
            outcome=ReviewOutcome.KEEP,
            reason=f"still needed for the {mark('REV')} inquiry",
            actor="clerk:ann",
            now=FIXED_NOW,
        )
    with services.sessions() as s, s.begin():
        record = s.get(Record, read)
        assert record is not None
        identity = records.reveal_identity(
            s,
            services.keyring,
            record,
            actor="clerk:ann",
            reason=f"checking the {mark('WHY')} identity",
            now=FIXED_NOW,
        )
        assert identity["booking_number"] == bookings[5]
        records.read_image(
            s,
            services.keyring,
            services.store,
            record,
            actor="clerk:ann",
            reason=f"comparing the {mark('LOOK')} photo",
            now=FIXED_NOW,
        )

    # A removal request by the person of the third booking, approved and confirmed.
    request_id, _ = file_request(
        services,
        name=rows[2]["name"],
        dob=dobs[2],
        booking=bookings[2],
        details=f"I was acquitted ({mark('CLAIM')}).",
    )
    with services.sessions() as s, s.begin():
        workflow.search(
            s,
            services.keyring,
            request_id,
            booking_number=bookings[2],
            actor="clerk:ann",
            reason=f"looking for the {mark('SEARCH')} booking",
            now=FIXED_NOW,
        )
        workflow.match(
            s,
            services.keyring,
            request_id,
            requested,
            actor="clerk:ann",
            now=FIXED_NOW,
            reason=f"same person as {mark('MATCH')}",
        )
    with services.sessions() as s, s.begin():
        waiting = approval.approve(
            s,
            services.keyring,
            request_id,
            actor="clerk:ann",
            reasons=f"Destroyed as asked ({mark('DECIDE')}).",
            now=FIXED_NOW,
        )
    assert waiting.waiting is not None  # its rule says review: a supervisor confirms
    with services.sessions() as s, s.begin():
        done = approval.confirm(
            s,
            services.keyring,
            request_id,
            supervisor=SUPERVISOR,
            reason=f"Acquittal confirmed in {mark('CONFIRM')}",
            now=FIXED_NOW,
        )
    assert [p.record_id for p in done.purged] == [requested]

    report = run_sweep(services, today=TODAY, clock=lambda: FIXED_NOW, actor="test:sweep")
    assert report.counts["purged"] == 2, report
    for rid in [*sweep_ids, requested]:
        assert state(services, rid).status == "purged"
    dates = [d.isoformat() for d in dobs]
    assert all(tok in m for m in markers if m not in dates)
    return Scenario(ids, sweep_ids, requested, markers, tok, dates, facts)


def _needles(markers: list[str]) -> list[bytes]:
    out: set[bytes] = set()
    for m in markers:
        for form in (m, m.lower(), m.casefold()):
            out.add(form.encode())
            out.add(form.encode("utf-16-le"))
    return sorted(out)


def _found(data: bytes, needles: list[bytes]) -> list[str]:
    return [n.decode("latin-1") for n in needles if n in data]


def _sqlite_files(settings: Settings) -> list[Path]:
    db = Path(make_url(settings.database_url).database or "")
    files = [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]
    assert db in files
    return files


_RELATION_FILES = text(
    "SELECT pg_relation_filepath(c.oid) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 't', 'i') AND pg_relation_filepath(c.oid) IS NOT NULL AND ("
    "  n.nspname = 'public'"
    "  OR c.oid IN (SELECT t.reltoastrelid FROM pg_class t JOIN pg_namespace tn"
    "    ON tn.oid = t.relnamespace WHERE tn.nspname = 'public')"
    "  OR c.oid IN (SELECT i.indexrelid FROM pg_index i WHERE i.indrelid IN ("
    "    SELECT t.reltoastrelid FROM pg_class t JOIN pg_namespace tn"
    "    ON tn.oid = t.relnamespace WHERE tn.nspname = 'public')))"
)


def _wal_segments(conn: Connection, data_dir: Path, start_lsn: str) -> list[Path]:
    """The WAL segment files from the one holding ``start_lsn`` to the current one; when a
    checkpoint has recycled the first of them (renamed for reuse, its bytes still there),
    every segment file in ``pg_wal``."""
    first, last = (
        conn.execute(
            text("SELECT pg_walfile_name(CAST(:lsn AS pg_lsn))"), {"lsn": lsn}
        ).scalar_one()
        for lsn in (start_lsn, conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one())
    )
    wal_dir = data_dir / "pg_wal"
    try:
        segments = sorted(p for p in wal_dir.iterdir() if len(p.name) == 24)
    except OSError as exc:
        pytest.fail(
            f"PostgreSQL is configured but its WAL folder {wal_dir} cannot be read ({exc}): "
            "run the residue test as the cluster's OS user (or root) on its machine"
        )
    if first not in {p.name for p in segments}:
        return segments
    return [p for p in segments if first[8:] <= p.name[8:] <= last[8:]]


def _pg_files(services: Services, start_lsn: str) -> Iterator[tuple[str, Path, bytes]]:
    """("wal" or "table", path, bytes) of the WAL segments written since ``start_lsn`` — read
    before a CHECKPOINT (which recycles them) and what remains of them after it — and of the
    heap, TOAST and index files of this database's tables after it (every page on disk)."""
    with services.engine.connect() as conn:
        data_dir = Path(conn.execute(text("SHOW data_directory")).scalar_one())
        for path in _wal_segments(conn, data_dir, start_lsn):
            yield "wal", path, _read(path)
        conn.execute(text("CHECKPOINT"))
        for path in _wal_segments(conn, data_dir, start_lsn):
            yield "wal", path, _read(path)
        names = list(conn.execute(_RELATION_FILES).scalars())
    assert names
    for name in names:
        base = data_dir / name
        for path in [base, *sorted(base.parent.glob(f"{base.name}.[0-9]*"))]:
            yield "table", path, _read(path)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""  # a relation file that was unlinked since (a dropped temporary table)
    except OSError as exc:
        pytest.fail(
            f"cannot read {path} ({exc}): the residue test must read the database's files "
            "as their owner (or root)"
        )


@pytest.fixture
def wal_start(services: Services, is_postgres: bool) -> Iterator[str | None]:
    if not is_postgres:
        yield None
        return
    with services.engine.connect() as conn:
        yield conn.execute(text("SELECT CAST(pg_current_wal_lsn() AS TEXT)")).scalar_one()


def test_no_marker_of_any_record_is_readable_in_any_file_blob_log_or_audit_entry(
    tmp_path: Path,
    services: Services,
    settings: Settings,
    is_postgres: bool,
    wal_start: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    (tmp_path / "import").mkdir()
    scenario = _run(services, tmp_path / "import")
    # Every marker contains the scenario's token, except the dates of birth.
    needles = _needles([scenario.token, *scenario.dates])
    leaks: dict[str, list[str]] = {}

    def scan(where: str, data: bytes) -> None:
        found = _found(data, needles)
        if found:
            leaks[where] = found

    # Sanity: the scan finds a marker where one is (the manifest we imported from).
    manifests = list((tmp_path / "import").glob("m*.csv"))
    assert manifests
    assert _found(manifests[0].read_bytes(), needles)

    # And it reads the database's real bytes: a value stored in plaintext on purpose (the
    # live records' source system) is found in them.
    probe = b"NICHE-RMS"
    if is_postgres:
        assert wal_start is not None
        seen = set()
        for kind, path, data in _pg_files(services, wal_start):
            if probe in data:
                seen.add(kind)
            scan(str(path), data)
        assert seen == {"wal", "table"}
    else:
        # While connections are open (the WAL and SHM exist), then once all are closed.
        live = {str(p): _read(p) for p in _sqlite_files(settings)}
        assert f"{make_url(settings.database_url).database}-wal" in live
        assert any(probe in data for data in live.values())
        services.engine.dispose()
        make_engine(settings).dispose()
        for path, data in [*live.items(), *((str(p), _read(p)) for p in _sqlite_files(settings))]:
            scan(path, data)
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            scan(str(path), _read(path))
    for key in services.store.keys():  # noqa: SIM118 (a blob store, not a dict)
        scan(f"blob {key}", services.store.get(key))
    scan("logs", caplog.text.encode())
    with services.readers() as s:
        for entry in s.execute(select(AuditEntry)).scalars():
            flat = repr(
                (entry.actor, entry.action, entry.object_id, entry.rule, entry.details)
            ).encode()
            scan(f"audit entry {entry.seq}", flat)
    assert leaks == {}


def test_a_purged_record_keeps_exactly_its_documented_tombstone(
    tmp_path: Path, services: Services
) -> None:
    (tmp_path / "import").mkdir()
    scenario = _run(services, tmp_path / "import")
    needles = _needles(scenario.markers)
    purged = [*scenario.purged_by_sweep, scenario.purged_by_request]
    kept = {
        "id",
        "agency",
        "jurisdiction",
        "booking_bidx",
        "status",
        "purged_at",
        "decision_rule",
        "policy_pack",
        "policy_version",
        "created_at",
        "updated_at",
    }
    with services.readers() as s:
        for rid in purged:
            rec = s.get(Record, rid)
            assert rec is not None
            columns = {c.key: getattr(rec, c.key) for c in Record.__table__.columns}
            left = {k for k, v in columns.items() if v not in (None, False)}
            assert left <= kept, left - kept
            assert rec.created_at == rec.updated_at == rec.purged_at
            assert rec.decision_rule
            for table in (Consent, LegalHold, ReviewDecision):
                assert s.execute(select(table).where(table.record_id == rid)).first() is None
            assert (
                s.execute(select(SecondApproval).where(SecondApproval.subject_id == rid)).first()
                is None
            )
            assert s.execute(select(AuditNote).where(AuditNote.owner_id == rid)).first() is None
            for match in s.execute(
                select(RequestMatch).where(RequestMatch.record_id == rid)
            ).scalars():
                assert (match.reason_sealed, match.confirm_reason_sealed) == (None, None)
            for image in s.execute(select(Image).where(Image.record_id == rid)).scalars():
                assert image.content_hmac is None
                assert image.destroyed_at is not None
            events = list(
                s.execute(select(ProvenanceEvent).where(ProvenanceEvent.record_id == rid)).scalars()
            )
            assert events
            for event in events:
                assert (event.actor, event.details) == ("-", {})
                assert event.occurred_at.time() == dt.time(0, 0)
            # Its audit entries: ids, rule ids and counts — no marker, no fact it had.
            entries = s.execute(select(AuditEntry).where(AuditEntry.object_id == rid)).scalars()
            facts = [f.encode() for f in scenario.facts[rid]]
            for entry in entries:
                flat = repr((entry.object_id, entry.rule, entry.details)).encode()
                assert not _found(flat, needles)
                assert not [f for f in facts if f in flat]
                for key, value in entry.details.items():
                    assert key not in ("reason", "due_on", "on", "from", "to", "legal_basis")
                    assert not isinstance(value, str) or len(value) <= 64, (key, value)
    # The live ones still open: nothing else was destroyed.
    live = set(scenario.ids.values()) - set(purged)
    for rid in live:
        assert state(services, rid).identity_sealed is not None
