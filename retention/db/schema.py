"""Running the Alembic migrations from code (``mugshot init``, tests).

Layer: ``retention.db``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


def alembic_config(engine: Engine) -> Config:
    """An Alembic config for ``engine`` with no ini file (everything is in code)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head", *, keyring: object | None = None) -> None:
    """Bring the schema up to ``revision`` in one transaction per revision.

    ``keyring`` (the key provider: ``unwrap`` and ``index_key``) is handed to revisions that seal
    existing values (0007); without it such a revision refuses a database that has any.
    """
    attributes: dict[str, object] = {"keyring": keyring} if keyring is not None else {}
    _run(engine, lambda cfg: command.upgrade(cfg, revision), attributes)


# Tables whose rows held plaintext before revision 0007 sealed it (their old row versions linger
# in free pages or dead tuples until the table is rewritten).
SEALED_BY_0007 = (
    "records",
    "legal_holds",
    "review_decisions",
    "request_matches",
    "second_approvals",
    "removal_requests",
    "provenance_events",
)


def has_plaintext_columns(engine: Engine) -> bool:
    """True while the schema predates the sealing revision (``records.booking_number`` exists)."""
    insp = inspect(engine)
    if not insp.has_table("records"):
        return False
    return "booking_number" in {c["name"] for c in insp.get_columns("records")}


def compact(engine: Engine) -> None:
    """Rewrite the tables 0007 sealed so their old plaintext row versions leave the files:
    SQLite ``VACUUM`` (and a WAL checkpoint that truncates the WAL), PostgreSQL
    ``VACUUM FULL`` of those tables (new files; the old ones are unlinked). Backups and WAL
    segments written before keep the plaintext until they expire."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            # Outside any transaction: the DBAPI connection is in autocommit mode
            # (``retention.db.sessions``); SQLAlchemy's begin would wrap it in one.
            raw: Any = conn.connection.dbapi_connection
            raw.execute("VACUUM")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in SEALED_BY_0007:
            conn.exec_driver_sql(f"VACUUM FULL {table}")


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema down to ``revision``."""
    _run(engine, lambda cfg: command.downgrade(cfg, revision), {})


def _run(engine: Engine, step: Callable[[Config], None], attributes: dict[str, object]) -> None:
    """Run ``step`` in one transaction on a connection of its own.

    On SQLite a batch-mode revision copies a table and drops the old one, which foreign keys
    refuse while other rows reference it (and a deferred check never recovers); so, as Alembic's
    batch documentation advises, they are off for the migration — switched outside the
    transaction, where SQLite honours it — and every reference is checked before commit.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw: Any = conn.connection.dbapi_connection if sqlite else None
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg = alembic_config(engine)
                cfg.attributes["connection"] = conn
                cfg.attributes.update(attributes)
                step(cfg)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")
