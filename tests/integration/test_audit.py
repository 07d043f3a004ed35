"""The audit chain: any edit, deletion or reordering is found; concurrent writers never fork it."""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from retention.audit import chain as audit
from retention.cli.main import cli
from retention.db.models import AuditEntry
from retention.errors import RetentionError
from retention.services import Services
from retention.settings import Settings
from tests.conftest import FIXED_NOW
from tests.helpers import backend_env


def _fill(services: Services, n: int) -> None:
    for i in range(n):
        with services.sessions() as s, s.begin():
            audit.append(
                s,
                now=FIXED_NOW + dt.timedelta(seconds=i),
                actor="test:clerk",
                action="test.event",
                object_type="record",
                object_id=f"r{i}",
                details={"i": i, "note": "x"},
            )


def _verify(services: Services) -> audit.VerifyResult:
    with services.sessions() as s:
        return audit.verify(s)


def test_an_untouched_chain_verifies(services: Services) -> None:
    _fill(services, 5)
    result = _verify(services)
    assert (result.ok, result.checked, result.head_seq) == (True, 5, 5)


@pytest.mark.parametrize(
    ("sql", "bad_seq", "message"),
    [
        ("UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 3", 3, "modified"),
        ("UPDATE audit_entries SET occurred_at = :later WHERE seq = 2", 2, "modified"),
        ("UPDATE audit_entries SET action = 'x' WHERE seq = 1", 1, "modified"),
        ("DELETE FROM audit_entries WHERE seq = 3", 3, "entry 3 is missing"),
        ("DELETE FROM audit_entries WHERE seq = 5", 5, "removed from the end"),
        ("DELETE FROM audit_entries", 1, "removed from the end"),
    ],
    ids=["edit-actor", "edit-time", "edit-action", "delete-middle", "delete-last", "wipe"],
)
def test_tampering_is_found_at_the_first_bad_entry(
    services: Services, sql: str, bad_seq: int, message: str
) -> None:
    _fill(services, 5)
    with services.engine.begin() as conn:
        params = {"later": FIXED_NOW + dt.timedelta(days=1)} if ":later" in sql else {}
        conn.execute(text(sql), params)
    result = _verify(services)
    assert not result.ok
    assert result.first_bad_seq == bad_seq
    assert message in (result.problem or "")


def test_editing_details_is_found(services: Services) -> None:
    _fill(services, 4)
    with services.sessions() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(details={"i": 99}))
    result = _verify(services)
    assert (result.ok, result.first_bad_seq) == (False, 2)


# Every column of an audit entry but its own hash, with a different value to write into it and
# what ``verify`` says about the edit. Keep this in step with ``audit.entry_hash``: the test below
# fails when a field is added to the entry, or to the hash, without a tamper case here.
TAMPERED: dict[str, tuple[object, str]] = {
    "seq": (1000, "entry 3 is missing"),
    "occurred_at": (FIXED_NOW + dt.timedelta(days=1), "modified"),
    "actor": ("someone-else", "modified"),
    "action": ("test.other", "modified"),
    "object_type": ("request", "modified"),
    "object_id": ("r99", "modified"),
    "rule": ("forged", "modified"),
    "details": ({"i": 2, "note": "y"}, "modified"),
    "prev_hash": ("f" * 64, "does not link"),
}


def test_the_tamper_cases_cover_every_field_the_hash_covers() -> None:
    columns = set(AuditEntry.__table__.columns.keys()) - {"hash"}
    assert set(inspect.signature(audit.entry_hash).parameters) == columns == set(TAMPERED)


@pytest.mark.parametrize("field", sorted(TAMPERED))
def test_editing_any_field_the_hash_covers_is_found_at_that_entry(
    services: Services, field: str
) -> None:
    _fill(services, 5)
    value, problem = TAMPERED[field]
    with services.sessions() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values({field: value}))
    result = _verify(services)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert problem in (result.problem or "")
    # The walker also checks order and links, which would catch a seq or prev_hash edit on
    # their own: the stored hash must not match the edited contents for any field either.
    seq = value if field == "seq" else 3
    with services.sessions() as s:
        row = s.execute(select(AuditEntry).where(AuditEntry.seq == seq)).scalar_one()
        recomputed = audit.stored_entry_hash(row)
    assert recomputed != row.hash


