"""The engine's commands, as a records clerk and a supervisor would use them."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from policies import bundled_pack_paths
from retention.cli.main import cli
from retention.db.models import AuditEntry, Certificate, EnactedPack, ProvenanceEvent, Record
from retention.engine.gallery import disclosures
from retention.services import Services
from tests.helpers import backend_env
from tests.integration.engine_helpers import (
    ingest,
    purge_due,
    restrict_then_purge_later,
    review_due,
    state,
)
from tests.integration.staff_helpers import add_staff


@pytest.fixture
def env(services: Services) -> dict[str, str]:
    return {
        **backend_env(services.settings),
        "MUGSHOT_ACTOR": "clerk:ann",
    }


def run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def export_gallery(env: dict[str, str], out: Path, jurisdiction: str) -> Result:
    """``gallery export`` for face recognition, of one jurisdiction's records."""
    return run(
        env, "gallery", "export", str(out), "--purpose", "face_recognition",
        "--jurisdiction", jurisdiction,
    )  # fmt: skip


def export_image(env: dict[str, str], ref: str, out: Path, *, reason: str, purpose: str) -> Result:
    """``image export`` of a record's image, for a purpose, with a reason."""
    return run(
        env, "image", "export", ref, "--out", str(out), "--reason", reason,
        "--purpose", purpose,
    )  # fmt: skip


def test_record_why_explains_the_decision(
    tmp_path: Path, services: Services, env: dict[str, str]
) -> None:
    ingest(services, tmp_path, [purge_due("CA-1")])
    out = run(env, "record", "why", "CA-1", "--on", "2026-11-20")
    assert out.exit_code == 0, out.output
    assert "decision     purge due 2023-05-05" in out.output
    assert "rule         us-ca/pc851-8-destroy" in out.output
    assert "Penal Code §851.8" in out.output
    assert "outcome                  factually_innocent" in out.output
    doc = json.loads(run(env, "record", "why", "CA-1", "--json", "--on", "2022-01-01").output)
    assert (doc["action"], doc["due_on"], doc["pack"]) == ("restrict", "2020-06-01", "us-ca")


def test_outcome_set_rejects_a_future_date_and_reschedules_otherwise(
    tmp_path: Path, services: Services, env: dict[str, str]
) -> None:
    ids = ingest(services, tmp_path, [review_due("GB-1")])
    bad = run(env, "outcome", "set", "GB-1", "--outcome", "convicted", "--on", "2999-01-01")
    assert bad.exit_code != 0
    assert "in the future" in str(bad.exception)
    assert state(services, ids["GB-1"]).outcome == "acquitted"
    ok = run(env, "outcome", "set", "GB-1", "--outcome", "convicted", "--on", "2021-01-05")
    assert ok.exit_code == 0, ok.output
    rec = state(services, ids["GB-1"])
    assert rec.outcome == "convicted"
    assert rec.decision_rule == "gb-eng-custody-images/mopi-g3-review"


