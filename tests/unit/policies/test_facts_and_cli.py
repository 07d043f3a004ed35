"""Facts JSON parsing and the ``mugshot policy`` commands (click's CliRunner)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from policies import Facts, FactsError
from retention.cli.main import cli

FIXTURES = Path(__file__).parent / "fixtures"


def test_facts_round_trip_and_age_at_capture() -> None:
    doc = {
        "id": "b1",
        "jurisdiction": "GB-ENG",
        "captured_on": "2022-02-28",
        "date_of_birth": "2004-02-29",
        "request": {"kind": "erasure", "received_on": "2024-03-01"},
    }
    facts = Facts.from_json(doc)
    # Born 29 Feb 2004: in a common year the 18th birthday is reached on 1 March, not 28 Feb.
    assert facts.age_at_capture == 17
    assert Facts.from_json(facts.to_json()) == facts
    assert facts.request is not None
    assert facts.request.received_on == date(2024, 3, 1)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"jurisdiction": "GB-ENG", "captured_on": "2024-01-01"}, "id"),
        ({"id": "x", "jurisdiction": "GB-WLS", "captured_on": "2024-01-01"}, "jurisdiction"),
        ({"id": "x", "jurisdiction": "EU", "captured_on": "01/02/2024"}, "captured_on"),
        ({"id": "x", "jurisdiction": "EU", "captured_on": "2024-01-01", "shoe": 9}, "shoe"),
        (
            {"id": "x", "jurisdiction": "EU", "captured_on": "2024-01-01", "mopi_group": 4},
            "mopi_group",
        ),
        (
            {"id": "x", "jurisdiction": "EU", "captured_on": "2024-01-01", "legal_hold": "yes"},
            "legal_hold",
        ),
        (
            {
                "id": "x",
                "jurisdiction": "EU",
                "captured_on": "2024-01-01",
                "request": {"kind": "erasure"},
            },
            "request.received_on",
        ),
    ],
)
def test_bad_facts_name_the_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(FactsError) as caught:
        Facts.from_json(doc)
    assert caught.value.field == field


def test_policy_list() -> None:
    result = CliRunner().invoke(cli, ["policy", "list"])
    assert result.exit_code == 0
    assert "gb-eng-custody-images" in result.output
    assert "us-ca" in result.output


def test_policy_check_ok_and_bad() -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["policy", "check", "us-ca", str(FIXTURES / "good_minimal.toml")])
    assert ok.exit_code == 0, ok.output
    bad_path = FIXTURES / "bad_many_problems.toml"
    bad = runner.invoke(cli, ["policy", "check", str(bad_path)])
    assert bad.exit_code == 1
    assert f"{bad_path}: rule r1: when[0].fact: unknown fact" in bad.output
    assert f"{bad_path}: rule -: fallback:" in bad.output


def test_policy_evaluate_streams_and_reports_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "id": "a",
                "jurisdiction": "US-IL",
                "captured_on": "2020-01-01",
                "holder": "private_entity",
                "data_kind": "face_template",
                "consent_given_on": "2020-01-01",
                "last_interaction_on": "2020-02-29",
            }
        ),
        "{not json",
        json.dumps({"id": "b", "jurisdiction": "US-IL", "captured_on": "soon"}),
        "",
        json.dumps(
            {
                "id": "c",
                "jurisdiction": "US-IL",
                "captured_on": "2020-01-01",
                "holder": "law_enforcement",
            }
        ),
    ]
    path = tmp_path / "facts.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(
        cli, ["policy", "evaluate", "--pack", "us-il-bipa", "--on", "2023-03-01", str(path)]
    )
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["id"] for d in out] == ["a", "c"]
    assert out[0]["action"] == "purge"
    assert out[0]["due_on"] == "2023-02-28"
    assert out[0]["rule"] == "us-il-bipa/bipa-15a-three-years"
    assert out[1]["action"] == "review"
    assert "line 2: invalid JSON" in result.stderr
    assert "line 3: captured_on:" in result.stderr


def test_policy_evaluate_unknown_pack_and_bad_date(tmp_path: Path) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text("")
    runner = CliRunner()
    unknown = runner.invoke(cli, ["policy", "evaluate", "--pack", "nope", str(path)])
    assert unknown.exit_code != 0
    bad_date = runner.invoke(
        cli, ["policy", "evaluate", "--pack", "us-ca", "--on", "tomorrow", str(path)]
    )
    assert bad_date.exit_code != 0
