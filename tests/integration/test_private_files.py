"""Files private by default: everything mugshot creates in its data directory is 0700 (folders)
or 0600 (files) — the SQLite database and its WAL and SHM files included — whatever the umask;
a data directory, database folder or blob folder that group or others can open is refused at
start, naming the path and the chmod that fixes it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from retention.cli.main import cli
from retention.db.models import Record
from retention.errors import ConfigError
from retention.ingest.importer import write_reject_report
from retention.services import open_services
from retention.settings import Settings
from tests.helpers import backend_env, jpeg_bytes, not_private, row, write_manifest


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {**backend_env(settings), "MUGSHOT_ACTOR": "test:cli"}


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The laxest umask: every mode mugshot asks for is exactly the mode it gets."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def _manifest(folder: Path) -> Path:
    (folder / "img").mkdir(parents=True)
    (folder / "img" / "a.jpg").write_bytes(jpeg_bytes())
    rows = [
        row(booking_number="PRIV-1", images="img/a.jpg"),
        row(booking_number="PRIV-2", images="img/missing.jpg"),
    ]
    return write_manifest(folder / "manifest.csv", rows)


@pytest.mark.usefixtures("lax_umask")
def test_everything_created_in_the_data_directory_is_private_under_a_lax_umask(
    tmp_path: Path, settings: Settings, env: dict[str, str], is_postgres: bool
) -> None:
    assert run(env, "init").exit_code == 0
    manifest = _manifest(tmp_path / "in")
    imported = run(env, "import", str(manifest))
    assert imported.exit_code == 1  # one row rejected: the report is written
    report = manifest.with_name("manifest.csv.rejects.csv")
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert run(env, "audit", "checkpoint", "--out", str(tmp_path / "cp.json")).exit_code == 0

    services = open_services(settings)
    try:
        with services.sessions() as s, s.begin():  # a write, so the WAL is in use
            assert s.execute(select(Record.booking_number)).scalars().all() == ["PRIV-1"]
            s.execute(select(Record).with_for_update()).all()
        files = {p.name for p in settings.data_dir.iterdir()}
        if not is_postgres:
            assert {"mugshot.db", "mugshot.db-wal", "mugshot.db-shm"} <= files
        assert not_private(settings.data_dir) == []
    finally:
        services.close()
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700


def test_an_older_installation_s_wide_database_files_are_narrowed_on_open(
    settings: Settings, env: dict[str, str], is_postgres: bool
) -> None:
    if is_postgres:
        pytest.skip("the SQLite database file exists only on SQLite")
    assert run(env, "init").exit_code == 0
    database = settings.data_dir / "mugshot.db"
    os.chmod(database, 0o644)

    services = open_services(settings)
    services.close()

    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def _refusal(path: Path) -> str:
    return f"{path} is accessible by group or others (mode 755); run `chmod -R go-rwx {path}`"


@pytest.mark.parametrize(
    "command",
    [["status"], ["init"], ["record", "show", "PRIV-1"], ["sweep", "--dry-run"], ["janitor"]],
    ids=lambda c: " ".join(c),
)
def test_a_data_directory_others_can_read_is_refused_by_every_command_that_opens_it(
    settings: Settings, env: dict[str, str], command: list[str]
) -> None:
    assert run(env, "init").exit_code == 0
    os.chmod(settings.data_dir, 0o755)  # noqa: S103 - the unsafe mode under test
    before = sorted(p.name for p in settings.data_dir.iterdir())

    result = run(env, *command)

    assert isinstance(result.exception, ConfigError)
    assert str(result.exception).startswith("data directory ")
    assert _refusal(settings.data_dir) in str(result.exception)
    assert sorted(p.name for p in settings.data_dir.iterdir()) == before
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o755  # never silently changed


@pytest.mark.parametrize(
    "args", [["serve", "--no-scheduler", "--port", "1"], ["scheduler"]], ids=["serve", "scheduler"]
)
def test_serve_and_the_scheduler_refuse_to_start_with_exit_2_and_the_fix(
    settings: Settings, env: dict[str, str], args: list[str]
) -> None:
    assert run(env, "init").exit_code == 0
    os.chmod(settings.data_dir, 0o750)  # noqa: S103 - the unsafe mode under test

    done = subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2, done.stderr
    assert f"error: data directory {settings.data_dir} is accessible by group or others" in (
        done.stderr
    )
    assert f"run `chmod -R go-rwx {settings.data_dir}`" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_web_app_factory_refuses_too(settings: Settings, env: dict[str, str]) -> None:
    from web import create_app

    assert run(env, "init").exit_code == 0
    os.chmod(settings.data_dir, 0o705)
    with pytest.raises(ConfigError, match=r"data directory .* \(mode 705\)"):
        create_app(settings)


def test_a_blob_folder_others_can_read_is_refused(
    tmp_path: Path, settings: Settings, env: dict[str, str]
) -> None:
    store = tmp_path / "shared-blobs"
    local = settings.with_overrides(blob_store=str(store))
    local_env = {**env, "MUGSHOT_BLOB_STORE": str(store)}
    assert run(local_env, "init").exit_code == 0
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    os.chmod(store, 0o755)  # noqa: S103 - the unsafe mode under test

    with pytest.raises(ConfigError, match=r"blob store folder .* run `chmod -R go-rwx"):
        open_services(local)


def test_a_missing_data_directory_is_created_private(
    tmp_path: Path, settings: Settings, env: dict[str, str]
) -> None:
    nested = tmp_path / "new" / "deeper" / "data"
    nested_env = {**env, "MUGSHOT_DATA_DIR": str(nested), "MUGSHOT_KEYRING": str(nested / "k")}
    if settings.is_sqlite:
        nested_env["MUGSHOT_DATABASE_URL"] = f"sqlite:///{nested / 'mugshot.db'}"
    if not settings.blob_store.startswith("s3://"):
        nested_env["MUGSHOT_BLOB_STORE"] = str(nested / "blobs")
    old = os.umask(0o022)
    try:
        assert run(nested_env, "init").exit_code == 0
    finally:
        os.umask(old)
    for folder in (tmp_path / "new", tmp_path / "new" / "deeper", nested):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert not_private(nested) == []


def test_the_reject_report_is_private_even_when_it_existed_wider(tmp_path: Path) -> None:
    from retention.ingest.importer import ImportReport, Rejected

    target = tmp_path / "r.csv"
    target.write_text("old\n")
    os.chmod(target, 0o644)
    write_reject_report(ImportReport(rejected=[Rejected(2, "B-1", "reason")]), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
