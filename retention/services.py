"""What a unit of work needs, built once per process from ``Settings``.

Layer: ``retention``. Nothing here is created at import time; the CLI, the scheduler and the web
app each call ``open_services`` once and pass the result down. Tests pass their own store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from retention import files
from retention.db.sessions import make_engine, make_reader_factory, make_session_factory
from retention.errors import ConfigError
from retention.keys.keyring import Keyring
from retention.keys.kms import key_provider
from retention.settings import Settings
from retention.storage.factory import open_blob_store
from retention.storage.interface import BlobStore
from retention.storage.local import LocalBlobStore


@dataclass
class Services:
    """Engine, session factories (read-write and read-only), blob store and keyring."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]
    store: BlobStore
    keyring: Keyring

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def check_private_locations(settings: Settings, store: BlobStore | None = None) -> None:
    """Refuse (``ConfigError``, naming the path and the ``chmod`` that fixes it) a data
    directory, SQLite folder or local blob folder that group or others may read, write or enter.
    Folders that do not exist yet pass: they are created 0700."""
    files.check_private_dir(settings.data_dir, "data directory", ConfigError)
    if settings.is_sqlite:
        from sqlalchemy.engine import make_url

        database = make_url(settings.database_url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            files.check_private_dir(Path(database).parent, "database folder", ConfigError)
    if isinstance(store, LocalBlobStore):
        files.check_private_dir(store.root, "blob store folder", ConfigError)


def open_services(
    settings: Settings, *, store: BlobStore | None = None, keyring: Keyring | None = None
) -> Services:
    """Connect to the configured database, blob store and keyring; refuse locations others
    can read (``check_private_locations``)."""
    if store is None:
        store = open_blob_store(
            settings.blob_store,
            s3_endpoint_url=settings.s3_endpoint_url,
            region=settings.aws_region,
        )
    check_private_locations(settings, store)
    engine = make_engine(settings)
    return Services(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        readers=make_reader_factory(engine),
        store=store,
        keyring=keyring
        if keyring is not None
        else key_provider(settings, Keyring.load(settings.keyring_file)),
    )
