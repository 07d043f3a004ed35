"""Bounded parsing of TOML and JSON documents: size and nesting limits checked before the
parser runs, so hostile structure is a clear error, never a ``RecursionError``.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). Rule packs (TOML)
come in through the loader; the API's booking objects, the facts of ``mugshot policy evaluate``
and the certificate and checkpoint files the CLI verifies (JSON) come in through ``retention``
and ``web``, which import this module — it sits at the bottom so every layer can.

Python's ``tomllib`` and ``json`` parse nested arrays and tables recursively: a few thousand
``[`` (a few hundred for TOML) exhaust the interpreter's stack, and the ``RecursionError`` that
follows prints thousands of traceback lines. So the text is first scanned once, linearly, for
its bracket depth outside strings and comments; only a document within the limit is parsed,
and the parsed value is then walked (iteratively) once more, because TOML's dotted keys and
table headers (``a.b.c.… = 1``) nest without any bracket at all.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from policies.errors import PolicyError

MAX_DEPTH = 32
MAX_ITEMS = 100_000


class StructureError(PolicyError):
    """A document is larger, more deeply nested or has more items than its limit allows.
    The message names the document (``what``) and the limit, never its content."""


def _close(text: str, start: int, delim: str, *, escapes: bool, single_line: bool) -> int:
    """The index just past the string closing at ``delim`` from ``start``; the end of the line
    (single-line strings) or of the text when it is unterminated (the parser reports that)."""
    pos = start
    limit = len(text)
    if single_line:
        newline = text.find("\n", start)
        limit = newline if newline >= 0 else limit
    while True:
        found = text.find(delim, pos, limit)
        if found < 0:
            return limit
        if escapes:
            slashes = 0
            back = found - 1
            while back >= start and text[back] == "\\":
                slashes += 1
                back -= 1
            if slashes % 2:  # an escaped quote: the string goes on
                pos = found + 1
                continue
        return found + len(delim)


def bracket_depth(text: str, *, toml: bool, stop_above: int = MAX_DEPTH) -> int:
    """The deepest nesting outside strings (and TOML comments), scanning once: of ``[``/``{``,
    and for TOML also of dotted keys (``a.b.c = 1``, ``[a.b.c]``: one level per dot — the
    parser's time grows with the square of their length); stops early once it exceeds
    ``stop_above``."""
    depth = deepest = dots = 0
    pos, end = 0, len(text)
    while pos < end:
        c = text[pos]
        if c == '"' or (toml and c == "'"):
            if toml and text.startswith(c * 3, pos):
                pos = _close(text, pos + 3, c * 3, escapes=c == '"', single_line=False)
            else:
                pos = _close(text, pos + 1, c, escapes=c == '"', single_line=toml)
            continue
        if toml and c == "#":
            newline = text.find("\n", pos)
            pos = end if newline < 0 else newline + 1
            dots = 0
            continue
        if c in "[{":
            depth += 1
            dots = 0
            if depth > deepest:
                deepest = depth
                if deepest > stop_above:
                    return deepest
        elif c in "]}":
            depth = max(depth - 1, 0)
            dots = 0
        elif toml and c == ".":
            dots += 1
            if dots > deepest:
                deepest = dots
                if deepest > stop_above:
                    return deepest
        elif c in "=,\n":
            dots = 0
        pos += 1
    return deepest


def check_value(
    value: Any, *, what: str, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS
) -> None:
    """Refuse a parsed value nested deeper than ``max_depth`` or with more than ``max_items``
    values in all (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    items = 0
    while stack:
        node, depth = stack.pop()
        items += 1
        if items > max_items:
            raise StructureError(f"{what} has more than {max_items} values")
        if isinstance(node, dict | list):
            if depth >= max_depth:
                raise StructureError(f"{what} is nested deeper than {max_depth} levels")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def _check_text(text: str, *, what: str, max_bytes: int, max_depth: int, toml: bool) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise StructureError(f"{what} is {size} bytes; at most {max_bytes} are accepted")
    if bracket_depth(text, toml=toml, stop_above=max_depth) > max_depth:
        raise StructureError(f"{what} is nested deeper than {max_depth} levels")


def loads_toml(
    text: str, *, what: str, max_bytes: int, max_depth: int = MAX_DEPTH
) -> dict[str, Any]:
    """``tomllib.loads`` within limits; raises ``StructureError`` (limits) or
    ``tomllib.TOMLDecodeError`` (syntax)."""
    _check_text(text, what=what, max_bytes=max_bytes, max_depth=max_depth, toml=True)
    try:
        data = tomllib.loads(text)
    except RecursionError:  # pragma: no cover - the scan above keeps the parser shallow
        raise StructureError(f"{what} is nested too deeply") from None
    check_value(data, what=what, max_depth=max_depth)
    return data


def loads_json(text: str | bytes, *, what: str, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` within limits; raises ``StructureError`` (limits) or ``ValueError``
    (``json.JSONDecodeError``, ``UnicodeDecodeError``: not JSON)."""
    if isinstance(text, bytes):
        if len(text) > max_bytes:
            raise StructureError(f"{what} is {len(text)} bytes; at most {max_bytes} are accepted")
        text = text.decode("utf-8")
    _check_text(text, what=what, max_bytes=max_bytes, max_depth=max_depth, toml=False)
    try:
        data = json.loads(text)
    except RecursionError:  # pragma: no cover - the scan above keeps the parser shallow
        raise StructureError(f"{what} is nested too deeply") from None
    check_value(data, what=what, max_depth=max_depth)
    return data
