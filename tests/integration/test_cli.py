"""The `mugshot` commands, driven as a user would, asserting on what they leave behind."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, func, select, text

from retention.cli.main import cli
from retention.db.models import AuditEntry, ProvenanceEvent, Record
from retention.engine import sealing
from retention.services import open_services
from retention.settings import Settings
from tests.helpers import backend_env, jpeg_bytes, row, write_manifest


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        **backend_env(settings),
        "MUGSHOT_ACTOR": "test:cli",
    }


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _audit_actions(settings: Settings) -> list[str]:
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action FROM audit_entries ORDER BY seq")).all()
    engine.dispose()
    return [a for (a,) in rows]


def test_init_creates_a_private_keyring_and_the_schema_and_is_idempotent(
    settings: Settings, env: dict[str, str]
) -> None:
    first = run(env, "init")
    assert first.exit_code == 0, first.output
    assert "development keyring was generated" in first.output
    ring = settings.keyring_file
    assert stat.S_IMODE(ring.stat().st_mode) == 0o600
    content = ring.read_bytes()
    second = run(env, "init")
    assert second.exit_code == 0
    assert "development keyring" not in second.output
    assert ring.read_bytes() == content
    assert _audit_actions(settings) == ["keys.keyring_created"]


def _imported(tmp_path: Path, env: dict[str, str]) -> Path:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(jpeg_bytes())
    manifest = write_manifest(
        tmp_path / "m.csv",
        [row(booking_number="MPS-77", name="Rowan Example", date_of_birth="1991-04-05")],
    )
    assert run(env, "init").exit_code == 0
    result = run(env, "import", str(manifest))
    assert result.exit_code == 0, result.output
    assert "1 rows: 1 imported, 0 already present, 0 rejected" in result.output
    return manifest


def test_import_exits_non_zero_and_writes_a_reject_report_when_rows_fail(
    tmp_path: Path, env: dict[str, str], settings: Settings
) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(jpeg_bytes())
    manifest = write_manifest(
        tmp_path / "m.csv",
        [row(), row(booking_number="X-2", arrest_date="20-01-2020")],
    )
    assert run(env, "init").exit_code == 0
    result = run(env, "import", str(manifest))
    assert result.exit_code == 1
    assert "2 rows: 1 imported, 0 already present, 1 rejected" in result.output
    report = (tmp_path / "m.csv.rejects.csv").read_text().splitlines()
    assert report[0] == "line,booking_number,reason"
    assert report[1].startswith("3,X-2,column arrest_date: '20-01-2020' is not a date")


def test_a_manifest_with_a_bad_header_stores_nothing(
    tmp_path: Path, env: dict[str, str], settings: Settings
) -> None:
    (tmp_path / "m.csv").write_text("booking_number,agency\nB-1,MPS\n")
    assert run(env, "init").exit_code == 0
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "m.csv")], env=env)
    assert result.exit_code != 0
    assert "missing required column(s): jurisdiction" in str(result.exception or result.output)
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM records")).scalar_one() == 0
    engine.dispose()


def test_record_show_hides_identity_unless_revealed_with_a_reason(
    tmp_path: Path, env: dict[str, str], settings: Settings
) -> None:
    _imported(tmp_path, env)
    shown = run(env, "record", "show", "mps77")
    assert shown.exit_code == 0, shown.output
    # The number is sealed with the identity: the short form of its blind index stands for it.
    assert "MPS-77" not in shown.output
    short = re.search(r"booking\s+(bk-[0-9a-f]{10})", shown.output)
    assert short is not None, shown.output
    assert "Rowan" not in shown.output
    again = run(env, "record", "show", short.group(1), "--json")
    assert json.loads(again.output)["booking"] == short.group(1)
    for kind in ("captured", "imported", "derived"):
        assert kind in shown.output
    assert "record.identity_revealed" not in _audit_actions(settings)

    for junk in ([], ["--reason", "x"], ["--reason", "aaaaaaaaaaaa"], ["--reason", "asdf"]):
        refused = CliRunner().invoke(cli, ["record", "show", "MPS-77", "--reveal", *junk], env=env)
        assert refused.exit_code != 0
        assert "reason: write a short sentence saying why" in str(refused.exception)
    assert "record.identity_revealed" not in _audit_actions(settings)

    why = "Answering removal request R-1"
    revealed = run(env, "record", "show", "MPS-77", "--reveal", "--reason", why, "--json")
    doc = json.loads(revealed.output)
    assert doc["identity"] == {
        "booking_number": "MPS-77",
        "name": "Rowan Example",
        "date_of_birth": "1991-04-05",
        "state_id": None,
        "offence": "theft from a shop",
    }
    assert _audit_actions(settings).count("record.identity_revealed") == 1
    svc = open_services(settings)
    with svc.sessions() as s:
        viewed = s.execute(
            select(ProvenanceEvent).where(ProvenanceEvent.kind == "viewed")
        ).scalar_one()
        entry = s.execute(
            select(AuditEntry).where(AuditEntry.action == "record.identity_revealed")
        ).scalar_one()
        assert viewed.details == {"what": "identity", "audit_seq": entry.seq}
        assert entry.details["reason_chars"] == len(why)
        assert why not in json.dumps(entry.details)
        assert "Rowan" not in json.dumps(entry.details)
        assert sealing.audit_reasons(s, svc.keyring, [entry.seq]) == {entry.seq: why}
    svc.close()


def test_image_export_writes_the_original_byte_for_byte_and_is_audited(
    tmp_path: Path, env: dict[str, str], settings: Settings
) -> None:
    _imported(tmp_path, env)
    out = tmp_path / "out.jpg"
    refused = CliRunner().invoke(
        cli, ["image", "export", "MPS-77", "--out", str(out), "--reason", "court"], env=env
    )
    assert "reason: write a short sentence saying why" in str(refused.exception)
    assert not out.exists()
    assert "image.exported" not in _audit_actions(settings)
    why = "Court order 5 asks for a copy"
    result = run(env, "image", "export", "MPS-77", "--out", str(out), "--reason", why)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (tmp_path / "img" / "a.jpg").read_bytes()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert _audit_actions(settings)[-1] == "image.exported"
    again = CliRunner().invoke(
        cli, ["image", "export", "MPS-77", "--out", str(out), "--reason", why], env=env
    )
    assert again.exit_code != 0
    assert "refusing to overwrite" in again.output


def test_unknown_booking_is_a_clear_error(tmp_path: Path, env: dict[str, str]) -> None:
    _imported(tmp_path, env)
    result = CliRunner().invoke(cli, ["record", "show", "NOPE-1"], env=env)
    assert result.exit_code != 0
    assert "no record with id or booking number 'NOPE-1'" in str(result.exception)


def test_keys_rotate_status_and_retire(
    tmp_path: Path, env: dict[str, str], settings: Settings
) -> None:
    _imported(tmp_path, env)
    svc = open_services(settings)
    old = svc.keyring.active_version  # v1 on the keyring; the first KMS version with KMS
    svc.close()
    rotated = run(env, "keys", "rotate")
    assert f"new active version v{old + 1}; rewrapped 1 data keys" in rotated.output
    assert f"retire with `mugshot keys retire {old}`" in rotated.output
    status = run(env, "keys", "status").output
    assert f"v{old}  live       data keys: 0  (can be retired)" in status
    assert run(env, "keys", "retire", str(old)).exit_code == 0
    assert f"v{old}  retired" in run(env, "keys", "status").output
    out = tmp_path / "after.jpg"
    why = "Checking the image opens after rotation"
    assert run(env, "image", "export", "MPS-77", "--out", str(out), "--reason", why).exit_code == 0
    assert out.read_bytes() == (tmp_path / "img" / "a.jpg").read_bytes()


def test_demo_loads_synthetic_records_and_leaves_no_plaintext_files(
    env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    result = run(env, "demo", "--records", "12", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "demo set: 12 records imported" in result.output
    svc = open_services(settings)
    with svc.sessions() as s:
        assert s.execute(select(func.count()).select_from(Record)).scalar_one() == 12
        jurisdictions = {j for (j,) in s.execute(select(Record.jurisdiction))}
    svc.close()
    assert len(jurisdictions) >= 2
    assert not any(p.suffix in {".jpg", ".png", ".csv"} for p in settings.data_dir.rglob("*"))
