"""Running the Alembic migrations from code (``mugshot init``, tests).

Layer: ``retention.db``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

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