def test_reordering_two_entries_is_found(services: Services) -> None:
    _fill(services, 5)
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET seq = 1000 WHERE seq = 2"))
        conn.execute(text("UPDATE audit_entries SET seq = 2 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_entries SET seq = 3 WHERE seq = 1000"))
    result = _verify(services)
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_a_rewritten_tail_is_found_by_an_older_checkpoint(services: Services) -> None:
    _fill(services, 3)
    with services.sessions() as s:
        checkpoint = audit.export_checkpoint(s, services.keyring, FIXED_NOW)
    pem = services.keyring.signing_public_key_pem()
    with services.sessions() as s:
        assert audit.verify_checkpoint(s, checkpoint, pem) is None
    # An attacker truncates the chain to entry 2 and fixes up the head: the chain alone verifies…
    with services.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 3"))
        h2 = conn.execute(text("SELECT hash FROM audit_entries WHERE seq = 2")).scalar_one()
        conn.execute(text("UPDATE audit_head SET seq = 2, hash = :h"), {"h": h2})
    assert _verify(services).ok
    # …but the checkpoint kept elsewhere does not.
    with services.sessions() as s:
        assert "entry 3" in (audit.verify_checkpoint(s, checkpoint, pem) or "")
    forged = {**checkpoint, "seq": 2, "hash": h2}
    with services.sessions() as s:
        assert audit.verify_checkpoint(s, forged, pem) == "checkpoint signature does not verify"


def test_personal_data_fields_are_refused_in_details(services: Services) -> None:
    with services.sessions() as s, s.begin(), pytest.raises(RetentionError, match="personal"):
        audit.append(s, now=FIXED_NOW, actor="t", action="x", details={"name": "Alex"})


def test_audit_verify_cli_names_the_first_bad_entry(services: Services) -> None:
    _fill(services, 4)
    env = _env(services.settings)
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "OK: 4 entries verified" in ok.output
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET rule = 'forged' WHERE seq = 2"))
    bad = runner.invoke(cli, ["audit", "verify"], env=env)
    assert bad.exit_code == 1
    assert "FAILED at entry 2" in bad.output


def _env(settings: Settings) -> dict[str, str]:
    return {
        **backend_env(settings),
        "MUGSHOT_ACTOR": "test:cli",
    }


WRITER = """
import datetime as dt, sys, time, pathlib
from retention.settings import Settings
from retention.services import open_services
from retention.audit import chain as audit
go = pathlib.Path(sys.argv[3])
svc = open_services(Settings.from_env())
with svc.sessions() as s:
    audit.verify(s)  # connect and warm up before the start signal
(go.parent / ("ready-" + sys.argv[2])).touch()
while not go.exists():
    time.sleep(0.002)
for i in range(int(sys.argv[1])):
    with svc.sessions() as s, s.begin():
        audit.append(s, now=dt.datetime.now(dt.UTC), actor=sys.argv[2], action="test.concurrent",
                     details={"i": i})
    time.sleep(0.001)  # real writers do other work between appends; lets the other one in
svc.close()
"""


@pytest.mark.slow
def test_two_processes_appending_at_once_leave_one_valid_chain(
    services: Services, tmp_path: Path
) -> None:
    per_writer = 150
    go = tmp_path / "go"
    env = {**os.environ, **_env(services.settings)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(per_writer), f"writer-{n}", str(go)], env=env
        )
        for n in range(2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-writer-{n}").exists() for n in range(2)):
        assert time.monotonic() < deadline, "writers did not start"
        time.sleep(0.01)
    go.touch()
    for p in procs:
        assert p.wait(timeout=120) == 0
    result = _verify(services)
    assert result.ok, result.problem
    assert result.checked == 2 * per_writer
    with services.sessions() as s:
        actors = [a for (a,) in s.execute(select(AuditEntry.actor).order_by(AuditEntry.seq))]
    assert actors.count("writer-0") == actors.count("writer-1") == per_writer
    # They really interleaved: the chain is not simply one writer's block after the other's.
    switches = sum(1 for a, b in itertools.pairwise(actors) if a != b)
    assert switches >= 2


def test_checkpoint_cli_round_trips(services: Services, tmp_path: Path) -> None:
    _fill(services, 2)
    env = _env(services.settings)
    runner = CliRunner()
    out = tmp_path / "cp.json"
    assert runner.invoke(cli, ["audit", "checkpoint", "--out", str(out)], env=env).exit_code == 0
    assert json.loads(out.read_text())["seq"] == 2
    res = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(out)], env=env)
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    doc["hash"] = "f" * 64
    out.write_text(json.dumps(doc))
    res = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(out)], env=env)
    assert res.exit_code == 1
    assert "signature does not verify" in res.output
