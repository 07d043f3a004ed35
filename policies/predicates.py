"""Compiled conditions and triggers: the closures a loaded rule takes its decisions with.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). The compiler in
``policies.loader`` builds these once, at load, from checked pack data, so evaluation does no
parsing and no look-up by name. A condition answers True, False, or None when a fact it needs
is unknown (RULES.md §8.7); a trigger answers a date, or None when the event has not happened.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from operator import attrgetter
from typing import Any

from policies.facts import Facts
from policies.language import ABSENT, FactSpec
from policies.pack import Match, Trigger


def const(result: bool) -> Match:
    """A condition already decided at load (one on a parameter)."""

    def match(facts: Facts) -> bool | None:
        return result

    return match


def _three_valued(conds: list[Match], decisive: bool) -> Match:
    """Kleene's AND (``decisive`` False) or OR (``decisive`` True): ``decisive`` as soon as one
    condition answers it; else unknown (None) if any condition is unknown; else ``not decisive``."""
    parts = tuple(conds)

    def match(facts: Facts) -> bool | None:
        result: bool | None = not decisive
        for cond in parts:
            value = cond(facts)
            if value is decisive:
                return decisive
            if value is None:
                result = None
        return result

    return match


def all_of(conds: list[Match]) -> Match:
    """True if every condition is; False if any is False; else unknown (None)."""
    if not conds:
        return const(True)
    if len(conds) == 1:
        return conds[0]
    return _three_valued(conds, decisive=False)


def any_of(conds: list[Match]) -> Match:
    """True if any condition is; False if every one is False; else unknown (None)."""
    return _three_valued(conds, decisive=True)


def _unset(spec: FactSpec) -> bool | None:
    # An event that has not happened compares false; an unknown value is unknown.
    return False if spec.none_is_absent else None


def is_set(spec: FactSpec, want: bool) -> Match:
    """Whether the fact has a value is ``want`` (never unknown)."""
    get = _reader(spec)[0]

    def match(facts: Facts) -> bool | None:
        value = get(facts)
        return (value is not None and value is not ABSENT) is want

    return match


def _reader(spec: FactSpec) -> tuple[Callable[[Facts], Any], bool]:
    """(getter, whether it can answer ``ABSENT``). A top-level fact is read with a C-level
    ``attrgetter`` (no Python frame per read); only ``request.*`` facts can be absent."""
    if spec.name.startswith("request."):
        return spec.get, True
    return attrgetter(spec.name), False


def _when_set(spec: FactSpec, test: Callable[[Any], bool]) -> Match:
    """``test(fact value)`` when the fact has a value; unknown (or False, for an event that has
    not happened) when it is unset; False when it is absent."""
    get, can_be_absent = _reader(spec)
    unset = _unset(spec)
    if not can_be_absent:

        def match_top(facts: Facts) -> bool | None:
            value = get(facts)
            if value is None:
                return unset
            return test(value)

        return match_top

    def match(facts: Facts) -> bool | None:
        value = get(facts)
        if value is None:
            return unset
        if value is ABSENT:
            return False
        return test(value)

    return match


def member(spec: FactSpec, members: frozenset[object], inside: bool) -> Match:
    """The fact's value is (``inside``) or is not among ``members``."""
    get, can_be_absent = _reader(spec)
    if can_be_absent:
        return _when_set(spec, lambda value: (value in members) is inside)
    # The hot case (outcome, offence class, holder...), written out: one frame per test.
    unset = _unset(spec)
    if inside:

        def match_in(facts: Facts) -> bool | None:
            value = get(facts)
            return unset if value is None else value in members

        return match_in

    def match_not_in(facts: Facts) -> bool | None:
        value = get(facts)
        return unset if value is None else value not in members

    return match_not_in


def compare(spec: FactSpec, cmp: Callable[[Any, Any], bool], literal: object) -> Match:
    """``cmp(fact value, literal)``."""
    get, can_be_absent = _reader(spec)
    if can_be_absent:
        return _when_set(spec, lambda value: bool(cmp(value, literal)))
    unset = _unset(spec)

    def match_cmp(facts: Facts) -> bool | None:
        value = get(facts)
        return unset if value is None else bool(cmp(value, literal))

    return match_cmp


def compare_fact(spec: FactSpec, cmp: Callable[[Any, Any], bool], other: FactSpec) -> Match:
    """``cmp(date fact, other date fact)``; False when either date is missing."""
    get, get_other = _reader(spec)[0], _reader(other)[0]

    def match(facts: Facts) -> bool | None:
        value = get(facts)
        rhs = get_other(facts)
        if value is None or value is ABSENT or rhs is None or rhs is ABSENT:
            return False
        return bool(cmp(value, rhs))

    return match


def date_getter(spec: FactSpec) -> Callable[[Facts], date | None]:
    """Reads a date fact (None when the event has not happened)."""
    get, can_be_absent = _reader(spec)
    if not can_be_absent:
        return get  # a top-level date is None or a date already

    def read(facts: Facts) -> date | None:
        value = get(facts)
        return None if value is ABSENT else value

    return read


def combine(getters: tuple[Callable[[Facts], date | None], ...], pick: Any) -> Trigger:
    """The ``pick`` (``max`` for latest, ``min`` for earliest) of the dates that are set."""

    if len(getters) == 2:
        first, second = getters

        def read_two(facts: Facts) -> date | None:
            a, b = first(facts), second(facts)
            if a is None:
                return b
            return a if b is None else pick(a, b)

        return read_two

    def read(facts: Facts) -> date | None:
        values = [d for g in getters if (d := g(facts)) is not None]
        return pick(values) if values else None

    return read
