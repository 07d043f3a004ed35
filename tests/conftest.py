"""Shared fixtures.

Database tests run on SQLite by default and on PostgreSQL when ``MUGSHOT_TEST_DATABASE_URL``
is set (CI sets it). A configured database that cannot be reached fails the run loudly: it is
never skipped silently. The schema is always built by the Alembic migrations, never by
``create_all``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from retention.keys import Keyring
from retention.schema import upgrade
from retention.services import Services, open_services
from retention.settings import Settings

PG_ENV = "MUGSHOT_TEST_DATABASE_URL"
FIXED_NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get(PG_ENV)
    target = make_url(url).render_as_string(hide_password=True) if url else "SQLite (temp files)"
    return f"mugshot test database: {target}"


@pytest.fixture(scope="session")
def pg_url() -> str | None:
    """The PostgreSQL URL under test, checked once; a dead server is an error, not a skip."""
    url = os.environ.get(PG_ENV)
    if not url:
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect must stop the run
        pytest.exit(f"{PG_ENV} is set but the database is unreachable: {exc}", returncode=3)
    finally:
        engine.dispose()
    return url


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path, pg_url: str | None) -> str:
    """A fresh, empty database for one test."""
    if pg_url:
        _reset_postgres(pg_url)
        return pg_url
    return f"sqlite:///{(tmp_path / 'data' / 'mugshot.db').as_posix()}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings pointing every location into the test's temp folder."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        import_batch_size=4,
        rotate_batch_size=3,
        actor="test:clerk",
    )


@pytest.fixture
def initialised(settings: Settings) -> Settings:
    """A data directory with a keyring and the schema at head (what `mugshot init` does)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    Keyring.create(settings.keyring_file, FIXED_NOW)
    from retention.db import make_engine

    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    return settings


@pytest.fixture
def services(initialised: Settings) -> Iterator[Services]:
    """Services over the initialised data directory."""
    svc = open_services(initialised)
    yield svc
    svc.close()


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    """True when the test runs on PostgreSQL."""
    return database_url.startswith("postgresql")