def test_holds_sweep_review_and_certificate_from_the_command_line(
    tmp_path: Path, services: Services, env: dict[str, str]
) -> None:
    ids = ingest(services, tmp_path, [purge_due("CA-1"), review_due("GB-2")])
    placed = run(env, "hold", "place", "CA-1", "--kind", "litigation", "--reason", "civil claim")
    hold_id = re.search(r"hold (\w{32})", placed.output).group(1)  # type: ignore[union-attr]
    assert run(env, "hold", "approve", hold_id).exit_code != 0  # same person
    bob = add_staff(services, "sup.bob")
    approved = run(env, "--actor", "sup.bob", "hold", "approve", hold_id, input=bob.credentials())
    assert approved.exit_code == 0
    dry = run(env, "sweep", "--dry-run", "--json", "--on", "2026-11-20")
    planned = json.loads(dry.output)["actions"]
    # PC 851.8 mandates destruction; against a litigation hold counsel decides (RULES.md §8.2).
    assert {(a["record_id"], a["action"]) for a in planned} == {
        (ids["CA-1"], "review"),
        (ids["GB-2"], "review"),
    }
    assert run(env, "sweep", "--on", "2026-11-20").exit_code == 0
    queue = run(env, "review", "list")
    assert ids["GB-2"] in queue.output
    assert ids["CA-1"] in queue.output
    held = run(env, "review", "decide", "CA-1", "--decision", "purge", "--reason", "counsel")
    assert held.exit_code != 0
    assert "legal hold" in str(held.exception)
    assert state(services, ids["CA-1"]).status == "active"
    decided = run(
        env, "review", "decide", "GB-2", "--decision", "purge", "--reason", "no exceptional reason"
    )
    assert decided.exit_code == 0, decided.output
    # The rule says review, not purge: the clerk's decision waits for a second person.
    assert "waits for a supervisor's confirmation" in decided.output
    assert state(services, ids["GB-2"]).status == "active"
    why = "Acquitted; nothing justifies keeping it"
    alone = run(env, "review", "confirm", "GB-2", "--reason", why)
    assert alone.exit_code != 0  # clerk:ann decided it and is no supervisor
    assert state(services, ids["GB-2"]).status == "active"
    wrong = run(
        env,
        "review", "confirm", "GB-2", "--reason", why, "--supervisor", "sup.bob",
        input=bob.with_code(bob.wrong_code()),
    )  # fmt: skip
    assert wrong.exit_code != 0
    assert state(services, ids["GB-2"]).status == "active"
    confirmed = run(
        env,
        "review", "confirm", "GB-2", "--reason", why, "--supervisor", "sup.bob",
        input=bob.credentials(),
    )  # fmt: skip
    assert confirmed.exit_code == 0, confirmed.output
    assert state(services, ids["GB-2"]).status == "purged"
    with services.readers() as s:
        reason = s.execute(
            select(Certificate.body).where(Certificate.record_id == ids["GB-2"])
        ).scalar_one()["reason"]
    assert (reason["decided_by"], reason["confirmed_by"]) == ("clerk:ann", "sup.bob")

    cert = tmp_path / "cert.json"
    assert run(env, "cert", "export", ids["GB-2"], "--out", str(cert)).exit_code == 0
    pem = tmp_path / "pub.pem"
    pem.write_text(run(env, "cert", "pubkey").output)
    # Verification needs only the public key: no data directory at all.
    bare = {"MUGSHOT_DATA_DIR": str(tmp_path / "nowhere")}
    good = run(bare, "cert", "verify", str(cert), "--pubkey", str(pem))
    assert good.exit_code == 0, good.output
    assert f"record {ids['GB-2']} destroyed" in good.output
    doc = json.loads(cert.read_text())
    doc["certificate"]["destroyed_at"] = "2020-01-01T00:00:00.000000+00:00"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    bad = run(bare, "cert", "verify", str(forged), "--pubkey", str(pem))
    assert bad.exit_code == 1
    assert "signature does not verify" in bad.output


def test_a_safety_belt_block_exits_3_and_confirm_by_must_be_someone_else(
    tmp_path: Path, services: Services, env: dict[str, str]
) -> None:
    ingest(services, tmp_path, [purge_due("A"), purge_due("B")])
    strict = env | {"MUGSHOT_SWEEP_MAX_PURGE_SHARE": "0.01", "MUGSHOT_SWEEP_MAX_PURGE_COUNT": "1"}
    blocked = run(strict, "sweep", "--on", "2026-11-20")
    assert blocked.exit_code == 3
    assert "supervisor must confirm" in blocked.output
    assert run(strict, "sweep", "--confirm-by", "clerk:ann").exit_code != 0
    bob = add_staff(services, "sup.bob")
    done = run(
        strict, "sweep", "--on", "2026-11-20", "--confirm-by", "sup.bob", input=bob.credentials()
    )
    assert done.exit_code == 0, done.output
    assert "did purge 2" in done.output


def test_gallery_export_writes_only_permitted_records_and_records_each_disclosure(
    tmp_path: Path, services: Services, env: dict[str, str]
) -> None:
    ids = ingest(
        services,
        tmp_path,
        [review_due("GB-1"), review_due("GB-2"), restrict_then_purge_later("CA-3")],
    )
    assert run(env, "sweep", "--on", "2026-11-20").exit_code == 0  # CA-3 is sealed
    assert run(env, "purpose", "check", "GB-1", "--purpose", "face_recognition").exit_code == 0
    no = run(env, "purpose", "check", "CA-3", "--purpose", "face_recognition")
    assert no.exit_code == 1
    assert no.output.startswith("no: us-ca/pc851-8-seal")

    out = tmp_path / "gallery"
    ca = export_gallery(env, out, "US-CA")
    assert ca.exit_code == 0, ca.output
    assert "0 records (0 images)" in ca.output
    shutil.rmtree(out)
    gb = export_gallery(env, out, "GB-ENG")
    assert "2 records (2 images)" in gb.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert {i["record_id"] for i in manifest["items"]} == {ids["GB-1"], ids["GB-2"]}
    for item in manifest["items"]:
        assert (out / item["file"]).read_bytes().startswith(b"\xff\xd8\xff")
        assert (out / item["file"]).stat().st_mode & 0o077 == 0
    assert [e.details["to"] for e in disclosures(services, ids["GB-1"])] == [
        f"gallery:{manifest['export_id']}"
    ]
    with services.readers() as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action))]
    assert actions.count("gallery.disclosed") == 2
    assert actions.count("gallery.exported") == 2


