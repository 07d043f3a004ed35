"""Pack validation: every bad pack fails load naming file, rule and field; all problems at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import PackError, bundled_pack_paths, bundled_packs, load_pack, pack_for_jurisdiction

FIXTURES = Path(__file__).parent / "fixtures"

BAD = {
    "unknown_key": ("r1", "colour", "unknown key"),
    "bad_operator": ("r1", "when[0].like", "unknown operator"),
    "operator_wrong_kind": ("r1", "when[0].lt", "does not apply"),
    "negative_period": ("r1", "period", "must be positive"),
    "zero_period": ("r1", "period", "must be positive"),
    "absurd_period": ("r1", "period", "absurdly long"),
    "unknown_unit": ("r1", "period", "unknown unit"),
    "unknown_fact": ("r1", "when[0].fact", "unknown fact"),
    "unknown_enum_value": ("r1", "when[0].eq", "is not a value of outcome"),
    "keeps_forever": ("-", "fallback", "kept forever with no review"),
    "retain_without_end": ("r1", "period", "retain rule must say until when"),
    "unverified_parameter": ("r1", "needs_review", "unverified parameter guess"),
    "consent_withdrawal_any_basis": ("r1", "when", "legal_basis = consent"),
    "unknown_citation_row": ("r1", "citation.row", "not a RULES.md row id"),
    "calendar_mismatch": ("r1", "calendar", "ca_days counts days"),
}


@pytest.mark.parametrize(("name", "where"), list(BAD.items()), ids=list(BAD))
def test_bad_pack_fails_naming_file_rule_and_field(name: str, where: tuple[str, str, str]) -> None:
    path = FIXTURES / f"bad_{name}.toml"
    with pytest.raises(PackError) as caught:
        load_pack(path)
    rule, field, words = where
    matching = [
        p
        for p in caught.value.problems
        if p.rule == rule and p.field == field and words in p.message
    ]
    assert matching, [str(p) for p in caught.value.problems]
    assert all(p.file == str(path) for p in caught.value.problems)
    assert f"{path}: rule {rule}: {field}:" in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(PackError) as caught:
        load_pack(FIXTURES / "bad_many_problems.toml")
    fields = {(p.rule, p.field) for p in caught.value.problems}
    assert {
        ("r1", "when[0].fact"),
        ("r1", "when[1].like"),
        ("r1", "period"),
        ("r1", "action"),
        ("-", "fallback"),
    } <= fields


def test_toml_syntax_error_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[pack\nid = 1\n")
    with pytest.raises(PackError) as caught:
        load_pack(path)
    assert caught.value.problems[0].field == "(toml)"


def test_minimal_pack_loads() -> None:
    pack = load_pack(FIXTURES / "good_minimal.toml")
    assert pack.id == "fixture"
    assert [r.id for r in pack.rules] == ["r1", "periodic-review"]


def test_bundled_packs_all_load_and_cite_rules_rows() -> None:
    packs = bundled_packs()
    assert {p.id for p in packs} == {
        "default",
        "eu-gdpr-led",
        "gb-eng-custody-images",
        "us-ca",
        "us-il-bipa",
        "us-tx-cubi",
    }
    assert set(bundled_pack_paths()) == {p.id for p in packs}
    for pack in packs:
        assert sum(r.fallback for r in pack.rules) == 1
        for rule in pack.rules:
            assert rule.citation_row
            assert rule.citation_text


@pytest.mark.parametrize(
    ("jurisdiction", "pack_id"),
    [
        ("GB-ENG", "gb-eng-custody-images"),
        ("US-CA", "us-ca"),
        ("US-IL", "us-il-bipa"),
        ("US-TX", "us-tx-cubi"),
        ("EU", "eu-gdpr-led"),
        ("FR", "default"),
    ],
)
def test_pack_for_jurisdiction(jurisdiction: str, pack_id: str) -> None:
    assert pack_for_jurisdiction(jurisdiction).id == pack_id


def test_unverified_parameters_are_marked() -> None:
    gb = pack_for_jurisdiction("GB-ENG")
    assert gb.parameters["mopi_g3_review_period"].unverified
    assert not gb.parameters["response_period"].unverified
    assert pack_for_jurisdiction("US-CA").parameters["pc851_87_waiting_period"].unverified


@pytest.mark.parametrize(
    "value", ["[]", "{}", '["skip"]', "1"], ids=["list", "table", "array", "int"]
)
def test_on_unknown_of_the_wrong_type_is_a_problem_not_a_crash(tmp_path: Path, value: str) -> None:
    source = (FIXTURES / "good_minimal.toml").read_text()
    path = tmp_path / "on_unknown.toml"
    path.write_text(source.replace('id = "r1"\n', f'id = "r1"\non_unknown = {value}\n', 1))
    with pytest.raises(PackError) as caught:
        load_pack(path)
    assert any(
        p.rule == "r1" and p.field == "on_unknown" and "review" in p.message
        for p in caught.value.problems
    ), [str(p) for p in caught.value.problems]
