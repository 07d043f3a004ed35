"""Compiled conditions and triggers: the closures a loaded rule takes its decisions with.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). The compiler in
``policies.loader`` builds these once, at load, from checked pack data, so evaluation does no
parsing and no look-up by name. A condition answers True, False, or None when a fact it needs
is unknown (RULES.md §8.7); a trigger answers a date, or None when the event has not happened.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
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
    get = spec.get

    def match(facts: Facts) -> bool | None:
        value = get(facts)
        return (value is not None and value is not ABSENT) is want

    return match


def _when_set(spec: FactSpec, test: Callable[[Any], bool]) -> Match:
    """``test(fact value)`` when the fact has a value; unknown (or False, for an event that has
    not happened) when it is unset; False when it is absent."""
    get = spec.get
    unset = _unset(spec)

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
    return _when_set(spec, lambda value: (value in members) is inside)


def compare(spec: FactSpec, cmp: Callable[[Any, Any], bool], literal: object) -> Match:
    """``cmp(fact value, literal)``."""
    return _when_set(spec, lambda value: bool(cmp(value, literal)))


def compare_fact(spec: FactSpec, cmp: Callable[[Any, Any], bool], other: FactSpec) -> Match:
    """``cmp(date fact, other date fact)``; False when either date is missing."""
    get, get_other = spec.get, other.get

    def match(facts: Facts) -> bool | None:
        value = get(facts)
        rhs = get_other(facts)
        if value is None or value is ABSENT or rhs is None or rhs is ABSENT:
            return False
        return bool(cmp(value, rhs))

    return match


def date_getter(spec: FactSpec) -> Callable[[Facts], date | None]:
    """Reads a date fact (None when the event has not happened)."""
    get = spec.get

    def read(facts: Facts) -> date | None:
        value = get(facts)
        return None if value is ABSENT else value

    return read


def combine(getters: tuple[Callable[[Facts], date | None], ...], pick: Any) -> Trigger:
    """The ``pick`` (``max`` for latest, ``min`` for earliest) of the dates that are set."""

    def read(facts: Facts) -> date | None:
        values = [d for g in getters if (d := g(facts)) is not None]
        return pick(values) if values else None

    return read
