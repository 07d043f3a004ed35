"""Engine and session factory.

Layer: ``retention.db``. One engine per process, one session per unit of work; helpers take a
session and never open or commit one themselves.

SQLite (the embedded default) runs in WAL mode with foreign keys and a busy timeout, and every
transaction starts with ``BEGIN IMMEDIATE``: SQLite has a single writer, and taking the write
lock up front means a unit of work that reads the audit-chain head and then appends to it can
never be overtaken by another writer in between (a deferred transaction would fail with
``SQLITE_BUSY_SNAPSHOT`` instead of waiting).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from retention import files
from retention.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "mugshot_read_only"

# SQLite's result codes for a full database or disk, and an I/O error on it (a failed WAL
# write); PostgreSQL's SQLSTATE class 53 (insufficient resources: 53100 disk full).
_SQLITE_FULL = 13
_SQLITE_IOERR = 10
_SQLITE_READONLY = 8
_PG_INSUFFICIENT = "53"


def database_fault(exc: BaseException) -> str | None:
    """A clear message when ``exc`` is the database running out of disk (or, on SQLite, its
    file failing or turning read-only), else None — what an import reports for the rows it
    could not store, instead of a driver traceback."""
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        primary = int(code) & 0xFF
        if primary == _SQLITE_FULL:
            return "database is full (no space left on device)"
        if primary == _SQLITE_IOERR:
            return "database could not write to its file (disk I/O error: is the disk full?)"
        if primary == _SQLITE_READONLY:
            return "database is read-only (its file or folder cannot be written)"
        return None
    state = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    if state == "53100":
        return "database is full (PostgreSQL: no space left on device)"
    if state.startswith(_PG_INSUFFICIENT):
        return f"database is out of resources (PostgreSQL SQLSTATE {state})"
    return None


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """Create the process's engine for ``settings.database_url``."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            _private_sqlite_files(Path(url.database))
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _private_sqlite_files(database: Path) -> None:
    """The database file exists, mode 0600, before SQLite opens it: SQLite creates its ``-wal``,
    ``-shm`` and ``-journal`` files with the database file's own mode, so they are 0600 too.
    Files an older version left wider are narrowed (the folder is created 0700)."""
    files.make_private_dir(database.parent)
    files.ensure_private_file(database)
    for suffix in ("-wal", "-shm", "-journal"):
        files.narrow_if_exists(database.with_name(database.name + suffix))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # NORMAL is durable in WAL mode except for the last transactions before a power
        # loss; the blob store fsyncs before the row that points to it commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_reader_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for units of work that only read: on SQLite they begin a deferred transaction
    and so never wait behind a writer (WAL gives them a consistent snapshot). Anything that
    appends to the audit chain must use ``make_session_factory`` instead."""
    return sessionmaker(bind=engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