def test_policy_enact_shows_the_difference_then_applies_it_with_a_second_person(
    tmp_path: Path, services: Services, env: dict[str, str]
) -> None:
    ids = ingest(services, tmp_path, [purge_due("CA-1"), restrict_then_purge_later("CA-2")])
    source = bundled_pack_paths()["us-ca"].read_text()
    changed = source.replace('version = "2025.1"', 'version = "2026.1"', 1)
    assert changed != source
    new_pack = tmp_path / "us-ca-2026.toml"
    new_pack.write_text(changed)
    refused = run(env, "policy", "enact", str(new_pack), "--approved-by", "clerk:ann", "--yes")
    assert refused.exit_code != 0
    bob = add_staff(services, "sup.bob")
    declined = CliRunner().invoke(
        cli, ["policy", "enact", str(new_pack), "--approved-by", "sup.bob"], env=env, input="n\n"
    )
    assert "2 records evaluated" in declined.output
    assert "0 change their next action" in declined.output
    with services.readers() as s:
        assert s.execute(select(EnactedPack)).first() is None
    done = run(
        env,
        "policy",
        "enact",
        str(new_pack),
        "--approved-by",
        "sup.bob",
        "--yes",
        input=bob.credentials(),
    )
    assert done.exit_code == 0, done.output
    assert state(services, ids["CA-1"]).policy_version == "2026.1"
    broken = tmp_path / "broken.toml"
    broken.write_text(changed.replace('version = "2026.1"', 'version = "2026.2"\nbogus = 1', 1))
    bad = run(env, "policy", "enact", str(broken), "--approved-by", "sup.bob", "--yes")
    assert bad.exit_code != 0
    assert "bogus" in bad.output


def test_consent_withdrawal_purges_only_consent_based_data(
    tmp_path: Path, services: Services, env: dict[str, str]
) -> None:
    ids = ingest(
        services,
        tmp_path,
        [
            review_due("GB-ARREST"),
            {
                **review_due("EU-CONSENT"),
                "jurisdiction": "EU",
                "agency": "EU-DEMO",
                "mopi_group": "",
                "legal_basis": "consent",
            },
        ],
    )
    assert (
        run(
            env,
            "consent",
            "record",
            "EU-CONSENT",
            "--given",
            "2020-05-05",
            "--purposes",
            "identification",
        ).exit_code
        == 0
    )
    w = run(env, "consent", "withdraw", "EU-CONSENT", "--on", "2026-01-10")
    assert w.exit_code == 0, w.output
    assert "next: purge" in w.output
    refused = run(env, "consent", "withdraw", "GB-ARREST")
    assert refused.exit_code != 0
    assert "not consent" in str(refused.exception)
    assert run(env, "sweep", "--on", "2026-11-20").exit_code == 0
    assert state(services, ids["EU-CONSENT"]).status == "purged"
    assert state(services, ids["GB-ARREST"]).status == "active"
    with services.readers() as s:
        kinds = [
            k
            for (k,) in s.execute(
                select(ProvenanceEvent.kind).where(ProvenanceEvent.record_id == ids["GB-ARREST"])
            )
        ]
        assert "disclosed" not in kinds
        assert s.get(Record, ids["GB-ARREST"]) is not None


def test_a_restricted_record_opens_only_for_a_purpose_its_rule_allows(
    tmp_path: Path, services: Services, env: dict[str, str]
) -> None:
    ingest(services, tmp_path, [restrict_then_purge_later("CA-9")])
    assert run(env, "sweep", "--on", "2026-11-20").exit_code == 0
    out = tmp_path / "x.jpg"
    refused = export_image(
        env, "CA-9", out, reason="Preparing a lineup for a witness", purpose="lineup"
    )
    assert refused.exit_code != 0
    assert "is restricted; purpose 'lineup' is not allowed" in str(refused.exception)
    assert not out.exists()
    ok = export_image(env, "CA-9", out, reason="court exhibit", purpose="evidence")
    assert ok.exit_code == 0, ok.output
    assert out.read_bytes().startswith(b"\xff\xd8\xff")
