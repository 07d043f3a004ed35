"""Shared fixtures.

Database tests run on SQLite by default and on PostgreSQL when ``MUGSHOT_TEST_DATABASE_URL``
is set (CI sets it). A configured database that cannot be reached fails the run loudly: it is
never skipped silently. The schema is always built by the Alembic migrations, never by
``create_all``.

With ``MUGSHOT_TEST_SCALEOUT=1`` every test built on the ``settings`` fixture runs on the
scale-out backends instead of the local ones: the S3 blob store (a bucket prefix per test) and
the KMS key provider (a KMS key per test), both served by the loopback S3/KMS API server of
``moto_s3_url``. Child processes get the same selection through ``tests.helpers.backend_env``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from retention.db.schema import upgrade
from retention.files import make_private_dir
from retention.keys.keyring import Keyring
from retention.keys.kms import key_provider
from retention.services import Services, open_services
from retention.settings import Settings
from retention.storage.factory import open_blob_store

PG_ENV = "MUGSHOT_TEST_DATABASE_URL"
S3_ENV = "MUGSHOT_TEST_S3_URL"
SCALEOUT_ENV = "MUGSHOT_TEST_SCALEOUT"
SCALEOUT_BUCKET = "mugshot-test"
FIXED_NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get(PG_ENV)
    target = make_url(url).render_as_string(hide_password=True) if url else "SQLite (temp files)"
    backends = (
        "S3 blob store + KMS key provider (loopback API server)"
        if os.environ.get(SCALEOUT_ENV) == "1"
        else "local blob store + keyring"
    )
    return f"mugshot test database: {target}; {backends}"


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
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return _worker_database(url, worker) if worker else url


def _worker_database(url: str, worker: str) -> str:
    """Under pytest-xdist each worker resets the schema before every test, so each gets a
    database of its own next to the configured one (``test`` -> ``test_gw0``), created once."""
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


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


@pytest.fixture(scope="session")
def scaleout() -> bool:
    """True when ``MUGSHOT_TEST_SCALEOUT=1`` selects the scale-out backends for every test: the
    S3 blob store and the KMS key provider, both on the loopback S3/KMS API server."""
    value = os.environ.get(SCALEOUT_ENV, "")
    if value not in ("", "0", "1"):
        pytest.exit(f"{SCALEOUT_ENV} must be 0 or 1, got {value!r}", returncode=3)
    return value == "1"


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, scaleout: bool, request: pytest.FixtureRequest
) -> Settings:
    """Settings pointing every location into the test's temp folder.

    With the scale-out backends selected, blobs go to a bucket prefix of this test's own and
    the key-encryption keys to a KMS key created for it, on the loopback API server.
    """
    base = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        import_batch_size=4,
        rotate_batch_size=3,
        actor="test:clerk",
    )
    if not scaleout:
        return base
    url: str = request.getfixturevalue("moto_s3_url")
    import boto3

    kms = boto3.client("kms", endpoint_url=url, region_name=base.aws_region)
    key = kms.create_key(Description=f"mugshot test KEK {request.node.name}")
    return base.with_overrides(
        blob_store=f"s3://{SCALEOUT_BUCKET}/{uuid.uuid4().hex}",
        s3_endpoint_url=url,
        kms_key_id=str(key["KeyMetadata"]["Arn"]),
        kms_endpoint_url=url,
    )


@pytest.fixture
def initialised(settings: Settings) -> Settings:
    """A data directory with a keyring, the schema at head, the blob store ready and (with KMS
    selected) the KMS key list started — what `mugshot init` does."""
    make_private_dir(settings.data_dir)  # 0700, as `mugshot init` makes it
    ring = Keyring.create(settings.keyring_file, FIXED_NOW)
    from retention.db.sessions import make_engine

    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    store = open_blob_store(
        settings.blob_store, s3_endpoint_url=settings.s3_endpoint_url, region=settings.aws_region
    )
    ensure = getattr(store, "ensure_bucket", None)
    if ensure is not None:
        ensure()
    key_provider(settings, ring, now=FIXED_NOW)
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


# --- S3-compatible object store (issue 6) --------------------------------------------------

_DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def s3_answers(url: str) -> bool:
    """True once an S3 API server answers HTTP at ``url`` (any status counts)."""
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - the configured test URL
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def start_moto_server(timeout: float = 20.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``moto_server`` on a free loopback port; returns the process and its URL."""
    exe = shutil.which("moto_server")
    if exe is None:
        pytest.exit("moto_server is not installed (pip install 'moto[server]')", returncode=3)
    port = free_port()
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not s3_answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            pytest.exit(f"moto_server did not start on {url}", returncode=3)
        time.sleep(0.1)
    return proc, url


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server this test run started (by its own handle, never by name)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def restored_environ(names: Iterable[str]) -> Iterator[None]:
    """Put these environment variables back as they were (set, or unset) when the block ends."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def moto_s3_url() -> Iterator[str]:
    """URL of an S3 API server on loopback: ``MUGSHOT_TEST_S3_URL`` if set (an unreachable
    one stops the run — never a silent skip), else a ``moto_server`` started for the session.

    Dummy credentials (``test``/``test``) are set for the session and restored after; with
    ``MUGSHOT_TEST_S3_URL`` set, credentials already in the environment are kept.
    """
    configured = os.environ.get(S3_ENV)
    with restored_environ(_DUMMY_AWS):
        if not (configured and all(os.environ.get(name) for name in _DUMMY_AWS)):
            os.environ.update(_DUMMY_AWS)
        proc: subprocess.Popen[bytes] | None = None
        try:
            if configured:
                if not s3_answers(configured):
                    pytest.exit(f"{S3_ENV} is set but {configured} does not answer", returncode=3)
                url = configured
            else:
                proc, url = start_moto_server()
            yield url
        finally:
            if proc is not None:
                stop_process(proc)
