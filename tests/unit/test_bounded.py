"""Bounded parsing: nesting and size limits are checked before the parser recurses, brackets
and dots inside strings and comments do not count, and the ``mugshot policy`` commands refuse
hostile files with a clear message (no traceback)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from policies import PackError, bundled_pack_paths, load_pack
from policies.bounded import StructureError, bracket_depth, loads_json, loads_toml
from retention.cli.main import cli


@pytest.mark.parametrize(
    ("text", "toml", "depth"),
    [
        ('{"a": "[[[[[[[[[[{{{{{{"}', False, 1),
        ('["\\"[[[[", "]"]', False, 1),
        ("[[[]]]", False, 3),
        ('a = "[[[[[[ a.b.c.d.e.f"  # [[[[[ ....\n', True, 0),
        ("a = '[[[[[[['\nb = '''\n[[[[\n'''\n", True, 0),
        ('a = """\n\\"""[[[[[\n"""\n', True, 0),
        ("[[rule]]\nid = 'x'\n", True, 2),
        ("a.b.c.d = 1\n", True, 3),
        ('"a.b"."c" = 1.5\n', True, 1),
        ("x = [1.5, 2.5, {y.z = 3}]", True, 2),
    ],
)
def test_the_scan_counts_structure_outside_strings_and_comments(
    text: str, toml: bool, depth: int
) -> None:
    assert bracket_depth(text, toml=toml) == depth


@pytest.mark.parametrize(
    "text",
    [
        "[" * 1_000_000,
        '{"a":' * 100_000,
        "[" * 40 + "]" * 40,
    ],
)
def test_deep_json_is_refused_without_recursion(text: str) -> None:
    with pytest.raises(StructureError, match="nested deeper than 32 levels"):
        loads_json(text, what="the body", max_bytes=10_000_000)


def test_json_over_its_size_is_refused_unparsed() -> None:
    with pytest.raises(StructureError, match="is 2001 bytes; at most 1000 are accepted"):
        loads_json(b"[" + b"1," * 999 + b"1]", what="the body", max_bytes=1000)


def test_json_within_the_limits_parses_as_usual() -> None:
    doc = {"a": [[["[{not structure}]"]]], "b": 1.5}
    assert loads_json(json.dumps(doc), what="x", max_bytes=1000) == doc
    with pytest.raises(ValueError, match="Expecting"):
        loads_json("{", what="x", max_bytes=1000)


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "[" * 100_000,
        "x = " + "{a = " * 50_000,
        "x" + ".x" * 120_000 + " = 1",  # dotted keys: quadratic in tomllib, refused at once
        "[" + ".".join(["t"] * 120_000) + "]",
    ],
)
def test_hostile_toml_is_refused_quickly(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(StructureError, match="nested deeper than 24 levels"):
        loads_toml(text, what="rule pack", max_bytes=1_000_000, max_depth=24)
    assert time.perf_counter() - started < 1.0


def test_every_bundled_pack_is_within_the_limits() -> None:
    for pack_id, path in bundled_pack_paths().items():
        assert load_pack(path).id == pack_id


def _deep_pack(tmp_path: Path) -> Path:
    source = bundled_pack_paths()["us-ca"].read_text()
    hostile = source.replace("[pack]\n", "[pack]\nx = " + "[" * 5000 + "]" * 5000 + "\n", 1)
    path = tmp_path / "deep.toml"
    path.write_text(hostile)
    return path


def test_load_pack_reports_a_deep_pack_as_one_problem(tmp_path: Path) -> None:
    with pytest.raises(PackError) as caught:
        load_pack(_deep_pack(tmp_path))
    [problem] = caught.value.problems
    assert problem.field == "(toml)"
    assert "nested deeper than 24 levels" in problem.message


def test_load_pack_refuses_an_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * 300_000 + "\n")
    with pytest.raises(PackError, match="is 262145 bytes; at most 262144 are accepted"):
        load_pack(path)


def test_policy_check_and_evaluate_refuse_hostile_files_with_a_message(tmp_path: Path) -> None:
    runner = CliRunner()
    checked = runner.invoke(cli, ["policy", "check", str(_deep_pack(tmp_path))])
    assert checked.exit_code == 1
    assert "nested deeper than 24 levels" in checked.output
    assert "Traceback" not in checked.output
    assert checked.exception is None or isinstance(checked.exception, SystemExit)

    facts = tmp_path / "facts.jsonl"
    facts.write_text("[" * 10_000 + "\n" + "[" * 100_000 + "\n")
    evaluated = runner.invoke(cli, ["policy", "evaluate", "--pack", "us-ca", str(facts)])
    assert evaluated.exit_code == 1
    assert "line 1: the facts object is nested deeper than 32 levels" in evaluated.output
    assert "line 2: the facts object is 100001 bytes; at most 65536" in evaluated.output
    assert "Traceback" not in evaluated.output
