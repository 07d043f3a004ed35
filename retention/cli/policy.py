"""``mugshot policy ...`` commands: list, check and evaluate rule packs, and enact a new version.

Layer: ``retention.cli`` (CLI edge). ``list``, ``check`` and ``evaluate`` use ``policies`` and
``click`` only: they open no database and read no settings, so they run anywhere a pack or a facts
file is. ``enact`` is the one exception: it changes what an installation does, so it reads the
settings and opens services through ``retention.cli.context`` (the only other ``retention.cli``
module imported here; its ``second_person`` signs the approving supervisor in) and imports
``retention.engine.enact`` when it runs, not at import.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import BinaryIO, TextIO

import click
import orjson

from policies import (
    Facts,
    FactsError,
    Pack,
    PackError,
    UnknownPackError,
    bundled_pack,
    bundled_pack_paths,
    bundled_packs,
    evaluate,
    load_pack,
)
from policies.bounded import StructureError, check_value, loads_json
from policies.checks import window_warnings
from retention.cli.context import (
    credentials_stdin_option,
    refuse_same_person,
    second_person,
    services_of,
    settings_of,
    utcnow,
)

# One facts object per line: a few hundred bytes; a line far larger is refused unparsed.
MAX_FACTS_LINE_BYTES = 64 * 1024


@click.group()
def policy() -> None:
    """Rule packs: list, check and evaluate."""


def _resolve(file_or_pack: str) -> Pack:
    """A bundled pack by id, else a pack file by path (raises ``PackError``)."""
    if file_or_pack in bundled_pack_paths():
        return bundled_pack(file_or_pack)
    return load_pack(Path(file_or_pack))


@policy.command("list")
def list_packs() -> None:
    """List the bundled rule packs: id, version, jurisdictions, rules, effective dates."""
    for pack in bundled_packs():
        where = ",".join(j.value for j in pack.jurisdictions) or "(any)"
        until = pack.effective_to.isoformat() if pack.effective_to else "open"
        click.echo(
            f"{pack.id}\t{pack.version}\t{where}\t{len(pack.rules)} rules\t"
            f"{pack.effective_from.isoformat()}..{until}\t{pack.title}"
        )


@policy.command("check")
@click.argument("file_or_pack", nargs=-1, required=True)
def check(file_or_pack: tuple[str, ...]) -> None:
    """Validate rule packs (bundled ids or TOML files); print every problem found."""
    bad = 0
    for item in file_or_pack:
        try:
            pack = _resolve(item)
        except PackError as exc:
            bad += 1
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{item}: INVALID ({len(exc.problems)} problem(s))", err=True)
            continue
        click.echo(f"{item}: ok ({pack.id} {pack.version}, {len(pack.rules)} rules)")
        for warning in window_warnings(pack):
            click.echo(f"{item}: warning: {warning}")
    if bad:
        sys.exit(1)


@policy.command("evaluate")
@click.option("--pack", "pack_id", required=True, help="Bundled pack id or pack file.")
@click.option(
    "--on",
    "on",
    default=None,
    help="Evaluation date YYYY-MM-DD (default: today, read once at start).",
)
@click.argument("facts_file", type=click.File("rb"))
def evaluate_cmd(pack_id: str, on: str | None, facts_file: BinaryIO) -> None:
    """Evaluate FACTS_FILE (JSON Lines, one facts object per line; - for stdin) and print one
    JSON decision per line. Bad lines are reported on stderr with their line number; the rest
    are still evaluated, and the exit status is 1 if any line was bad."""
    try:
        pack = _resolve(pack_id)
    except PackError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"rule pack {pack_id} is invalid") from None
    except UnknownPackError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        # The one clock read, at the outermost edge; UTC so every host agrees on the day.
        today = date.fromisoformat(on) if on else utcnow().date()
    except ValueError:
        raise click.BadParameter("must be YYYY-MM-DD", param_hint="--on") from None
    bad = _stream(pack, today, facts_file, sys.stdout.buffer, sys.stderr)
    if bad:
        click.echo(f"{bad} bad line(s)", err=True)
        sys.exit(1)


@policy.command("enact")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--approved-by",
    required=True,
    metavar="NAME",
    help="The supervisor approving, who signs in here after the difference; never the actor.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation after the difference.")
@credentials_stdin_option
@click.pass_context
def policy_enact(
    ctx: click.Context, file: Path, approved_by: str, yes: bool, credentials_stdin: bool
) -> None:
    """Enact a new pack version: show how many records change fate, then — once the approving
    supervisor has signed in (password and TOTP code) — apply it."""
    from retention.engine import enact

    settings = settings_of(ctx)
    acting = "enacts the pack (--actor)"
    refuse_same_person(approved_by, settings.actor, acting)
    with services_of(ctx) as services:
        try:
            diff = enact.preview(services, file, today=utcnow().date())
        except PackError as exc:
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            raise click.ClickException(f"{file} is not a valid pack") from None
        click.echo(
            f"{diff.pack_id} {diff.version} ({', '.join(diff.jurisdictions)}): {diff.records} "
            f"records evaluated in {diff.seconds:.1f}s, {diff.changed} change their next action"
        )
        for transition, n in diff.transitions.most_common():
            click.echo(f"  {transition:<22} {n}")
        if not yes and not click.confirm("Enact this version?", default=False):
            raise click.exceptions.Abort()
        # Signed in after the difference is shown, so the approver has seen what changes.
        approved_by = second_person(
            services,
            approved_by,
            purpose="policy.enact",
            subject=f"{diff.pack_id}@{diff.version}",
            first=settings.actor,
            first_did=acting,
            credentials_stdin=credentials_stdin,
        )
        done = enact.enact(
            services, file, actor=settings.actor, approved_by=approved_by, clock=utcnow
        )
    click.echo(
        f"enacted {done.pack_id} {done.version}; {done.records} records re-evaluated "
        f"in {done.seconds:.1f}s"
    )


_FACTS = "the facts object"


def _stream(pack: Pack, today: date, source: BinaryIO, out: BinaryIO, err: TextIO) -> int:
    """Evaluate line by line, writing as it goes so memory stays flat in the input size.

    The hot path reads and writes bytes with ``orjson`` (a C parser with its own recursion
    limit: hostile nesting is a decode error there, never a ``RecursionError``) and writes each
    decision's ``to_plain()`` form, which serializes to exactly the bytes of ``to_json()``. A
    line that parses into valid facts is flat by construction (``Facts.from_json`` takes only
    scalars and one request object of scalars), so it needs no structure scan; every other line
    — too large, not JSON, or not valid facts — goes through the bounded reader
    (``policies.bounded``), which words the error exactly as it does everywhere else.
    """
    loads = orjson.loads
    dumps = orjson.dumps
    decode_error = orjson.JSONDecodeError
    from_json = Facts.from_json
    write = out.write
    bad = 0
    buffer: list[bytes] = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            facts = None
            if len(line) <= MAX_FACTS_LINE_BYTES:
                try:
                    data = loads(line)
                except decode_error:
                    pass
                else:
                    try:
                        facts = from_json(data)
                    except FactsError:
                        check_value(data, what=_FACTS)  # a structure problem is named as such
                        raise
            if facts is None:
                facts = from_json(loads_json(line, what=_FACTS, max_bytes=MAX_FACTS_LINE_BYTES))
        except StructureError as exc:
            bad += 1
            err.write(f"line {number}: {exc}\n")
            continue
        except json.JSONDecodeError as exc:
            bad += 1
            err.write(f"line {number}: invalid JSON: {exc.msg} (column {exc.colno})\n")
            continue
        except UnicodeDecodeError as exc:
            bad += 1
            err.write(f"line {number}: not UTF-8 text (byte {exc.start + 1})\n")
            continue
        except FactsError as exc:
            bad += 1
            err.write(f"line {number}: {exc}\n")
            continue
        buffer.append(dumps(evaluate(pack, facts, today).to_plain()))
        if len(buffer) >= 1024:
            buffer.append(b"")
            write(b"\n".join(buffer))
            buffer.clear()
    if buffer:
        buffer.append(b"")
        write(b"\n".join(buffer))
    out.flush()
    return bad
