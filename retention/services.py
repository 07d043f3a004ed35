"""What a unit of work needs, built once per process from ``Settings``.

Layer: ``retention``. Nothing here is created at import time; the CLI, the scheduler and the web
app each call ``open_services`` once and pass the result down. Tests pass their own store.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from retention.db.sessions import make_engine, make_reader_factory, make_session_factory
from retention.keys.keyring import Keyring
from retention.keys.kms import key_provider
from retention.settings import Settings
from retention.storage.factory import open_blob_store
from retention.storage.interface import BlobStore


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


def open_services(
    settings: Settings, *, store: BlobStore | None = None, keyring: Keyring | None = None
) -> Services:
    """Connect to the configured database, blob store and keyring."""
    engine = make_engine(settings)
    return Services(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        readers=make_reader_factory(engine),
        store=store
        if store is not None
        else open_blob_store(
            settings.blob_store,
            s3_endpoint_url=settings.s3_endpoint_url,
            region=settings.aws_region,
        ),
        keyring=keyring
        if keyring is not None
        else key_provider(settings, Keyring.load(settings.keyring_file)),
    )
